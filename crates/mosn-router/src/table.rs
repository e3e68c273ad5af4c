//! A compiled route table: virtual hosts, their routes, and matching.

use crate::domain::DomainIndex;
use crate::headers::{CompiledEdits, LevelEdits};
use http::HeaderMap;
use mosn_config::{
    ClusterTarget, ForwardAction, HeaderMatch, HeaderMatchMode, PathMatch, QueryValueMatch,
    RouteAction, RouteConfig, RouteMatch, RouterConfig, ValueMatch,
};

/// One named route table (`servers[].routers[]`), shared read-only by all workers.
#[derive(Debug)]
pub struct RouteTable {
    /// `router_config_name`.
    pub name: String,
    virtual_hosts: Vec<VirtualHost>,
    domains: DomainIndex,
    edits: LevelEdits,
    /// Whether any route has query parameter criteria (so a request's query is worth
    /// finding at all).
    uses_query: bool,
}

/// A virtual host and its ordered routes.
#[derive(Debug)]
pub struct VirtualHost {
    /// `name`.
    pub name: String,
    /// Whether each upstream attempt carries `x-envoy-attempt-count` (Envoy's
    /// `include_request_attempt_count`); the forwarding paths read it per request.
    pub include_request_attempt_count: bool,
    routes: Vec<Route>,
    edits: LevelEdits,
}

/// One route: what it matches and what it does.
#[derive(Debug)]
pub struct Route {
    matcher: RouteMatch,
    /// What to do with a matching request.
    pub action: RouteAction,
    /// The route's own header edits; `None` (most routes) costs one word, not four
    /// empty lists, across a table of 50,000 routes.
    edits: Option<Box<LevelEdits>>,
}

/// The result of routing one request.
#[derive(Debug, Clone, Copy)]
pub struct Matched<'a> {
    /// The table the request was routed by.
    pub table: &'a RouteTable,
    /// The virtual host chosen by the request's host.
    pub vhost: &'a VirtualHost,
    /// The first route of that virtual host that matched.
    pub route: &'a Route,
}

impl RouteTable {
    /// Compiles a validated router config; fails only on header edits that are not valid
    /// HTTP (the config layer checks everything else).
    pub fn from_config(cfg: &RouterConfig) -> Result<Self, String> {
        let mut domains = DomainIndex::new(cfg.host_port);
        let mut virtual_hosts = Vec::with_capacity(cfg.virtual_hosts.len());
        for (i, vh) in cfg.virtual_hosts.iter().enumerate() {
            for d in &vh.domains {
                domains.insert(d, i);
            }
            let routes = vh
                .routes
                .iter()
                .map(Route::from_config)
                .collect::<Result<_, _>>()?;
            virtual_hosts.push(VirtualHost {
                name: vh.name.clone(),
                include_request_attempt_count: vh.include_request_attempt_count,
                routes,
                edits: LevelEdits::compile(&vh.headers)?,
            });
        }
        let uses_query = cfg
            .virtual_hosts
            .iter()
            .flat_map(|vh| &vh.routes)
            .any(|r| !r.matcher.query_parameters.is_empty());
        Ok(Self {
            name: cfg.name.clone(),
            virtual_hosts,
            domains,
            edits: LevelEdits::compile(&cfg.headers)?,
            uses_query,
        })
    }

    /// Whether any route tests the query string: without, callers need not find it.
    pub fn uses_query(&self) -> bool {
        self.uses_query
    }

    /// Routes a request by host, path (without query) and headers.
    pub fn route<H: HeaderView + ?Sized>(
        &self,
        host: &str,
        path: &str,
        headers: &H,
    ) -> Option<Matched<'_>> {
        self.route_with_query(host, path, None, headers)
    }

    /// Routes a request by host, path, query string (after the `?`) and headers.
    pub fn route_with_query<H: HeaderView + ?Sized>(
        &self,
        host: &str,
        path: &str,
        query: Option<&str>,
        headers: &H,
    ) -> Option<Matched<'_>> {
        let vhost = &self.virtual_hosts[self.domains.find(host)?];
        let route = vhost
            .routes
            .iter()
            .find(|r| r.matches(path, headers) && r.matches_query(query))?;
        Some(Matched {
            table: self,
            vhost,
            route,
        })
    }
}

impl RouteTable {
    /// Routes an RPC request by its headers alone (the catch-all virtual host).
    pub fn route_rpc<H: HeaderView + ?Sized>(&self, headers: &H) -> Option<Matched<'_>> {
        let vhost = &self.virtual_hosts[self.domains.find("")?];
        let route = vhost.routes.iter().find(|r| r.matches("", headers))?;
        Some(Matched {
            table: self,
            vhost,
            route,
        })
    }
}

