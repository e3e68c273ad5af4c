//! `RouteConfiguration` conversion on real Istio route configurations and on hand-written
//! Envoy YAML covering each converted field and each refusal.

use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use mosn_config::model::{
    ClusterTarget, ForwardAction, GrpcRetryOn, HashPolicy, HeaderMatch, HeaderMatchMode,
    HeaderToAdd, HostPortMatching, Metadata, PathMatch, QueryValueMatch, RedirectAction, RetryOn,
    RetryPolicy, RouteAction, RouterConfig, ValueMatch, WeightedCluster,
};
use mosn_config::resources::Resource;
use mosn_xds::convert::route::route_configuration;
use mosn_xds::convert::{Context, ConvertError};
use mosn_xds::proto::{from_json, parse_document};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// What `timeout: 0s` (Envoy: none) becomes.
const NO_TIMEOUT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

fn istio(file: &str) -> Value {
    let path = format!(
        "{}/../../../shared/testdata/istio/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Every `route_config` in a config dump or bootstrap (keys in sorted order), without the
/// `@type` a dump's entries carry.
fn route_configs(doc: &Value) -> Vec<RouteConfiguration> {
    route_config_values(doc)
        .iter()
        .map(|v| from_json(v, false).unwrap())
        .collect()
}

fn route_config_values(doc: &Value) -> Vec<Value> {
    let mut found = Vec::new();
    collect(doc, &mut found);
    found
}

fn collect(v: &Value, found: &mut Vec<Value>) {
    match v {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "route_config" {
                    let mut value = value.clone();
                    value.as_object_mut().unwrap().remove("@type");
                    found.push(value);
                } else {
                    collect(value, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect(i, found)),
        _ => {}
    }
}

fn yaml(text: &str) -> RouteConfiguration {
    from_json(&parse_document(text).unwrap(), false).unwrap()
}

/// Converts and returns the result with the counted no-ops.
fn convert(
    r: &RouteConfiguration,
) -> (
    Result<RouterConfig, ConvertError>,
    BTreeMap<&'static str, u64>,
) {
    let mut ctx = Context::default();
    let result = route_configuration(r, &mut ctx);
    (result, ctx.ignored)
}

fn converted(r: &RouteConfiguration) -> RouterConfig {
    convert(r).0.unwrap()
}

fn refused(r: &RouteConfiguration) -> (String, String) {
    let e = convert(r).0.unwrap_err();
    (e.path, e.reason)
}

/// A route configuration whose only virtual host has the routes in `routes` (YAML flow
/// style, one route per entry).
fn with_routes(routes: &[&str]) -> RouteConfiguration {
    let list: Vec<String> = routes.iter().map(|r| format!("  - {r}")).collect();
    yaml(&format!(
        "name: r\nvirtual_hosts:\n- name: v\n  domains: ['*']\n  routes:\n{}\n",
        list.join("\n")
    ))
}

fn forward_of(cfg: &RouterConfig, vh: usize, route: usize) -> &ForwardAction {
    match &cfg.virtual_hosts[vh].routes[route].action {
        RouteAction::Forward(f) => f,
        other => panic!("not a forward: {other:?}"),
    }
}

fn regex_of(m: &PathMatch) -> &regex::Regex {
    match m {
        PathMatch::Regex(re) | PathMatch::RegexPrefix { regex: re, .. } => re,
        other => panic!("not a regex: {other:?}"),
    }
}

fn header_regex(h: &HeaderMatch) -> &regex::Regex {
    match &h.value {
        ValueMatch::Regex(re) => re,
        other => panic!("not a regex: {other:?}"),
    }
}

fn no_retries() -> RetryPolicy {
    RetryPolicy {
        retry_on: RetryOn::default(),
        num_retries: 0,
        per_try_timeout: None,
        status_codes: vec![],
        backoff_base: Duration::from_millis(25),
        backoff_max: Duration::from_millis(250),
        host_reselect_attempts: 0,
    }
}

// ---- Istio's route configurations ----

#[test]
fn istio_productpage_routes_convert_with_istios_default_retry_policy() {
    for (file, name) in [
        (
            "04-bookinfo-productpage-rds-cds-configdump.json",
            "http.8080",
        ),
        (
            "07-productpage-tls-configdump.json",
            "https.443.https.bookinfo-gateway.default",
        ),
    ] {
        let configs = route_configs(&istio(file));
        assert_eq!(configs.len(), 1, "{file}");
        let (cfg, ignored) = convert(&configs[0]);
        let cfg = cfg.unwrap_or_else(|e| panic!("{file}: {e:?}"));
        assert_eq!(cfg.name, name, "{file}");
        let vhost = &cfg.virtual_hosts[0];
        assert_eq!(vhost.domains, ["*"], "{file}");
        assert!(vhost.include_request_attempt_count, "{file}");
        let paths: Vec<&PathMatch> = vhost.routes.iter().map(|r| &r.matcher.path).collect();
        assert_eq!(
            paths,
            [
                &PathMatch::Exact("/productpage".into()),
                &PathMatch::Prefix("/static".into()),
                &PathMatch::Exact("/login".into()),
                &PathMatch::Exact("/logout".into()),
                &PathMatch::Prefix("/api/v1/products".into()),
            ],
            "{file}"
        );
        let fwd = forward_of(&cfg, 0, 0);
        assert_eq!(
            fwd.target,
            ClusterTarget::Single("outbound|9080||productpage.default.svc.cluster.local".into())
        );
        assert_eq!(fwd.timeout, Some(NO_TIMEOUT));
        // connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes
        // with previous_hosts and host_selection_retry_max_attempts: 5.
        let istio_default = RetryPolicy {
            retry_on: RetryOn {
                connect_failure: true,
                refused_stream: true,
                retriable_status_codes: true,
                grpc: GrpcRetryOn {
                    unavailable: true,
                    cancelled: true,
                    ..GrpcRetryOn::default()
                },
                ..RetryOn::default()
            },
            num_retries: 2,
            status_codes: vec![503],
            host_reselect_attempts: 5,
            ..no_retries()
        };
        for route in 0..vhost.routes.len() {
            assert_eq!(
                forward_of(&cfg, 0, route).retry_policy.as_ref(),
                Some(&istio_default),
                "{file} route {route}"
            );
        }
        assert_eq!(
            ignored,
            BTreeMap::from([("route.decorator", 5), ("route.metadata", 5)]),
            "{file}"
        );
    }
}

#[test]
fn istio_listener_dump_inline_routes_convert_except_the_connect_tunnel() {
    let mut values = route_config_values(&istio("01-sidecar-listeners-configdump.json"));
    assert_eq!(values.len(), 8);
    // The CONNECT tunnel's per-filter config is a `udpa.type.v1.TypedStruct`, a type
    // `envoy-types` lacks: it cannot even be read. Without it, the route still refuses.
    let connect = values.iter().position(|v| v["name"] == "default").unwrap();
    let error = from_json::<RouteConfiguration>(&values[connect], false).unwrap_err();
    assert_eq!(
        error.to_string(),
        "message 'udpa.type.v1.TypedStruct' not found"
    );
    values[connect]["virtual_hosts"][0]["routes"][0]
        .as_object_mut()
        .unwrap()
        .remove("typed_per_filter_config");
    let configs: Vec<RouteConfiguration> = values
        .iter()
        .map(|v| from_json(v, false).unwrap())
        .collect();
    let outcomes: Vec<Result<String, (String, String)>> = configs
        .iter()
        .map(|r| match convert(r).0 {
            Ok(cfg) => Ok(cfg.name),
            Err(e) => Err((e.path, e.reason)),
        })
        .collect();
    let ok = |name: &str| Ok(name.to_owned());
    assert_eq!(
        outcomes,
        [
            ok("InboundPassthroughClusterIpv4"),
            ok("InboundPassthroughClusterIpv4"),
            ok("inbound|80||"),
            ok("inbound|80||"),
            Err((
                "virtual_hosts[0].routes[0].match.connect_matcher".into(),
                "matching CONNECT requests is not supported by mosn".into()
            )),
            ok("inbound|80||"),
            ok(""),
            ok(""),
        ]
    );
    // The inbound route: `timeout: 0s` and `grpc_timeout_header_max: 0s` (grpc-timeout
    // honoured, uncapped) are what mosn does with no route timeout; no retry policy.
    let (inbound, ignored) = convert(&configs[2]);
    let inbound = inbound.unwrap();
    assert_eq!(inbound.virtual_hosts[0].name, "inbound|http|8000");
    let fwd = forward_of(&inbound, 0, 0);
    assert_eq!(fwd.target, ClusterTarget::Single("inbound|80||".into()));
    assert_eq!(fwd.timeout, Some(NO_TIMEOUT));
    assert_eq!(fwd.retry_policy, Some(no_retries()));
    assert_eq!(
        inbound.virtual_hosts[0].routes[0].matcher.path,
        PathMatch::Prefix("/".into())
    );
    assert_eq!(
        ignored,
        BTreeMap::from([("route.decorator", 1), ("route.name", 1)])
    );
}

#[test]
fn istio_bootstrap_static_routes_get_envoys_default_timeout() {
    let configs = route_configs(&istio("08-default-bootstrap-rendered.json"));
    assert_eq!(configs.len(), 2);
    let clusters: Vec<(PathMatch, ClusterTarget, Option<Duration>)> = configs
        .iter()
        .map(|r| {
            let cfg = converted(r);
            let f = forward_of(&cfg, 0, 0);
            (
                cfg.virtual_hosts[0].routes[0].matcher.path.clone(),
                f.target.clone(),
                f.timeout,
            )
        })
        .collect();
    assert_eq!(
        clusters,
        [
            (
                PathMatch::Prefix("/stats/prometheus".into()),
                ClusterTarget::Single("prometheus_stats".into()),
                Some(Duration::from_secs(15))
            ),
            (
                PathMatch::Prefix("/healthz/ready".into()),
                ClusterTarget::Single("agent".into()),
                Some(Duration::from_secs(15))
            ),
        ]
    );
}

#[test]
fn previous_hosts_predicate_is_accepted_by_name_and_by_typed_config() {
    let cfg = converted(&with_routes(&[
        "{match: {prefix: /a}, route: {cluster: c, retry_policy: {retry_on: connect-failure, \
         retry_host_predicate: [{name: envoy.retry_host_predicates.previous_hosts}], \
         host_selection_retry_max_attempts: 5}}}",
        "{match: {prefix: /b}, route: {cluster: c, retry_policy: {retry_on: connect-failure, \
         retry_host_predicate: [{name: envoy.retry_host_predicates.previous_hosts, typed_config: \
         {'@type': type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate}}]}}}",
    ]));
    for (route, reselects) in [(0, 5), (1, 1)] {
        let policy = forward_of(&cfg, 0, route).retry_policy.clone().unwrap();
        assert!(policy.retry_on.connect_failure);
        assert_eq!(policy.num_retries, 1, "Envoy's default num_retries");
        assert_eq!(
            policy.host_reselect_attempts, reselects,
            "host_selection_retry_max_attempts, once when unset"
        );
    }
    let without = converted(&with_routes(&[
        "{match: {prefix: /}, route: {cluster: c, retry_policy: {retry_on: connect-failure, \
         host_selection_retry_max_attempts: 5}}}",
    ]));
    assert_eq!(
        forward_of(&without, 0, 0)
            .retry_policy
            .as_ref()
            .unwrap()
            .host_reselect_attempts,
        0,
        "without the predicate a retry takes whatever host the balancer picks"
    );
    let huge = converted(&with_routes(&[
        "{match: {prefix: /}, route: {cluster: c, retry_policy: {retry_on: connect-failure, \
         retry_host_predicate: [{name: envoy.retry_host_predicates.previous_hosts}], \
         host_selection_retry_max_attempts: 1000000}}}",
    ]));
    assert_eq!(
        forward_of(&huge, 0, 0)
            .retry_policy
            .as_ref()
            .unwrap()
            .host_reselect_attempts,
        16
    );
    assert_eq!(
        refused(&with_routes(&[
            "{match: {prefix: /}, route: {cluster: c, retry_policy: {retry_host_predicate: \
             [{name: envoy.retry_host_predicates.omit_canary_hosts}]}}}"
        ])),
        (
            "virtual_hosts[0].routes[0].route.retry_policy.retry_host_predicate[0].name".into(),
            "retry host predicate \"envoy.retry_host_predicates.omit_canary_hosts\" is not \
             supported by mosn"
                .into()
        )
    );
}

// ---- matches ----

#[test]
fn path_matches_convert_with_envoys_semantics() {
    let cfg = converted(&with_routes(&[
        "{match: {prefix: /api}, route: {cluster: c}}",
        "{match: {path: /exact}, route: {cluster: c}}",
        "{match: {prefix: /Api, case_sensitive: false}, route: {cluster: c}}",
        "{match: {path: /E.x, case_sensitive: false}, route: {cluster: c}}",
        "{match: {safe_regex: {regex: '/v[0-9]+/\\d+'}}, route: {cluster: c}}",
        "{match: {path_separated_prefix: /api/dev}, route: {cluster: c}}",
    ]));
    let paths: Vec<&PathMatch> = cfg.virtual_hosts[0]
        .routes
        .iter()
        .map(|r| &r.matcher.path)
        .collect();
    assert_eq!(paths[0], &PathMatch::Prefix("/api".into()));
    assert_eq!(paths[1], &PathMatch::Exact("/exact".into()));
    let insensitive_prefix = regex_of(paths[2]);
    assert!(insensitive_prefix.is_match("/aPI/x"));
    assert!(!insensitive_prefix.is_match("/x/api"));
    let insensitive_exact = regex_of(paths[3]);
    assert!(insensitive_exact.is_match("/e.X"));
    assert!(!insensitive_exact.is_match("/eXx"), "the dot is literal");
    assert!(!insensitive_exact.is_match("/e.x/"));
    let safe_regex = regex_of(paths[4]);
    assert_eq!(safe_regex.as_str(), "^(?:/v[0-9]+/[0-9]+)$");
    assert!(safe_regex.is_match("/v2/10"));
    assert!(!safe_regex.is_match("/x/v2/10"), "RE2 full match");
    let separated = regex_of(paths[5]);
    assert!(separated.is_match("/api/dev"));
    assert!(separated.is_match("/api/dev/x"));
    assert!(!separated.is_match("/api/devx"));
}

#[test]
fn header_matchers_convert_in_every_supported_form() {
    let cfg = converted(&with_routes(&["{match: {prefix: /, headers: [\
         {name: X-Exact, exact_match: v1}, \
         {name: x-re, safe_regex_match: {regex: 'v\\d'}}, \
         {name: x-present, present_match: true}, \
         {name: x-bare}, \
         {name: x-prefix, prefix_match: 'a.'}, \
         {name: x-suffix, suffix_match: '.z'}, \
         {name: x-contains, contains_match: mid}, \
         {name: x-s-exact, string_match: {exact: Ab}}, \
         {name: x-s-exact-ci, string_match: {exact: Ab, ignore_case: true}}, \
         {name: x-s-prefix-ci, string_match: {prefix: Ab, ignore_case: true}}, \
         {name: x-s-regex, string_match: {safe_regex: {regex: 'a|b'}, ignore_case: true}}\
         ], grpc: {}}, route: {cluster: c}}"]));
    let headers = &cfg.virtual_hosts[0].routes[0].matcher.headers;
    let names: Vec<&str> = headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "x-exact",
            "x-re",
            "x-present",
            "x-bare",
            "x-prefix",
            "x-suffix",
            "x-contains",
            "x-s-exact",
            "x-s-exact-ci",
            "x-s-prefix-ci",
            "x-s-regex",
            "content-type"
        ]
    );
    assert_eq!(headers[0].value, ValueMatch::Exact("v1".into()));
    let re = |i: usize| header_regex(&headers[i]);
    assert!(re(1).is_match("v7") && !re(1).is_match("xv7"));
    assert!(re(2).is_match("") && re(3).is_match("anything"));
    assert!(re(4).is_match("a.b") && !re(4).is_match("ab.") && !re(4).is_match("aXb"));
    assert!(re(5).is_match("a.z") && !re(5).is_match("a.zz"));
    assert!(re(6).is_match("amidb") && !re(6).is_match("mdi"));
    assert_eq!(headers[7].value, ValueMatch::Exact("Ab".into()));
    assert!(re(8).is_match("aB") && !re(8).is_match("aBc"));
    assert!(re(9).is_match("aBc") && !re(9).is_match("xab"));
    assert!(
        re(10).is_match("a") && !re(10).is_match("A"),
        "ignore_case does not apply to regexes"
    );
    let grpc = re(11);
    assert!(grpc.is_match("application/grpc") && grpc.is_match("application/grpc+proto"));
    assert!(!grpc.is_match("application/grpc-web"));
}

/// `invert_match` and `present_match: false`: presence inverted is absence (and absence
/// inverted presence); a value test inverted is "present with another value".
#[test]
fn inverted_and_absent_header_matchers_convert() {
    let cfg = converted(&with_routes(&["{match: {prefix: /, headers: [\
         {name: a, present_match: false}, \
         {name: b, present_match: true, invert_match: true}, \
         {name: c, present_match: false, invert_match: true}, \
         {name: d, string_match: {exact: v}, invert_match: true}, \
         {name: e, invert_match: true}]}, route: {cluster: c}}"]));
    let modes: Vec<HeaderMatchMode> = cfg.virtual_hosts[0].routes[0]
        .matcher
        .headers
        .iter()
        .map(|h| h.mode)
        .collect();
    use HeaderMatchMode::*;
    assert_eq!(modes, [Absent, Absent, Matches, NotMatches, Absent]);
    let d = &cfg.virtual_hosts[0].routes[0].matcher.headers[3];
    assert_eq!(d.value, ValueMatch::Exact("v".into()));
}

/// `prefix_rewrite` after every path criterion: case-insensitive and separated prefixes
/// replace their length, a regex or exact path the whole path.
#[test]
fn prefix_rewrite_converts_after_every_path_criterion() {
    let cfg = converted(&with_routes(&[
        "{match: {prefix: /Api, case_sensitive: false}, route: {cluster: c, prefix_rewrite: /v}}",
        "{match: {path_separated_prefix: /sep}, route: {cluster: c, prefix_rewrite: /s}}",
        "{match: {safe_regex: {regex: '/r/.*'}}, route: {cluster: c, prefix_rewrite: /whole}}",
    ]));
    let paths: Vec<&PathMatch> = cfg.virtual_hosts[0]
        .routes
        .iter()
        .map(|r| &r.matcher.path)
        .collect();
    assert!(matches!(paths[0], PathMatch::RegexPrefix { len: 4, .. }));
    assert!(matches!(paths[1], PathMatch::RegexPrefix { len: 4, .. }));
    assert!(matches!(paths[2], PathMatch::Regex(_)));
    for i in 0..3 {
        assert!(forward_of(&cfg, 0, i).prefix_rewrite.is_some());
    }
}

/// `host_rewrite_header`: the header's name, lower-cased; an empty name rewrites nothing.
#[test]
fn host_rewrite_header_converts() {
    let cfg = converted(&with_routes(&[
        "{match: {prefix: /a}, route: {cluster: c, host_rewrite_header: X-Host}}",
        "{match: {prefix: /b}, route: {cluster: c, host_rewrite_header: ''}}",
    ]));
    assert_eq!(
        forward_of(&cfg, 0, 0).host_rewrite_header.as_deref(),
        Some("x-host")
    );
    assert_eq!(forward_of(&cfg, 0, 1).host_rewrite_header, None);
    assert_eq!(forward_of(&cfg, 0, 0).host_rewrite, None);
}

/// `regex_rewrite`: an unanchored pattern and RE2's substitution in the `regex` crate's
/// syntax (`\1` → `${1}`, `$` literal).
#[test]
fn regex_rewrite_converts() {
    let cfg = converted(&with_routes(&[
        "{match: {prefix: /}, route: {cluster: c, regex_rewrite: \
         {pattern: {regex: '^/v(\\d+)/(.*)$'}, substitution: '/api/\\2?v=\\1$\\\\'}}}",
    ]));
    let r = forward_of(&cfg, 0, 0)
        .regex_rewrite
        .as_ref()
        .expect("a rewrite");
    assert_eq!(r.substitution, "/api/${2}?v=${1}$$\\");
    assert_eq!(
        r.pattern.replace_all("/v3/a/b", r.substitution.as_str()),
        "/api/a/b?v=3$\\"
    );
}

/// Redirects and direct responses under response edits of their virtual host or route
/// configuration convert: the proxy applies those to the replies it makes, as Envoy does.
#[test]
fn outer_response_edits_do_not_keep_replies_the_proxy_makes_from_converting() {
    let cfg = converted(&yaml(
        "name: r\nresponse_headers_to_add: [{header: {key: x, value: y}}]\nvirtual_hosts: [{name: v, \
         domains: ['*'], response_headers_to_remove: [z], routes: [\
         {match: {prefix: /r}, redirect: {https_redirect: true}}, \
         {match: {prefix: /d}, direct_response: {status: 204}}]}]",
    ));
    assert_eq!(cfg.headers.response_headers_to_add[0].name, "x");
    assert_eq!(
        cfg.virtual_hosts[0].headers.response_headers_to_remove,
        ["z"]
    );
    assert_eq!(cfg.virtual_hosts[0].routes.len(), 2);
}

/// `query_parameters`: a string matcher on the first value, presence (`present_match:
/// true` or no specifier), absence (`present_match: false`).
#[test]
fn query_parameter_matchers_convert() {
    let cfg = converted(&with_routes(&["{match: {prefix: /, query_parameters: [\
         {name: q, string_match: {exact: v}}, \
         {name: Ci, string_match: {prefix: Ab, ignore_case: true}}, \
         {name: p, present_match: true}, \
         {name: f, present_match: false}, \
         {name: bare}]}, route: {cluster: c}}"]));
    let qs = &cfg.virtual_hosts[0].routes[0].matcher.query_parameters;
    let names: Vec<&str> = qs.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["q", "Ci", "p", "f", "bare"]);
    assert_eq!(
        qs[0].value,
        QueryValueMatch::Matches(ValueMatch::Exact("v".into()))
    );
    match &qs[1].value {
        QueryValueMatch::Matches(ValueMatch::Regex(re)) => {
            assert!(re.is_match("aBc") && !re.is_match("xab"))
        }
        other => panic!("not a regex: {other:?}"),
    }
    assert_eq!(qs[2].value, QueryValueMatch::Present);
    assert_eq!(qs[3].value, QueryValueMatch::Absent);
    assert_eq!(qs[4].value, QueryValueMatch::Present);
    assert!(cfg.virtual_hosts[0].routes[0].matcher.headers.is_empty());
}

