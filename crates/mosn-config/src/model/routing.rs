//! Route configurations (`servers[].routers[]`): virtual hosts, matches and actions.

use super::{Metadata, Protocol, RetryPolicy};
use std::sync::Arc;
use std::time::Duration;

/// One entry of `servers[].routers[]`: a named route table.
#[derive(Debug, Clone, PartialEq)]
pub struct RouterConfig {
    /// `router_config_name`.
    pub name: String,
    /// `virtual_hosts[]`.
    pub virtual_hosts: Vec<VirtualHostConfig>,
    /// Header edits applied to every route of this table.
    pub headers: HeaderEdits,
    /// How a request's host that carries a port meets `domains`.
    pub host_port: HostPortMatching,
}

/// How a request's host with a port (`a.com:8080`) is matched against `domains`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostPortMatching {
    /// MOSN's: a domain naming the port matches exactly, otherwise the port is removed.
    #[default]
    Lenient,
    /// Envoy's default: the port is part of the name (`a.com` does not match
    /// `a.com:8080`, nor does `*.com`).
    Exact,
    /// Envoy's `ignore_port_in_host_matching`: the port is removed before matching.
    Ignored,
}

/// Header additions and removals, at router, virtual host or route level.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HeaderEdits {
    /// `request_headers_to_add[]`.
    pub request_headers_to_add: Vec<HeaderToAdd>,
    /// `request_headers_to_remove[]` (Envoy's key; MOSN lacks it).
    pub request_headers_to_remove: Vec<String>,
    /// `response_headers_to_add[]`.
    pub response_headers_to_add: Vec<HeaderToAdd>,
    /// `response_headers_to_remove[]`.
    pub response_headers_to_remove: Vec<String>,
}

/// One `{"header": {"key", "value"}, "append"}` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderToAdd {
    /// Header name, lower-cased.
    pub name: String,
    /// Header value.
    pub value: String,
    /// `append` (default true, as in MOSN and Envoy): add beside existing values instead of
    /// replacing them.
    pub append: bool,
}

/// One entry of `virtual_hosts[]`.
#[derive(Debug, Clone, PartialEq)]
pub struct VirtualHostConfig {
    /// `name`.
    pub name: String,
    /// `domains[]`: exact names, `"*"`, suffix wildcards `"*.example.com"` and prefix
    /// wildcards `"example.*"`; lower-cased.
    pub domains: Vec<String>,
    /// `routers[]`, first match wins.
    pub routes: Vec<RouteConfig>,
    /// Header edits for this virtual host.
    pub headers: HeaderEdits,
    /// `include_request_attempt_count` (Envoy's): every upstream attempt carries
    /// `x-envoy-attempt-count: N`, 1 for the first, so upstreams can tell retries apart.
    pub include_request_attempt_count: bool,
}

/// One entry of `virtual_hosts[].routers[]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteConfig {
    /// `match`.
    pub matcher: RouteMatch,
    /// `route`, `direct_response` or `redirect`.
    pub action: RouteAction,
}

/// `match`: the path criterion and every header and query parameter criterion must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteMatch {
    /// `prefix`, `path` or `regex`.
    pub path: PathMatch,
    /// `headers[]`.
    pub headers: Vec<HeaderMatch>,
    /// Envoy's `query_parameters[]`.
    pub query_parameters: Vec<QueryParameterMatch>,
}

/// One query parameter criterion (Envoy's `QueryParameterMatcher`) on the first value of
/// the parameter, taken as sent (not percent-decoded; `name` alone has the value ``).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryParameterMatch {
    /// The parameter's name, compared exactly.
    pub name: String,
    /// What the parameter must be.
    pub value: QueryValueMatch,
}

/// What a query parameter criterion asks of the parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValueMatch {
    /// Present, with any value.
    Present,
    /// Absent.
    Absent,
    /// Present, its first value matching.
    Matches(ValueMatch),
}

/// How a route matches the request path (without the query string).
#[derive(Debug, Clone)]
pub enum PathMatch {
    /// No path criterion.
    Any,
    /// `prefix`.
    Prefix(String),
    /// `path`: exact.
    Exact(String),
    /// `regex`: MOSN's semantics (Go's `MatchString`): matches anywhere in the path unless
    /// the pattern anchors itself with `^...$`. A `prefix_rewrite` replaces the whole path.
    Regex(regex::Regex),
    /// A regex matching a prefix of `len` bytes (Envoy's case-insensitive `prefix` and
    /// `path_separated_prefix`): a `prefix_rewrite` replaces those bytes.
    RegexPrefix {
        /// The criterion.
        regex: regex::Regex,
        /// How many bytes of a matching path its prefix is.
        len: usize,
    },
}

/// Two matchers are the same when they match the same way: regexes by their pattern (a
/// reload must tell an unchanged route table from a changed one).
impl PartialEq for PathMatch {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Any, Self::Any) => true,
            (Self::Prefix(a), Self::Prefix(b)) | (Self::Exact(a), Self::Exact(b)) => a == b,
            (Self::Regex(a), Self::Regex(b)) => a.as_str() == b.as_str(),
            (Self::RegexPrefix { regex: a, len: m }, Self::RegexPrefix { regex: b, len: n }) => {
                a.as_str() == b.as_str() && m == n
            }
            _ => false,
        }
    }
}

/// One `headers[]` criterion.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderMatch {
    /// `name`, lower-cased.
    pub name: String,
    /// `value` with `regex: false` (exact) or `regex: true` (unanchored, as in MOSN).
    pub value: ValueMatch,
    /// How `value` decides: MOSN's configs always have [`HeaderMatchMode::Matches`].
    pub mode: HeaderMatchMode,
}