impl Route {
    /// MOSN's RPC rule, for any protocol: a route without a path criterion whose only
    /// criterion is the `service` header matches when the service equals the value
    /// (taken literally), or is any non-empty service for `.*`.
    fn matches_service<H: HeaderView + ?Sized>(&self, headers: &H) -> Option<bool> {
        let [only] = self.matcher.headers.as_slice() else {
            return None;
        };
        if only.name != "service" || !matches!(self.matcher.path, PathMatch::Any) {
            return None;
        }
        let wanted = match &only.value {
            ValueMatch::Exact(v) => v.as_str(),
            ValueMatch::Regex(re) => re.as_str(),
        };
        Some(headers.any_value("service", &mut |v| {
            !v.is_empty() && (wanted == ".*" || v == wanted)
        }))
    }

    fn from_config(cfg: &RouteConfig) -> Result<Self, String> {
        let edits = match &cfg.action {
            RouteAction::Forward(fwd) => Some(LevelEdits::compile(&fwd.headers)?),
            _ => None,
        }
        .filter(|e| !e.is_empty())
        .map(Box::new);
        Ok(Self {
            matcher: cfg.matcher.clone(),
            action: cfg.action.clone(),
            edits,
        })
    }

    /// Envoy's query parameter criteria: each on the first value of its parameter.
    fn matches_query(&self, query: Option<&str>) -> bool {
        self.matcher.query_parameters.iter().all(|m| {
            let value = query.and_then(|q| first_query_value(q, &m.name));
            match (&m.value, value) {
                (QueryValueMatch::Absent, value) => value.is_none(),
                (_, None) => false,
                (QueryValueMatch::Present, Some(_)) => true,
                (QueryValueMatch::Matches(ValueMatch::Exact(e)), Some(v)) => v == e,
                (QueryValueMatch::Matches(ValueMatch::Regex(re)), Some(v)) => re.is_match(v),
            }
        })
    }

    fn matches<H: HeaderView + ?Sized>(&self, path: &str, headers: &H) -> bool {
        if let Some(matched) = self.matches_service(headers) {
            return matched;
        }
        let path_ok = match &self.matcher.path {
            PathMatch::Any => true,
            PathMatch::Prefix(p) => path.starts_with(p.as_str()),
            PathMatch::Exact(p) => path == p,
            PathMatch::Regex(re) | PathMatch::RegexPrefix { regex: re, .. } => re.is_match(path),
        };
        path_ok
            && self
                .matcher
                .headers
                .iter()
                .all(|h| header_matches(h, headers))
    }
}

/// The headers of a request as routing reads them, whatever protocol carried them:
/// HTTP's `HeaderMap`, or an RPC frame's name/value pairs.
pub trait HeaderView {
    /// True when some value of header `name` (ASCII case-insensitive) satisfies `pred`.
    fn any_value(&self, name: &str, pred: &mut dyn FnMut(&str) -> bool) -> bool;
}

impl HeaderView for HeaderMap {
    fn any_value(&self, name: &str, pred: &mut dyn FnMut(&str) -> bool) -> bool {
        self.get_all(name)
            .iter()
            .any(|v| v.to_str().is_ok_and(&mut *pred))
    }
}

impl HeaderView for [(String, String)] {
    fn any_value(&self, name: &str, pred: &mut dyn FnMut(&str) -> bool) -> bool {
        self.iter()
            .any(|(k, v)| k.eq_ignore_ascii_case(name) && pred(v))
    }
}

/// The first value of parameter `name` in `query` (`a=1&b&c=3`), as sent: Envoy's
/// `QueryParamsMulti::parseQueryString`, which does not decode, and takes `b` alone as
/// `b=`.
fn first_query_value<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|param| {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        (key == name).then_some(value)
    })
}

fn header_matches<H: HeaderView + ?Sized>(m: &HeaderMatch, headers: &H) -> bool {
    let name = m.name.as_str();
    let mut value_matches = |v: &str| match &m.value {
        ValueMatch::Exact(e) => v == e,
        ValueMatch::Regex(re) => re.is_match(v),
    };
    match m.mode {
        HeaderMatchMode::Matches => headers.any_value(name, &mut value_matches),
        HeaderMatchMode::NotMatches => {
            headers.any_value(name, &mut |_| true) && !headers.any_value(name, &mut value_matches)
        }
        HeaderMatchMode::Absent => !headers.any_value(name, &mut |_| true),
    }
}