// ---- actions ----

#[test]
fn forward_action_fields_convert() {
    let cfg = converted(&with_routes(&[
        "{match: {prefix: /old}, route: {cluster: c, timeout: 2.5s, prefix_rewrite: /new, \
         host_rewrite_literal: upstream.local, \
         hash_policy: [{header: {header_name: X-User}, terminal: true}, \
         {connection_properties: {source_ip: false}}, {cookie: {name: sid, path: /}}], \
         metadata_match: {filter_metadata: {envoy.lb: {version: v1}, other: {x: 1}}}, \
         retry_policy: {retry_on: 'gateway-error, retriable-4xx,retriable-status-codes,bogus', \
         retriable_status_codes: [503, 429], num_retries: 4, per_try_timeout: 1s, \
         retry_back_off: {base_interval: 0.1s, max_interval: 2s}}}}",
        "{match: {prefix: /w}, route: {weighted_clusters: {clusters: [{name: a, weight: 30}, \
         {name: b, weight: 70}, {name: z}], total_weight: 100}}}",
        "{match: {prefix: /auto}, route: {cluster: c, auto_host_rewrite: false, timeout: 0s, \
         max_stream_duration: {max_stream_duration: 0s, grpc_timeout_header_max: 0s}}}",
    ]));
    let f = forward_of(&cfg, 0, 0);
    assert_eq!(f.target, ClusterTarget::Single("c".into()));
    assert_eq!(f.timeout, Some(Duration::from_millis(2500)));
    assert_eq!(f.prefix_rewrite.as_deref(), Some("/new"));
    assert_eq!(f.host_rewrite.as_deref(), Some("upstream.local"));
    assert_eq!(
        f.hash_policy,
        [
            HashPolicy::Header("x-user".into()),
            HashPolicy::Cookie("sid".into())
        ]
    );
    assert_eq!(
        f.metadata_match,
        Metadata::new(vec![("version".into(), "v1".into())])
    );
    assert_eq!(
        f.retry_policy,
        Some(RetryPolicy {
            retry_on: RetryOn {
                gateway_error: true,
                reset: true,
                connect_failure: true,
                per_try_timeout: true,
                retriable_status_codes: true,
                ..RetryOn::default()
            },
            num_retries: 4,
            per_try_timeout: Some(Duration::from_secs(1)),
            status_codes: vec![409, 429, 503],
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
            host_reselect_attempts: 0,
        })
    );
    assert_eq!(
        forward_of(&cfg, 0, 1).target,
        ClusterTarget::Weighted(vec![
            WeightedCluster {
                name: "a".into(),
                weight: 30
            },
            WeightedCluster {
                name: "b".into(),
                weight: 70
            },
            WeightedCluster {
                name: "z".into(),
                weight: 0
            },
        ])
    );
    let auto = forward_of(&cfg, 0, 2);
    assert_eq!(auto.host_rewrite, None);
    assert_eq!(auto.timeout, Some(NO_TIMEOUT));
    assert_eq!(auto.retry_policy, Some(no_retries()));
}