/// How a header criterion decides (Envoy's `invert_match` and `present_match: false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderMatchMode {
    /// Some value of the header matches.
    #[default]
    Matches,
    /// The header is present and none of its values matches (a missing header matches
    /// neither way, as in Envoy).
    NotMatches,
    /// The header is absent (`value` is not used).
    Absent,
}

/// How a header value is compared.
#[derive(Debug, Clone)]
pub enum ValueMatch {
    /// Exact bytes.
    Exact(String),
    /// Regular expression, matching anywhere in the value unless anchored.
    Regex(regex::Regex),
}

/// Regexes compare by their pattern, as for [`PathMatch`].
impl PartialEq for ValueMatch {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Exact(a), Self::Exact(b)) => a == b,
            (Self::Regex(a), Self::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

/// What a matched route does.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteAction {
    /// `route`: forward upstream.
    Forward(Arc<ForwardAction>),
    /// `direct_response`.
    DirectResponse {
        /// `status`.
        status: u16,
        /// `body`.
        body: Option<String>,
    },
    /// `redirect`.
    Redirect(Box<RedirectAction>),
}

/// `route`: forward to a cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ForwardAction {
    /// `cluster_name` or `weighted_clusters`.
    pub target: ClusterTarget,
    /// `timeout`: from the end of the request to the response head; `None` is MOSN's
    /// default of 60s.
    pub timeout: Option<Duration>,
    /// `prefix_rewrite`: replaces the matched prefix (or the whole path for exact matches).
    pub prefix_rewrite: Option<String>,
    /// Envoy's `regex_rewrite` (boxed: few routes have one).
    pub regex_rewrite: Option<Box<RegexRewrite>>,
    /// `host_rewrite`: new Host header.
    pub host_rewrite: Option<String>,
    /// Envoy's `host_rewrite_header`: the Host becomes this request header's value, when
    /// it has a non-empty one (name lower-cased).
    pub host_rewrite_header: Option<Box<str>>,
    /// Route-level header edits.
    pub headers: HeaderEdits,
    /// `hash_policy[]`: where hashing balancers (`LB_MAGLEV`, `LB_RING_HASH`) take the
    /// request's affinity key from; the first policy that yields a value wins. Empty means
    /// MOSN's default, the client's IP.
    pub hash_policy: Vec<HashPolicy>,
    /// `retry_policy`; `None` is MOSN's default: connection failures retried 3 times.
    pub retry_policy: Option<RetryPolicy>,
    /// `upstream_protocol`: overrides the `proxy` filter's for this route (`Http1`,
    /// `Http2`, or `Auto` for the downstream's protocol).
    pub upstream_protocol: Option<Protocol>,
    /// `metadata_match`: the labels of the cluster subset this route's requests go to.
    pub metadata_match: Metadata,
}

/// Envoy's `regex_rewrite`: every match of `pattern` in the path (not the query) is
/// replaced by `substitution`, whose `${n}` are the match's groups.
#[derive(Debug, Clone)]
pub struct RegexRewrite {
    /// The pattern, unanchored.
    pub pattern: regex::Regex,
    /// The replacement, in the `regex` crate's syntax.
    pub substitution: String,
}

/// Rewrites compare by pattern text and substitution, as [`PathMatch`] does.
impl PartialEq for RegexRewrite {
    fn eq(&self, other: &Self) -> bool {
        self.pattern.as_str() == other.pattern.as_str() && self.substitution == other.substitution
    }
}

impl ForwardAction {
    /// Forwarding to `target` with MOSN's defaults for everything else: what a source
    /// that only names the cluster makes (benchmarks, tests).
    pub fn to(target: ClusterTarget) -> Self {
        Self {
            target,
            timeout: None,
            prefix_rewrite: None,
            regex_rewrite: None,
            host_rewrite: None,
            host_rewrite_header: None,
            headers: HeaderEdits::default(),
            hash_policy: Vec::new(),
            retry_policy: None,
            upstream_protocol: None,
            metadata_match: Metadata::default(),
        }
    }
}

/// One `hash_policy[]` entry (MOSN's `v2.HashPolicy`): exactly one of its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashPolicy {
    /// `header{key}`: the value of this request header (name lower-cased).
    Header(String),
    /// `cookie{name, path, ttl}`: the value of this cookie. `path` and `ttl` only matter
    /// for generating a missing cookie, which MOSN does not do either.
    Cookie(String),
    /// `source_ip{}`: the client's IP address.
    SourceIp,
}

/// Which cluster a forwarding route sends to.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterTarget {
    /// `cluster_name`.
    Single(String),
    /// `weighted_clusters[]{cluster{name, weight}}`; weights are > 0 in sum.
    Weighted(Vec<WeightedCluster>),
}

/// One weighted cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedCluster {
    /// Cluster name.
    pub name: String,
    /// Relative weight.
    pub weight: u32,
}

/// `redirect`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RedirectAction {
    /// `response_code` (default 301).
    pub response_code: u16,
    /// `path_redirect`.
    pub path_redirect: Option<String>,
    /// `host_redirect`.
    pub host_redirect: Option<String>,
    /// `scheme_redirect`.
    pub scheme_redirect: Option<String>,
    /// Envoy's `strip_query`: the request's query is not kept. (It is not kept either
    /// when `path_redirect` has a query of its own.)
    pub strip_query: bool,
}