/// What a route without edits of its own applies.
static NO_EDITS: CompiledEdits = CompiledEdits::NONE;

impl Matched<'_> {
    /// Request header edits from the most specific level to the least.
    pub fn request_edits(&self) -> [&CompiledEdits; 3] {
        [
            self.route.edits.as_ref().map_or(&NO_EDITS, |e| &e.request),
            &self.vhost.edits.request,
            &self.table.edits.request,
        ]
    }

    /// Response header edits from the most specific level to the least.
    pub fn response_edits(&self) -> [&CompiledEdits; 3] {
        [
            self.route.edits.as_ref().map_or(&NO_EDITS, |e| &e.response),
            &self.vhost.edits.response,
            &self.table.edits.response,
        ]
    }

    /// The path (without its query) after `prefix_rewrite` or `regex_rewrite`, or `None`
    /// when the route does not rewrite it.
    pub fn rewritten_path(&self, path: &str) -> Option<String> {
        let RouteAction::Forward(fwd) = &self.route.action else {
            return None;
        };
        if let Some(r) = &fwd.regex_rewrite {
            return Some(
                r.pattern
                    .replace_all(path, r.substitution.as_str())
                    .into_owned(),
            );
        }
        let rewrite = fwd.prefix_rewrite.as_deref()?;
        let rest = match &self.route.matcher.path {
            PathMatch::Prefix(p) => path.get(p.len()..).unwrap_or(""),
            PathMatch::RegexPrefix { len, .. } => path.get(*len..).unwrap_or(""),
            _ => "",
        };
        Some(format!("{rewrite}{rest}"))
    }
}