#[test]
fn retry_conditions_map_to_the_failures_envoy_retries() {
    let policy = |retry_on: &str| {
        let cfg = converted(&with_routes(&[&format!(
            "{{match: {{prefix: /}}, route: {{cluster: c, retry_policy: {{retry_on: '{retry_on}', \
             retriable_status_codes: [502, 504]}}}}}}"
        )]));
        forward_of(&cfg, 0, 0).retry_policy.clone().unwrap()
    };
    let resets = RetryOn {
        reset: true,
        connect_failure: true,
        per_try_timeout: true,
        ..RetryOn::default()
    };
    assert_eq!(policy("reset").retry_on, resets);
    assert_eq!(
        policy("reset,refused-stream").retry_on,
        RetryOn {
            refused_stream: true,
            ..resets
        }
    );
    assert_eq!(
        policy("refused-stream").retry_on,
        RetryOn {
            refused_stream: true,
            ..RetryOn::default()
        }
    );
    assert_eq!(
        policy("cancelled,deadline-exceeded,internal,resource-exhausted,unavailable").retry_on,
        RetryOn {
            grpc: GrpcRetryOn {
                cancelled: true,
                deadline_exceeded: true,
                internal: true,
                resource_exhausted: true,
                unavailable: true,
            },
            ..RetryOn::default()
        }
    );
    assert_eq!(
        refused(&with_routes(&[
            "{match: {prefix: /}, route: {cluster: c, retry_policy: {retry_on: 'reset-before-request'}}}"
        ])),
        (
            "virtual_hosts[0].routes[0].route.retry_policy.retry_on".into(),
            "retry condition \"reset-before-request\" is not supported by mosn".into()
        )
    );
    assert_eq!(
        policy("connect-failure").retry_on,
        RetryOn {
            connect_failure: true,
            ..RetryOn::default()
        }
    );
    // Listed 5xx statuses are covered by 5xx itself.
    let five = policy("5xx,retriable-status-codes");
    assert_eq!(
        five.retry_on,
        RetryOn {
            five_xx: true,
            ..resets
        }
    );
    assert!(five.status_codes.is_empty());
    // Statuses without retriable-status-codes are inert, as in Envoy.
    let inert = policy("connect-failure");
    assert!(inert.status_codes.is_empty() && !inert.retry_on.retriable_status_codes);
    assert_eq!(
        refused(&with_routes(&[
            "{match: {prefix: /}, route: {cluster: c, retry_policy: {retry_on: '5xx,retriable-4xx'}}}"
        ])),
        (
            "virtual_hosts[0].routes[0].route.retry_policy.retriable_status_codes".into(),
            "retrying [409] together with 5xx is not supported by mosn".into()
        )
    );
}

#[test]
fn virtual_host_retry_policy_applies_to_routes_without_their_own() {
    let cfg = converted(&yaml(
        r#"
name: r
virtual_hosts:
- name: v
  domains: [Example.COM, "*.example.org"]
  retry_policy: {retry_on: connect-failure, num_retries: 3}
  routes:
  - {match: {prefix: /own}, route: {cluster: c, retry_policy: {retry_on: reset}}}
  - {match: {prefix: /}, route: {cluster: c}}
"#,
    ));
    assert_eq!(
        cfg.virtual_hosts[0].domains,
        ["example.com", "*.example.org"]
    );
    let own = forward_of(&cfg, 0, 0).retry_policy.clone().unwrap();
    assert!(own.retry_on.reset);
    assert_eq!(own.num_retries, 1);
    let inherited = forward_of(&cfg, 0, 1).retry_policy.clone().unwrap();
    assert_eq!(
        inherited.retry_on,
        RetryOn {
            connect_failure: true,
            ..RetryOn::default()
        }
    );
    assert_eq!(inherited.num_retries, 3);
}

#[test]
fn redirect_and_direct_response_convert() {
    let cfg = converted(&with_routes(&[
        "{match: {prefix: /r}, redirect: {https_redirect: true, host_redirect: example.com, \
         path_redirect: new, strip_query: true, response_code: PERMANENT_REDIRECT}}",
        "{match: {prefix: /q}, redirect: {scheme_redirect: http, host_redirect: b.example, \
         path_redirect: '/p?x=1'}}",
        "{match: {prefix: /d}, direct_response: {status: 418, body: {inline_string: teapot}}}",
        "{match: {prefix: /e}, direct_response: {status: 204}}",
        "{match: {prefix: /s}, redirect: {https_redirect: true}}",
        "{match: {prefix: /h}, redirect: {host_redirect: h.example, response_code: FOUND}}",
        "{match: {prefix: /k}, redirect: {path_redirect: /kept}}",
        "{match: {prefix: /s}, redirect: {strip_query: true}}",
    ]));
    let actions: Vec<&RouteAction> = cfg.virtual_hosts[0]
        .routes
        .iter()
        .map(|r| &r.action)
        .collect();
    assert_eq!(
        actions,
        [
            &RouteAction::Redirect(Box::new(RedirectAction {
                response_code: 308,
                path_redirect: Some("/new".into()),
                host_redirect: Some("example.com".into()),
                scheme_redirect: Some("https".into()),
                strip_query: true,
            })),
            &RouteAction::Redirect(Box::new(RedirectAction {
                response_code: 301,
                path_redirect: Some("/p?x=1".into()),
                host_redirect: Some("b.example".into()),
                scheme_redirect: Some("http".into()),
                strip_query: false,
            })),
            &RouteAction::DirectResponse {
                status: 418,
                body: Some("teapot".into())
            },
            &RouteAction::DirectResponse {
                status: 204,
                body: None
            },
            // What is not given is the request's own.
            &RouteAction::Redirect(Box::new(RedirectAction {
                response_code: 301,
                scheme_redirect: Some("https".into()),
                ..RedirectAction::default()
            })),
            &RouteAction::Redirect(Box::new(RedirectAction {
                response_code: 302,
                host_redirect: Some("h.example".into()),
                ..RedirectAction::default()
            })),
            // The request's query is kept unless stripped.
            &RouteAction::Redirect(Box::new(RedirectAction {
                response_code: 301,
                path_redirect: Some("/kept".into()),
                ..RedirectAction::default()
            })),
            &RouteAction::Redirect(Box::new(RedirectAction {
                response_code: 301,
                strip_query: true,
                ..RedirectAction::default()
            })),
        ]
    );
}