/// Picks the cluster a forwarding route sends to, by weight when there are several.
pub fn pick_cluster(action: &ForwardAction) -> &str {
    match &action.target {
        ClusterTarget::Single(name) => name,
        ClusterTarget::Weighted(list) => {
            let total: u64 = list.iter().map(|c| u64::from(c.weight)).sum();
            let mut point = fastrand::u64(0..total.max(1));
            for c in list {
                if point < u64::from(c.weight) {
                    return &c.name;
                }
                point -= u64::from(c.weight);
            }
            list.last().map_or("", |c| c.name.as_str())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosn_config::{HeaderEdits, VirtualHostConfig, WeightedCluster};

    fn forward(cluster: &str, prefix_rewrite: Option<&str>) -> RouteAction {
        RouteAction::Forward(std::sync::Arc::new(ForwardAction {
            target: ClusterTarget::Single(cluster.into()),
            timeout: None,
            prefix_rewrite: prefix_rewrite.map(Into::into),
            regex_rewrite: None,
            host_rewrite: None,
            host_rewrite_header: None,
            headers: HeaderEdits::default(),
            hash_policy: Vec::new(),
            retry_policy: None,
            upstream_protocol: None,
            metadata_match: Default::default(),
        }))
    }

    fn route(path: PathMatch, headers: Vec<HeaderMatch>, action: RouteAction) -> RouteConfig {
        RouteConfig {
            matcher: RouteMatch {
                path,
                headers,
                query_parameters: Vec::new(),
            },
            action,
        }
    }

    /// A table of the one virtual host `vh`.
    fn table_of(vh: VirtualHostConfig) -> RouteTable {
        RouteTable::from_config(&RouterConfig {
            name: "r".into(),
            virtual_hosts: vec![vh],
            headers: HeaderEdits::default(),
            host_port: Default::default(),
        })
        .unwrap()
    }

    fn table() -> RouteTable {
        let vh = VirtualHostConfig {
            name: "vh".into(),
            domains: vec!["*".into()],
            routes: vec![
                route(
                    PathMatch::Prefix("/api".into()),
                    vec![HeaderMatch {
                        name: "x-version".into(),
                        value: ValueMatch::Regex(regex::Regex::new("^v[0-9]$").unwrap()),
                        mode: Default::default(),
                    }],
                    forward("versioned", Some("/v")),
                ),
                route(
                    PathMatch::Exact("/exact".into()),
                    vec![],
                    forward("exact", None),
                ),
                route(
                    PathMatch::Regex(regex::Regex::new("/re+gex").unwrap()),
                    vec![],
                    forward("regex", None),
                ),
                route(
                    PathMatch::Prefix("/api".into()),
                    vec![],
                    forward("api", None),
                ),
            ],
            headers: HeaderEdits::default(),
            include_request_attempt_count: false,
        };
        table_of(vh)
    }

    fn cluster_of(m: Matched<'_>) -> &str {
        match &m.route.action {
            RouteAction::Forward(f) => pick_cluster(f),
            _ => panic!("not a forward"),
        }
    }

    #[test]
    fn first_matching_route_wins() {
        let t = table();
        let mut h = HeaderMap::new();
        assert_eq!(cluster_of(t.route("a", "/api/x", &h).unwrap()), "api");
        h.insert("x-version", "v2".parse().unwrap());
        let m = t.route("a", "/api/x", &h).unwrap();
        assert_eq!(cluster_of(m), "versioned");
        assert_eq!(m.rewritten_path("/api/x").as_deref(), Some("/v/x"));
        assert_eq!(cluster_of(t.route("a", "/exact", &h).unwrap()), "exact");
        assert!(t.route("a", "/exact/more", &h).is_none());
        assert_eq!(
            cluster_of(t.route("a", "/x/reeegex/y", &h).unwrap()),
            "regex"
        );
        assert!(t.route("a", "/nothing", &h).is_none());
    }

    /// A table with one catch-all virtual host whose only route sends requests whose
    /// `service` header is `service` to `cluster`.
    fn service_table(service: &str, cluster: &str) -> RouteTable {
        let vh = VirtualHostConfig {
            name: "rpc".into(),
            domains: vec!["*".into()],
            routes: vec![route(
                PathMatch::Any,
                vec![HeaderMatch {
                    name: "service".into(),
                    value: ValueMatch::Exact(service.into()),
                    mode: Default::default(),
                }],
                forward(cluster, None),
            )],
            headers: HeaderEdits::default(),
            include_request_attempt_count: false,
        };
        table_of(vh)
    }

    #[test]
    fn rpc_headers_route_by_header_alone() {
        let t = service_table("com.a.Svc:1.0", "svc");
        let hit = [("Service".to_owned(), "com.a.Svc:1.0".to_owned())];
        assert_eq!(cluster_of(t.route_rpc(&hit[..]).unwrap()), "svc");
        let miss = [("service".to_owned(), "com.b.Other:1.0".to_owned())];
        assert!(t.route_rpc(&miss[..]).is_none());
    }

    #[test]
    fn rpc_service_dot_star_matches_any_service_as_in_mosn() {
        let t = service_table(".*", "any");
        let some = [("service".to_owned(), "com.a.Svc:1.0".to_owned())];
        assert_eq!(cluster_of(t.route_rpc(&some[..]).unwrap()), "any");
        let empty = [("service".to_owned(), String::new())];
        assert!(t.route_rpc(&empty[..]).is_none());
        assert!(t.route_rpc(&[][..]).is_none());
        // MOSN applies the rule to HTTP requests too (its transcoder sample relies on it).
        let mut h = HeaderMap::new();
        assert!(t.route("a", "/", &h).is_none());
        h.insert("service", "x".parse().unwrap());
        assert_eq!(cluster_of(t.route("a", "/", &h).unwrap()), "any");
    }

    /// Envoy's query parameter matching: the first value, undecoded; a bare name is an
    /// empty value; presence alone when no value is given.
    #[test]
    fn query_parameters_match_the_first_value_as_sent() {
        let mut r = route(PathMatch::Prefix("/".into()), vec![], forward("q", None));
        r.matcher.query_parameters = vec![
            mosn_config::QueryParameterMatch {
                name: "q".into(),
                value: QueryValueMatch::Matches(ValueMatch::Exact("1".into())),
            },
            mosn_config::QueryParameterMatch {
                name: "p".into(),
                value: QueryValueMatch::Present,
            },
            mosn_config::QueryParameterMatch {
                name: "no".into(),
                value: QueryValueMatch::Absent,
            },
        ];
        let vh = VirtualHostConfig {
            name: "vh".into(),
            domains: vec!["*".into()],
            routes: vec![r],
            headers: HeaderEdits::default(),
            include_request_attempt_count: false,
        };
        let t = table_of(vh);
        let h = HeaderMap::new();
        let hit = |q: Option<&str>| t.route_with_query("a", "/", q, &h).is_some();
        assert!(hit(Some("q=1&p")));
        assert!(hit(Some("p=&x=2&q=1")));
        assert!(hit(Some("q=1&q=2&p=x")));
        assert!(!hit(Some("q=2&q=1&p")), "only the first value counts");
        assert!(!hit(Some("q=%31&p")), "values are not decoded");
        assert!(!hit(Some("q=1")), "p must be present");
        assert!(!hit(Some("q&p")), "a bare name is an empty value");
        assert!(!hit(Some("pp=1&q=1")));
        assert!(!hit(Some("q=1&p&no")), "no must be absent");
        assert!(hit(Some("q=1&p&non=1")));
        assert!(!hit(None));
        assert!(t.route("a", "/", &h).is_none());
    }

    /// Envoy's inverted and absent-header criteria: a missing header matches neither a
    /// value nor its inversion; only `Absent` takes it.
    #[test]
    fn inverted_and_absent_header_criteria() {
        let criterion = |mode| HeaderMatch {
            name: "x-m".into(),
            value: ValueMatch::Exact("yes".into()),
            mode,
        };
        let mut h = HeaderMap::new();
        let check = |m: &HeaderMatch, h: &HeaderMap| header_matches(m, h);
        let not = criterion(HeaderMatchMode::NotMatches);
        let absent = criterion(HeaderMatchMode::Absent);
        assert!(!check(&not, &h) && check(&absent, &h));
        h.insert("x-m", "no".parse().unwrap());
        assert!(check(&not, &h) && !check(&absent, &h));
        h.insert("x-m", "yes".parse().unwrap());
        assert!(!check(&not, &h) && !check(&absent, &h));
        assert!(check(&criterion(HeaderMatchMode::Matches), &h));
    }

    /// A regex prefix (Envoy's case-insensitive or separated prefix) matches by its regex
    /// and has `prefix_rewrite` replace its length; a plain regex has it replace the path.
    #[test]
    fn prefix_rewrite_after_regex_criteria() {
        let vh = VirtualHostConfig {
            name: "vh".into(),
            domains: vec!["*".into()],
            routes: vec![
                route(
                    PathMatch::RegexPrefix {
                        regex: regex::Regex::new("^/[aA][pP][iI](?:/|$)").unwrap(),
                        len: 4,
                    },
                    vec![],
                    forward("p", Some("/v")),
                ),
                route(
                    PathMatch::Regex(regex::Regex::new("^(?:/r/.*)$").unwrap()),
                    vec![],
                    forward("r", Some("/whole")),
                ),
            ],
            headers: HeaderEdits::default(),
            include_request_attempt_count: false,
        };
        let t = table_of(vh);
        let h = HeaderMap::new();
        let m = t.route("a", "/API/x", &h).unwrap();
        assert_eq!(m.rewritten_path("/API/x").as_deref(), Some("/v/x"));
        assert!(t.route("a", "/apix", &h).is_none());
        let m = t.route("a", "/r/abc", &h).unwrap();
        assert_eq!(m.rewritten_path("/r/abc").as_deref(), Some("/whole"));
    }

    /// Envoy's `regex_rewrite`: every match replaced, groups substituted.
    #[test]
    fn regex_rewrite_replaces_every_match_in_the_path() {
        let mut fwd = ForwardAction::to(ClusterTarget::Single("c".into()));
        fwd.regex_rewrite = Some(Box::new(mosn_config::RegexRewrite {
            pattern: regex::Regex::new("/v([0-9]+)/").unwrap(),
            substitution: "/version-${1}/".into(),
        }));
        let vh = VirtualHostConfig {
            name: "vh".into(),
            domains: vec!["*".into()],
            routes: vec![route(
                PathMatch::Prefix("/".into()),
                vec![],
                RouteAction::Forward(std::sync::Arc::new(fwd)),
            )],
            headers: HeaderEdits::default(),
            include_request_attempt_count: false,
        };
        let t = table_of(vh);
        let h = HeaderMap::new();
        let m = t.route("a", "/v1/x/v22/y", &h).unwrap();
        assert_eq!(
            m.rewritten_path("/v1/x/v22/y").as_deref(),
            Some("/version-1/x/version-22/y")
        );
        assert_eq!(m.rewritten_path("/none").as_deref(), Some("/none"));
    }

    #[test]
    fn weighted_clusters_follow_weights() {
        let fwd = ForwardAction::to(ClusterTarget::Weighted(vec![
            WeightedCluster {
                name: "a".into(),
                weight: 1,
            },
            WeightedCluster {
                name: "b".into(),
                weight: 3,
            },
            WeightedCluster {
                name: "never".into(),
                weight: 0,
            },
        ]));
        let n = 20_000;
        let b = (0..n).filter(|_| pick_cluster(&fwd) == "b").count();
        assert!((0.70..0.80).contains(&(b as f64 / n as f64)), "b share {b}");
        assert!((0..1000).all(|_| pick_cluster(&fwd) != "never"));
    }
}