#[test]
fn header_edits_convert_at_every_level_in_envoys_order() {
    let cfg = converted(&yaml(
        r#"
name: r
request_headers_to_add:
- {header: {key: X-Global, value: "100%%"}}
response_headers_to_remove: [X-Internal]
virtual_hosts:
- name: v
  domains: ["*"]
  request_headers_to_remove: [x-drop]
  routes:
  - match: {prefix: /}
    route: {cluster: c}
    request_headers_to_add:
    - {header: {key: x-set, value: "1"}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
    - {header: {key: x-add, value: "2"}}
    - {header: {key: x-legacy, value: "3"}, append: false}
    - {header: {key: x-empty, value: ""}}
    - {header: {key: x-kept-empty, value: ""}, keep_empty_value: true}
    response_headers_to_add:
    - {header: {key: x-resp, raw_value: "dg=="}}
"#,
    ));
    let add = |name: &str, value: &str, append: bool| HeaderToAdd {
        name: name.into(),
        value: value.into(),
        append,
    };
    assert_eq!(
        cfg.headers.request_headers_to_add,
        [add("x-global", "100%", true)]
    );
    assert_eq!(cfg.headers.response_headers_to_remove, ["x-internal"]);
    assert_eq!(
        cfg.virtual_hosts[0].headers.request_headers_to_remove,
        ["x-drop"]
    );
    let route = &forward_of(&cfg, 0, 0).headers;
    assert_eq!(
        route.request_headers_to_add,
        [
            add("x-add", "2", true),
            add("x-kept-empty", "", true),
            add("x-set", "1", false),
            add("x-legacy", "3", false),
        ],
        "appends before overwrites; an empty value only with keep_empty_value"
    );
    assert_eq!(route.response_headers_to_add, [add("x-resp", "v", true)]);
}

#[test]
fn observability_only_fields_are_counted() {
    let (cfg, ignored) = convert(&yaml(
        r#"
name: r
metadata: {filter_metadata: {a: {b: c}}}
virtual_hosts:
- name: v
  domains: ["*"]
  virtual_clusters: [{name: vc, headers: [{name: ":path", string_match: {prefix: /}}]}]
  metadata: {filter_metadata: {a: {b: c}}}
  routes:
  - name: named
    match: {prefix: /}
    route: {cluster: c}
    decorator: {operation: op}
    tracing: {client_sampling: {numerator: 1}}
    stat_prefix: sp
    metadata: {filter_metadata: {istio: {config: x}}}
"#,
    ));
    cfg.unwrap();
    assert_eq!(
        ignored,
        BTreeMap::from([
            ("route.decorator", 1),
            ("route.metadata", 1),
            ("route.name", 1),
            ("route.stat_prefix", 1),
            ("route.tracing", 1),
            ("route_configuration.metadata", 1),
            ("virtual_host.metadata", 1),
            ("virtual_host.virtual_clusters", 1),
        ])
    );
}

/// Envoy matches a host's port as part of its name (`a.com:8080` is not `a.com`) unless
/// `ignore_port_in_host_matching`; MOSN's own configs keep their lenient rule.
#[test]
fn the_port_in_the_host_counts_as_envoy_says() {
    let cfg = converted(&yaml("name: r\nvirtual_hosts: []\n"));
    assert_eq!(cfg.host_port, HostPortMatching::Exact);
    let cfg = converted(&yaml(
        "name: r\nignore_port_in_host_matching: true\nvirtual_hosts: []\n",
    ));
    assert_eq!(cfg.host_port, HostPortMatching::Ignored);
}

#[test]
fn duplicate_domains_are_left_to_validation_which_names_them() {
    let cfg = converted(&yaml(
        r#"
name: r
virtual_hosts:
- {name: a, domains: [A.example], routes: []}
- {name: b, domains: [a.EXAMPLE], routes: []}
"#,
    ));
    let problems = mosn_config::validate::validate(&Resource::Router(cfg));
    let found: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.path.as_str(), p.reason.as_str()))
        .collect();
    assert_eq!(
        found,
        [(
            "virtual_hosts[1].domains[0]",
            "duplicate domain \"a.example\", first in virtual_hosts[0]"
        )]
    );
}

// ---- refusals ----

/// Each route (flow YAML) with the path and reason of its refusal.
const ROUTE_REFUSALS: &[(&str, &str, &str)] = &[
    (
        "{match: {prefix: /}, route: {cluster: c, request_mirror_policies: [{cluster: m}]}}",
        "route.request_mirror_policies",
        "RouteAction.request_mirror_policies is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c, regex_rewrite: {pattern: {regex: a}, substitution: '\\1'}}}",
        "route.regex_rewrite.substitution",
        "\\1 names a group the pattern does not have (0)",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c, regex_rewrite: {pattern: {regex: '(a)'}, substitution: '\\x'}}}",
        "route.regex_rewrite.substitution",
        "a backslash must be followed by a digit or a backslash",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c, prefix_rewrite: /x, regex_rewrite: {pattern: {regex: a}, substitution: b}}}",
        "route.regex_rewrite",
        "prefix_rewrite and regex_rewrite must not both be set (Envoy refuses it too)",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c, upgrade_configs: [{upgrade_type: websocket}]}}",
        "route.upgrade_configs",
        "RouteAction.upgrade_configs is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c, idle_timeout: 1s}}",
        "route.idle_timeout",
        "RouteAction.idle_timeout is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {cluster_header: x-cluster}}",
        "route.cluster_header",
        "choosing the cluster by a request header is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c, auto_host_rewrite: true}}",
        "route.auto_host_rewrite",
        "rewriting the host to the upstream host's name is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c, max_stream_duration: {max_stream_duration: 5s}}}",
        "route.max_stream_duration.max_stream_duration",
        "a limit on stream duration is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c, max_stream_duration: {grpc_timeout_header_max: 0s}}}",
        "route.max_stream_duration.grpc_timeout_header_max",
        "grpc-timeout replacing a route timeout (mosn applies the shorter of both) is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c, timeout: 0s, max_grpc_timeout: 5s}}",
        "route.max_grpc_timeout",
        "capping grpc-timeout is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c, hash_policy: [{header: {header_name: a}}, {connection_properties: {source_ip: true}}]}}",
        "route.hash_policy[0].terminal",
        "combining the hashes of several policies (mark all but the last terminal) is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c, hash_policy: [{cookie: {name: s, ttl: 10s}}]}}",
        "route.hash_policy[0].cookie.ttl",
        "Cookie.ttl is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c, metadata_match: {filter_metadata: {envoy.lb: {v: 1}}}}}",
        "route.metadata_match.filter_metadata.envoy.lb.v",
        "label values other than strings is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {weighted_clusters: {clusters: [{name: a, weight: 1}], total_weight: 100}}}",
        "route.weighted_clusters.total_weight",
        "the weights add up to 1, not 100",
    ),
    (
        "{match: {prefix: /}, route: {weighted_clusters: {clusters: [{name: a, weight: 1, host_rewrite_literal: h}]}}}",
        "route.weighted_clusters.clusters[0].host_rewrite_literal",
        "ClusterWeight.host_rewrite_literal is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c, retry_policy: {retry_on: envoy-ratelimited}}}",
        "route.retry_policy.retry_on",
        "retry condition \"envoy-ratelimited\" is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c, retry_policy: {retry_on: 5xx, retriable_headers: [{name: x}]}}}",
        "route.retry_policy.retriable_headers",
        "RetryPolicy.retriable_headers is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c, retry_policy: {retry_on: 5xx, retry_back_off: {base_interval: 1s, max_interval: 0.5s}}}}",
        "route.retry_policy.retry_back_off.max_interval",
        "must not be less than base_interval",
    ),
    (
        "{match: {prefix: /, query_parameters: [{name: q, string_match: {custom: {name: x}}}]}, route: {cluster: c}}",
        "match.query_parameters[0].string_match.custom",
        "custom string matcher x is not supported by mosn",
    ),
    (
        "{match: {prefix: /, runtime_fraction: {default_value: {numerator: 1}}}, route: {cluster: c}}",
        "match.runtime_fraction",
        "RouteMatch.runtime_fraction is not supported by mosn",
    ),
    (
        "{match: {prefix: /, headers: [{name: x, present_match: true, treat_missing_header_as_empty: true}]}, route: {cluster: c}}",
        "match.headers[0].treat_missing_header_as_empty",
        "HeaderMatcher.treat_missing_header_as_empty is not supported by mosn",
    ),
    (
        "{match: {prefix: /, headers: [{name: x, range_match: {start: 1, end: 5}}]}, route: {cluster: c}}",
        "match.headers[0].range_match",
        "matching a header by integer range is not supported by mosn",
    ),
    (
        "{match: {prefix: /, headers: [{name: ':method', exact_match: GET}]}, route: {cluster: c}}",
        "match.headers[0].name",
        "matching the :method header (mosn matches regular headers only) is not supported by mosn",
    ),
    (
        "{match: {prefix: /, headers: [{name: x, prefix_match: ''}]}, route: {cluster: c}}",
        "match.headers[0].prefix_match",
        "must not be empty",
    ),
    (
        "{match: {safe_regex: {regex: 'a{1000}{1000}'}}, route: {cluster: c}}",
        "match.safe_regex.regex",
        "invalid regex: Compiled regex exceeds size limit of 1048576 bytes.",
    ),
    (
        "{match: {path_separated_prefix: /a/}, route: {cluster: c}}",
        "match.path_separated_prefix",
        "must contain neither ? nor # and must not end with /",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c}, typed_per_filter_config: {envoy.filters.http.fault: \
         {'@type': type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault}}}",
        "typed_per_filter_config.envoy.filters.http.fault",
        "per-route config of filter envoy.filters.http.fault \
         (type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault) is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c}, request_headers_to_add: [{header: {key: x, value: '%DOWNSTREAM_REMOTE_ADDRESS%'}}]}",
        "request_headers_to_add[0].header.value",
        "the substitution command in \"%DOWNSTREAM_REMOTE_ADDRESS%\" (only %% may appear) is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c}, request_headers_to_add: [{header: {key: x, value: v}, append_action: ADD_IF_ABSENT}]}",
        "request_headers_to_add[0].append_action",
        "ADD_IF_ABSENT is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, route: {cluster: c}, request_headers_to_remove: [':path']}",
        "request_headers_to_remove[0]",
        ":path cannot be changed by header edits (Envoy refuses it too)",
    ),
    (
        "{match: {prefix: /}, redirect: {https_redirect: true, host_redirect: a, port_redirect: 8443}}",
        "redirect.port_redirect",
        "RedirectAction.port_redirect is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, direct_response: {status: 200, body: {filename: /etc/passwd}}}",
        "direct_response.body.filename",
        "a body read from a file is not supported by mosn",
    ),
    (
        "{match: {prefix: /}, direct_response: {status: 200}, response_headers_to_add: [{header: {key: x, value: y}}]}",
        "",
        "a redirect's or direct response's own response header edits (its virtual host's and route configuration's apply) is not supported by mosn",
    ),
];

#[test]
fn each_unsupported_route_field_refuses_the_configuration_by_path() {
    for (route, path, reason) in ROUTE_REFUSALS {
        let r = yaml(&format!(
            "name: r\nvirtual_hosts:\n- name: v\n  domains: ['*']\n  routes:\n  - {route}\n"
        ));
        let (got_path, got_reason) = refused(&r);
        let want_path = if path.is_empty() {
            "virtual_hosts[0].routes[0]".to_owned()
        } else {
            format!("virtual_hosts[0].routes[0].{path}")
        };
        assert_eq!(
            (got_path, got_reason.as_str()),
            (want_path, *reason),
            "{route}"
        );
    }
}

#[test]
fn each_unsupported_configuration_or_virtual_host_field_refuses_by_path() {
    let cases = [
        (
            "name: r\nvalidate_clusters: true\nvirtual_hosts: []",
            "validate_clusters",
            "refusing routes to clusters that do not exist (mosn loads them and answers 503) is not supported by mosn",
        ),
        (
            "name: r\ninternal_only_headers: [x]\nvirtual_hosts: []",
            "internal_only_headers",
            "RouteConfiguration.internal_only_headers is not supported by mosn",
        ),
        (
            "name: r\nmost_specific_header_mutations_wins: true\nvirtual_hosts: []",
            "most_specific_header_mutations_wins",
            "RouteConfiguration.most_specific_header_mutations_wins is not supported by mosn",
        ),
        (
            "name: r\nvirtual_hosts: [{name: v, domains: ['*'], require_tls: ALL}]",
            "virtual_hosts[0].require_tls",
            "VirtualHost.require_tls is not supported by mosn",
        ),
        (
            "name: r\nvirtual_hosts: [{name: v, domains: ['*'], rate_limits: [{actions: [{remote_address: {}}]}]}]",
            "virtual_hosts[0].rate_limits",
            "VirtualHost.rate_limits is not supported by mosn",
        ),
        (
            "name: r\nvirtual_hosts: [{name: v, domains: []}]",
            "virtual_hosts[0].domains",
            "a virtual host needs a domain",
        ),
        (
            "name: r\nmax_direct_response_body_size_bytes: 3\nvirtual_hosts: [{name: v, domains: ['*'], \
             routes: [{match: {prefix: /}, direct_response: {status: 200, body: {inline_string: abcd}}}]}]",
            "virtual_hosts[0].routes[0].direct_response.body",
            "longer than max_direct_response_body_size_bytes (3)",
        ),
        (
            "name: r\nvirtual_hosts: [{name: v, domains: ['*'], routes: [{match: {prefix: /}, \
             redirect: {https_redirect: true}, response_headers_to_remove: [x]}]}]",
            "virtual_hosts[0].routes[0]",
            "a redirect's or direct response's own response header edits (its virtual host's and route configuration's apply) is not supported by mosn",
        ),
    ];
    for (doc, path, reason) in cases {
        assert_eq!(
            refused(&yaml(doc)),
            (path.to_owned(), reason.to_owned()),
            "{doc}"
        );
    }
}
