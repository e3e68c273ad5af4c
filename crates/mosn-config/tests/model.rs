//! What valid configs turn into: defaults, MOSN's key and value spellings, warnings.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{base, config, parse_ok, proxy, set, warnings, with};
use mosn_config::{
    Address, CidrRange, ClusterTarget, ClusterType, Config, IoModel, LbType, LogLevel,
    NetworkFilterConfig, PathMatch, PortRange, Protocol, RouteAction, TcpProxyConfig, ValueMatch,
    REDACTED,
};
use serde_json::json;

fn tcp_proxy(config: &Config) -> &TcpProxyConfig {
    match &config.servers[0].listeners[1].filter_chains[0].filters[0] {
        NetworkFilterConfig::TcpProxy(p) => p,
        other => panic!("not a tcp_proxy: {other:?}"),
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

#[test]
fn base_config_and_defaults() {
    let parsed = parse_ok(&base().to_string());
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let c = parsed.config;
    assert_eq!(c.admin, Some(addr("127.0.0.1:34901")));
    assert_eq!(c.pid_file, None);

    let server = &c.servers[0];
    assert_eq!(server.default_log_path.as_deref(), Some("stdout"));
    assert_eq!(server.default_log_level, None);
    assert_eq!(server.processor, None);
    assert_eq!(server.graceful_timeout, Duration::from_secs(30));

    let http = &server.listeners[0];
    assert_eq!(http.name, "http");
    assert_eq!(http.address, Address::Tcp(addr("127.0.0.1:2045")));
    assert!(http.bind_port);
    assert_eq!(http.connection_idle_timeout, None);
    let p = proxy(&c);
    assert_eq!(p.downstream_protocol, Protocol::Http1);
    assert_eq!(p.upstream_protocol, Protocol::Http1);
    assert_eq!(p.router_config_name, "r");
    assert_eq!(p.request_header_timeout, Duration::from_secs(60));
    assert_eq!(p.max_request_header_bytes, 61440);
    assert_eq!(p.max_request_headers, 100);
    // MOSN's failure handling: its own statuses, one free resend after a reset.
    assert_eq!(p.upstream_failure_status, None);
    assert!(p.free_reset_retry);
    assert_eq!(p.envoy_headers, Default::default());
    assert_eq!(p.server_name, None);

    let t = tcp_proxy(&c);
    assert_eq!(t.cluster.as_deref(), Some("c"));
    assert!(t.routes.is_empty());
    assert_eq!(t.idle_timeout, None);
    assert_eq!(t.max_connect_attempts, 1);

    let router = &server.routers[0];
    assert_eq!(router.name, "r");
    let vh = &router.virtual_hosts[0];
    assert_eq!(vh.name, "vh");
    assert_eq!(vh.domains, ["*"]);
    let route = &vh.routes[0];
    assert!(matches!(&route.matcher.path, PathMatch::Prefix(p) if p == "/"));
    assert!(route.matcher.headers.is_empty());
    let RouteAction::Forward(forward) = &route.action else {
        panic!("not a forward route")
    };
    assert!(matches!(&forward.target, ClusterTarget::Single(n) if n == "c"));
    assert_eq!(forward.timeout, None);

    let cluster = &c.clusters[0];
    assert_eq!(cluster.name, "c");
    assert_eq!(cluster.cluster_type, ClusterType::Simple);
    assert_eq!(cluster.lb_type, LbType::RoundRobin);
    assert_eq!(cluster.connect_timeout, Duration::from_secs(3));
    assert_eq!(cluster.idle_timeout, Duration::from_secs(60));
    assert_eq!(cluster.max_request_per_conn, 0);
    assert_eq!(cluster.conn_buffer_limit_bytes, 32768);
    assert_eq!(
        cluster.hosts[0].address,
        Address::Tcp(addr("127.0.0.1:8080"))
    );
    assert_eq!(cluster.hosts[0].weight, 1);
    assert_eq!(cluster.hosts[0].hostname, None);
}

#[test]
fn keys_are_case_insensitive_and_the_last_one_wins() {
    let text = base()
        .to_string()
        .replace(r#""name":"c""#, r#""Name":"first","NAME":"c""#)
        .replace(
            r#""address":"127.0.0.1:2045""#,
            r#""Address":"127.0.0.1:9","ADDRESS":"127.0.0.1:2045""#,
        )
        .replace(
            r#""downstream_protocol":"Http1""#,
            r#""Downstream_Protocol":"HTTP1""#,
        );
    assert!(text.contains(r#""NAME":"c""#), "replacement applied");
    let parsed = parse_ok(&text);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(parsed.config.clusters[0].name, "c");
    assert_eq!(
        parsed.config.servers[0].listeners[0].address,
        Address::Tcp(addr("127.0.0.1:2045"))
    );
    assert_eq!(proxy(&parsed.config).downstream_protocol, Protocol::Http1);

    // Go's folding also matches the Kelvin sign and the long s.
    let text = base()
        .to_string()
        .replace(r#""hosts""#, "\"\u{017F}\u{212A}ip\"")
        .replace(
            r#""cluster_manager":{"clusters":[{"#,
            r#""cluster_manager":{"clusters":[{"hosts":[],"#,
        );
    let parsed = parse_ok(&text);
    assert!(parsed.config.clusters[0].hosts.is_empty());
    assert_eq!(
        parsed.warnings[0].to_string(),
        "cluster_manager.clusters[0].\u{017F}\u{212A}ip: unknown key, ignored"
    );
}

#[test]
fn null_counts_as_unset() {
    let c = config(&with("@cluster/connect_timeout", serde_json::Value::Null));
    assert_eq!(c.clusters[0].connect_timeout, Duration::from_secs(3));
}

#[test]
fn unknown_and_ignored_keys_warn_with_their_path() {
    let mut doc = base();
    set(
        &mut doc,
        "/Tracing",
        Some(json!({"enable": true, "driver": "SOFATracer"})),
    );
    set(&mut doc, "/frobnicate", Some(json!(1)));
    set(&mut doc, "@http/Colour", Some(json!("blue")));
    set(&mut doc, "@route/match/prefx", Some(json!("/a")));
    set(&mut doc, "@host/weight", Some(json!(500)));
    set(&mut doc, "@tcp/bind_port", None);
    set(
        &mut doc,
        "/metrics",
        Some(json!({"sinks": [{"type": "prometheus"}]})),
    );
    set(&mut doc, "/disable_upgrade", Some(json!(true)));
    set(&mut doc, "@http/log_path", Some(json!("stdout")));
    set(
        &mut doc,
        "@cluster/keepalive",
        Some(json!({"interval": "5s"})),
    );
    set(&mut doc, "@cluster/circuit_breakers", Some(json!([])));
    set(
        &mut doc,
        "@cluster/tls_context",
        Some(json!({"status": false, "ca_cert": "x"})),
    );
    set(
        &mut doc,
        "@http/filter_chains/0/tls_context",
        Some(json!({})),
    );
    let mut got = warnings(&doc.to_string());
    got.sort();
    let mut expected = vec![
        // Known keys are reported under their canonical spelling.
        "tracing: tracing is not supported yet, ignored",
        "frobnicate: unknown key, ignored",
        "metrics: metrics sinks are not supported yet, ignored",
        "servers[0].listeners[0].Colour: unknown key, ignored",
        "servers[0].routers[0].virtual_hosts[0].routers[0].match.prefx: unknown key, ignored",
        "cluster_manager.clusters[0].hosts[0].weight: weight 500 is outside 1..=128, using 128",
        r#"servers[0].listeners[1].bind_port: not set: MOSN does not open the socket of a listener without "bind_port": true"#,
        "cluster_manager.clusters[0].keepalive: keepalive (RPC heartbeats) is not supported yet, ignored",
    ];
    expected.sort();
    assert_eq!(got, expected);
    let c = config(&doc.to_string());
    assert_eq!(c.clusters[0].hosts[0].weight, 128);
    assert!(!c.servers[0].listeners[1].bind_port);
}

#[test]
fn host_weights_are_clamped_like_mosn() {
    let c = config(&with("@host/weight", json!(0)));
    assert_eq!(c.clusters[0].hosts[0].weight, 1);
    let c = config(&with("@host/weight", json!(7)));
    assert_eq!(c.clusters[0].hosts[0].weight, 7);
}

#[test]
fn domains_are_lower_cased_and_wildcards_accepted() {
    let c = config(&with(
        "@vhost/domains",
        json!([
            "*.Example.com",
            "*-bar.example.com",
            "example.*",
            "A.com:8080",
            "b.com",
            "*"
        ]),
    ));
    assert_eq!(
        c.servers[0].routers[0].virtual_hosts[0].domains,
        [
            "*.example.com",
            "*-bar.example.com",
            "example.*",
            "a.com:8080",
            "b.com",
            "*"
        ]
    );
}

#[test]
fn header_edits_at_every_level() {
    let mut doc = base();
    let add = json!([
        {"header": {"key": "X-One", "value": "1"}},
        {"header": {"key": "x-two", "value": "2"}, "append": false}
    ]);
    set(
        &mut doc,
        "@router/request_headers_to_add",
        Some(add.clone()),
    );
    set(
        &mut doc,
        "@vhost/response_headers_to_add",
        Some(add.clone()),
    );
    set(
        &mut doc,
        "@vhost/response_headers_to_remove",
        Some(json!(["Server"])),
    );
    set(&mut doc, "@route/route/request_headers_to_add", Some(add));
    set(
        &mut doc,
        "@route/route/request_headers_to_remove",
        Some(json!(["Cookie"])),
    );
    let c = config(&doc.to_string());
    let router = &c.servers[0].routers[0];
    let adds = &router.headers.request_headers_to_add;
    assert_eq!(adds.len(), 2);
    assert_eq!(
        (
            adds[0].name.as_str(),
            adds[0].value.as_str(),
            adds[0].append
        ),
        ("x-one", "1", true)
    );
    assert_eq!(
        (
            adds[1].name.as_str(),
            adds[1].value.as_str(),
            adds[1].append
        ),
        ("x-two", "2", false)
    );
    let vh = &router.virtual_hosts[0];
    assert_eq!(vh.headers.response_headers_to_add, *adds);
    assert_eq!(vh.headers.response_headers_to_remove, ["server"]);
    let RouteAction::Forward(forward) = &vh.routes[0].action else {
        panic!("forward")
    };
    assert_eq!(forward.headers.request_headers_to_add, *adds);
    assert_eq!(forward.headers.request_headers_to_remove, ["cookie"]);
}

#[test]
fn route_matches_and_actions() {
    let routes = json!([
        {"match": {"path": "/exact"}, "route": {"cluster_name": "c", "timeout": "1.5s",
            "prefix_rewrite": "/new", "host_rewrite": "up.example"}},
        {"match": {"regex": "^/r/[0-9]+$", "headers": [
            {"name": "X-Env", "value": "prod"},
            {"name": "X-Ver", "value": "v[12]", "regex": true}]},
         "route": {"weighted_clusters": [
            {"cluster": {"name": "c", "weight": 90}}, {"cluster": {"name": "c", "weight": 10}}]}},
        {"match": {"headers": [{"name": "service", "value": ".*"}]},
         "direct_response": {"status": 503, "body": "down"}},
        {"match": {"prefix": "/old"}, "redirect": {"path_redirect": "/new", "scheme_redirect": "HTTPS"}},
        {"match": {"prefix": "/tmp"}, "redirect": {"response_code": 307, "host_redirect": "b.example"}}
    ]);
    let c = config(&with("@vhost/routers", routes));
    let routes = &c.servers[0].routers[0].virtual_hosts[0].routes;

    assert!(matches!(&routes[0].matcher.path, PathMatch::Exact(p) if p == "/exact"));
    let RouteAction::Forward(f) = &routes[0].action else {
        panic!("forward")
    };
    assert_eq!(f.timeout, Some(Duration::from_millis(1500)));
    assert_eq!(f.prefix_rewrite.as_deref(), Some("/new"));
    assert_eq!(f.host_rewrite.as_deref(), Some("up.example"));

    let PathMatch::Regex(re) = &routes[1].matcher.path else {
        panic!("regex")
    };
    assert!(re.is_match("/r/42") && !re.is_match("/r/x"));
    let headers = &routes[1].matcher.headers;
    assert_eq!(headers[0].name, "x-env");
    assert!(matches!(&headers[0].value, ValueMatch::Exact(v) if v == "prod"));
    assert_eq!(headers[1].name, "x-ver");
    assert!(matches!(&headers[1].value, ValueMatch::Regex(r) if r.is_match("v2")));
    let RouteAction::Forward(f) = &routes[1].action else {
        panic!("forward")
    };
    let ClusterTarget::Weighted(w) = &f.target else {
        panic!("weighted")
    };
    assert_eq!(w.iter().map(|c| c.weight).collect::<Vec<_>>(), [90, 10]);

    assert!(matches!(routes[2].matcher.path, PathMatch::Any));
    // Without "regex": true a value is compared exactly, as in MOSN.
    assert!(matches!(&routes[2].matcher.headers[0].value, ValueMatch::Exact(v) if v == ".*"));
    assert!(matches!(&routes[2].action,
        RouteAction::DirectResponse { status: 503, body: Some(b) } if b == "down"));

    let RouteAction::Redirect(r) = &routes[3].action else {
        panic!("redirect")
    };
    assert_eq!(r.response_code, 301);
    assert_eq!(r.path_redirect.as_deref(), Some("/new"));
    assert_eq!(r.scheme_redirect.as_deref(), Some("https"));
    let RouteAction::Redirect(r) = &routes[4].action else {
        panic!("redirect")
    };
    assert_eq!(r.response_code, 307);
    assert_eq!(r.host_redirect.as_deref(), Some("b.example"));
}

#[test]
fn tcp_proxy_routes_in_mosn_and_envoy_spelling() {
    let routes = json!([
        {"Cluster": "c",
         "SourceAddrs": [{"address": "10.1.2.3", "length": 8}, {"address": "::1"}],
         "DestinationAddrs": [{"address": "192.168.0.1", "length": 32}],
         "SourcePort": "8000-9000", "DestinationPort": "80"},
        {"cluster": "c", "source_addrs": ["172.16.0.0/12", "10.0.0.1"],
         "destination_addrs": ["fd00::/8"], "source_port": "", "destination_port": "443"}
    ]);
    let mut doc = base();
    set(&mut doc, "@tcpproxy/routes", Some(routes));
    set(
        &mut doc,
        "@tcpproxy/idle_timeout",
        Some(json!(5_000_000_000u64)),
    );
    set(&mut doc, "@tcpproxy/max_connect_attempts", Some(json!(3)));
    let c = config(&doc.to_string());
    let t = tcp_proxy(&c);
    assert_eq!(t.idle_timeout, Some(Duration::from_secs(5)));
    assert_eq!(t.max_connect_attempts, 3);
    let cidr = |a: &str, len| CidrRange {
        address: a.parse().expect("ip"),
        prefix_len: len,
    };
    let r0 = &t.routes[0];
    assert_eq!(r0.cluster, "c");
    assert_eq!(r0.source_addrs, [cidr("10.0.0.0", 8), cidr("::1", 128)]);
    assert_eq!(r0.destination_addrs, [cidr("192.168.0.1", 32)]);
    assert_eq!(
        r0.source_port,
        Some(PortRange {
            start: 8000,
            end: 9000
        })
    );
    assert_eq!(r0.destination_port, Some(PortRange { start: 80, end: 80 }));
    let r1 = &t.routes[1];
    assert_eq!(
        r1.source_addrs,
        [cidr("172.16.0.0", 12), cidr("10.0.0.1", 32)]
    );
    assert_eq!(r1.destination_addrs, [cidr("fd00::", 8)]);
    assert_eq!(r1.source_port, None);
    assert_eq!(
        r1.destination_port,
        Some(PortRange {
            start: 443,
            end: 443
        })
    );

    let c = config(&with("@tcpproxy/idle_timeout", json!("90s")));
    assert_eq!(tcp_proxy(&c).idle_timeout, Some(Duration::from_secs(90)));
}

#[test]
fn unix_sockets_for_listeners_and_hosts() {
    let mut doc = base();
    set(&mut doc, "@tcp/address", Some(json!("/tmp/mosn-test.sock")));
    set(&mut doc, "@tcp/network", Some(json!("UNIX")));
    set(
        &mut doc,
        "@http/address",
        Some(json!("unix:/tmp/mosn-http.sock")),
    );
    set(&mut doc, "@host/address", Some(json!("unix:/tmp/up.sock")));
    let c = config(&doc.to_string());
    assert_eq!(
        c.servers[0].listeners[1].address,
        Address::Unix("/tmp/mosn-test.sock".into())
    );
    assert_eq!(
        c.servers[0].listeners[0].address,
        Address::Unix("/tmp/mosn-http.sock".into())
    );
    assert_eq!(
        c.clusters[0].hosts[0].address,
        Address::Unix("/tmp/up.sock".into())
    );

    let c = config(&with("@http/address", json!("[::1]:8080")));
    assert_eq!(
        c.servers[0].listeners[0].address,
        Address::Tcp(addr("[::1]:8080"))
    );
}

#[test]
fn server_settings() {
    let mut doc = base();
    set(&mut doc, "@server/default_log_level", Some(json!("fatal")));
    set(&mut doc, "@server/processor", Some(json!("4")));
    set(&mut doc, "@server/graceful_timeout", Some(json!("1h30m")));
    set(&mut doc, "/pid", Some(json!("/var/run/mosn.pid")));
    let c = config(&doc.to_string());
    let s = &c.servers[0];
    assert_eq!(s.default_log_level, Some(LogLevel::Error));
    assert_eq!(s.processor, Some(4));
    assert_eq!(s.graceful_timeout, Duration::from_secs(5400));
    assert_eq!(
        c.pid_file.as_deref(),
        Some(std::path::Path::new("/var/run/mosn.pid"))
    );

    for (level, expected) in [
        ("TRACE", LogLevel::Trace),
        ("debug", LogLevel::Debug),
        ("Info", LogLevel::Info),
        ("WARN", LogLevel::Warn),
        ("ERROR", LogLevel::Error),
    ] {
        let c = config(&with("@server/default_log_level", json!(level)));
        assert_eq!(c.servers[0].default_log_level, Some(expected), "{level}");
    }
    assert_eq!(
        config(&with("@server/processor", json!(8))).servers[0].processor,
        Some(8)
    );
    assert_eq!(
        config(&with("@server/processor", json!("AUTO"))).servers[0].processor,
        None
    );
    assert_eq!(s.io_model, IoModel::ThreadPerCore, "the default");
    for (name, model) in [
        ("thread_per_core", IoModel::ThreadPerCore),
        ("work_stealing", IoModel::WorkStealing),
    ] {
        let c = config(&with("@server/io_model", json!(name)));
        assert_eq!(c.servers[0].io_model, model, "{name}");
    }
}

#[test]
fn cluster_settings() {
    let mut doc = base();
    set(&mut doc, "@cluster/type", Some(json!("STATIC")));
    set(&mut doc, "@cluster/lb_type", Some(json!("LB_RANDOM")));
    set(&mut doc, "@cluster/connect_timeout", Some(json!("500ms")));
    set(&mut doc, "@cluster/idle_timeout", Some(json!("2m")));
    set(&mut doc, "@cluster/max_request_per_conn", Some(json!(1024)));
    set(
        &mut doc,
        "@cluster/conn_buffer_limit_bytes",
        Some(json!(65536)),
    );
    set(&mut doc, "@host/hostname", Some(json!("up-1")));
    set(
        &mut doc,
        "/cluster_manager/clusters/1",
        Some(json!({"name": "empty"})),
    );
    let c = config(&doc.to_string());
    let cl = &c.clusters[0];
    assert_eq!(cl.cluster_type, ClusterType::Simple);
    assert_eq!(cl.lb_type, LbType::Random);
    assert_eq!(cl.connect_timeout, Duration::from_millis(500));
    assert_eq!(cl.idle_timeout, Duration::from_secs(120));
    assert_eq!(cl.max_request_per_conn, 1024);
    assert_eq!(cl.conn_buffer_limit_bytes, 65536);
    assert_eq!(cl.hosts[0].hostname.as_deref(), Some("up-1"));
    assert!(c.clusters[1].hosts.is_empty());
}

#[test]
fn admin_variants() {
    assert_eq!(
        config(&with(
            "/admin/address/socket_address/address",
            json!("0.0.0.0")
        ))
        .admin,
        Some(addr("0.0.0.0:34901"))
    );
    assert_eq!(
        config(&with("/admin/address/socket_address/address", json!(""))).admin,
        Some(addr("0.0.0.0:34901"))
    );
    let mut doc = base();
    set(&mut doc, "/admin", None);
    assert_eq!(config(&doc.to_string()).admin, None);
    assert_eq!(
        warnings(&with("/admin", json!({}))),
        ["admin: no address, the admin API is disabled"]
    );
}

#[test]
fn redacted_json_hides_private_keys() {
    let mut doc = base();
    set(
        &mut doc,
        "@http/filter_chains/0/tls_context",
        Some(json!({"status": false, "private_key": "PEM", "key": "k"})),
    );
    let c = config(&doc.to_string());
    let dumped = &c.redacted_json;
    let tls = dumped
        .pointer("/servers/0/listeners/0/filter_chains/0/tls_context")
        .expect("kept");
    assert_eq!(
        tls,
        &json!({"status": false, "private_key": REDACTED, "key": REDACTED})
    );
    assert_eq!(
        dumped.pointer("/cluster_manager/clusters/0/name"),
        Some(&json!("c"))
    );
}

#[test]
fn load_balancer_types_and_tuning() {
    for (name, lb) in [
        ("LB_ROUNDROBIN", LbType::RoundRobin),
        ("LB_RANDOM", LbType::Random),
        ("LB_WEIGHTED_ROUNDROBIN", LbType::WeightedRoundRobin),
        ("LB_LEAST_REQUEST", LbType::LeastRequest),
        ("LB_LEAST_CONNECTION", LbType::LeastConnection),
        ("LB_MAGLEV", LbType::Maglev),
        ("LB_RING_HASH", LbType::RingHash),
        ("LB_PEAK_EWMA", LbType::PeakEwma),
        ("LB_REQUEST_ROUNDROBIN", LbType::RequestRoundRobin),
    ] {
        let c = config(&with("@cluster/lb_type", json!(name)));
        assert_eq!(c.clusters[0].lb_type, lb, "{name}");
        assert_eq!(c.clusters[0].lb_config, mosn_config::LbConfig::default());
    }
    let defaults = mosn_config::LbConfig::default();
    assert_eq!(defaults.choice_count, 2);
    assert_eq!(defaults.active_request_bias, 1.0);
    assert_eq!(defaults.maglev_table_size, 65_537);
    assert_eq!(defaults.ring_hash_min_size, 1024);
    assert_eq!(defaults.ring_hash_max_size, 8 * 1024 * 1024);

    // MOSN's `lbconfig` (any case, as Go's decoder matches keys).
    let mut doc = base();
    set(
        &mut doc,
        "@cluster/lb_type",
        Some(json!("LB_LEAST_REQUEST")),
    );
    set(
        &mut doc,
        "@cluster/LbConfig",
        Some(json!({"choice_count": 3, "active_request_bias": 0.5})),
    );
    let parsed = parse_ok(&doc.to_string());
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let lb = parsed.config.clusters[0].lb_config;
    assert_eq!((lb.choice_count, lb.active_request_bias), (3, 0.5));
    // Integers are numbers too, as for Go's *float64.
    let c = config(&with(
        "@cluster/lbconfig",
        json!({"active_request_bias": 2}),
    ));
    assert_eq!(c.clusters[0].lb_config.active_request_bias, 2.0);
    // The error biases only matter to LB_PEAK_EWMA (refused there).
    let c = config(&with(
        "@cluster/lbconfig",
        json!({"client_error_bias": 2.0}),
    ));
    assert_eq!(c.clusters[0].lb_config, defaults);

    // Envoy's sections, as mosn-rs extensions.
    let mut doc = base();
    set(&mut doc, "@cluster/lb_type", Some(json!("LB_MAGLEV")));
    set(
        &mut doc,
        "@cluster/maglev_lb_config",
        Some(json!({"table_size": 5_000_011})),
    );
    let parsed = parse_ok(&doc.to_string());
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(
        parsed.config.clusters[0].lb_config.maglev_table_size,
        5_000_011
    );
    let mut doc = base();
    set(&mut doc, "@cluster/lb_type", Some(json!("LB_RING_HASH")));
    set(
        &mut doc,
        "@cluster/ring_hash_lb_config",
        Some(json!({"minimum_ring_size": 1600, "maximum_ring_size": 4096})),
    );
    let lb = config(&doc.to_string()).clusters[0].lb_config;
    assert_eq!((lb.ring_hash_min_size, lb.ring_hash_max_size), (1600, 4096));
}

#[test]
fn load_balancer_tuning_warnings() {
    let mut doc = base();
    set(
        &mut doc,
        "@cluster/ring_hash_lb_config",
        Some(json!({"minimum_ring_size": 2048})),
    );
    set(
        &mut doc,
        "@cluster/maglev_lb_config",
        Some(json!({"table_size": 7})),
    );
    set(
        &mut doc,
        "@cluster/lb_config",
        Some(json!({"choice_count": 3})),
    );
    let mut got = warnings(&doc.to_string());
    got.sort();
    assert_eq!(
        got,
        [
            "cluster_manager.clusters[0].lb_config: not a MOSN key (MOSN reads lbconfig), ignored",
            "cluster_manager.clusters[0].maglev_lb_config: only used with lb_type LB_MAGLEV, ignored",
            "cluster_manager.clusters[0].ring_hash_lb_config: only used with lb_type LB_RING_HASH, ignored",
        ]
    );
}

#[test]
fn route_hash_policies() {
    use mosn_config::HashPolicy;
    let forward = |policies: serde_json::Value| {
        let parsed = parse_ok(&with("@route/route/hash_policy", policies));
        let warnings: Vec<String> = parsed.warnings.iter().map(ToString::to_string).collect();
        match &parsed.config.servers[0].routers[0].virtual_hosts[0].routes[0].action {
            RouteAction::Forward(f) => (f.hash_policy.clone(), warnings),
            other => panic!("not a forward: {other:?}"),
        }
    };
    let (policies, warnings) = forward(json!([
        {"header": {"key": "X-User"}},
        {"cookie": {"name": "sid", "path": "/", "ttl": "1h"}},
        {"source_ip": {}},
    ]));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        policies,
        [
            HashPolicy::Header("x-user".into()),
            HashPolicy::Cookie("sid".into()),
            HashPolicy::SourceIp,
        ]
    );
    // An entry naming nothing: MOSN hashes the source IP.
    let (policies, warnings) = forward(json!([{}]));
    assert_eq!(policies, [HashPolicy::SourceIp]);
    assert_eq!(
        warnings,
        ["servers[0].routers[0].virtual_hosts[0].routers[0].route.hash_policy[0]: names none of header, cookie or source_ip; the client's IP is hashed, as in MOSN"]
    );
    // Absent: empty (the router then hashes the client's IP, MOSN's default).
    match &config(&base().to_string()).servers[0].routers[0].virtual_hosts[0].routes[0].action {
        RouteAction::Forward(f) => assert!(f.hash_policy.is_empty()),
        other => panic!("not a forward: {other:?}"),
    }
    assert!(LbType::Maglev.uses_hash_key() && LbType::RingHash.uses_hash_key());
    assert!(!LbType::LeastRequest.uses_hash_key());
}

#[test]
fn dns_clusters() {
    use mosn_config::{DnsLookupFamily, DnsTarget};
    let mut doc = base();
    set(
        &mut doc,
        "@cluster",
        Some(json!({
            "name": "c",
            "type": "STRICT_DNS",
            "hosts": [
                {"address": "backend.test:8080", "weight": 3},
                {"address": "other.test", "hostname": "o"}
            ],
            "dns_refresh_rate": "500ms",
            "respect_dns_ttl": true,
            "dns_lookup_family": "V6_ONLY",
            "dns_resolvers": {"servers": ["127.0.0.1:5353", "10.0.0.1"], "port": "54", "ndots": 2}
        })),
    );
    let parsed = parse_ok(&doc.to_string());
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let cl = &parsed.config.clusters[0];
    assert_eq!(cl.cluster_type, ClusterType::StrictDns);
    assert!(cl.hosts.is_empty());
    let dns = cl.dns.as_ref().expect("dns settings");
    assert_eq!(
        dns.targets,
        vec![
            DnsTarget {
                name: "backend.test".into(),
                port: 8080,
                hostname: Some("backend.test".into()),
                weight: 3
            },
            DnsTarget {
                name: "other.test".into(),
                port: 80,
                hostname: Some("o".into()),
                weight: 1
            },
        ]
    );
    assert_eq!(dns.refresh_rate, Duration::from_millis(500));
    assert!(dns.respect_dns_ttl);
    assert_eq!(dns.lookup_family, DnsLookupFamily::V6Only);
    assert_eq!(
        dns.nameservers,
        vec![addr("127.0.0.1:5353"), addr("10.0.0.1:54")]
    );

    // MOSN's defaults; the system resolver when none is configured.
    let mut doc = base();
    set(
        &mut doc,
        "@cluster",
        Some(json!({"name": "c", "type": "LOGICAL_DNS", "hosts": [{"address": "a.test:1"}]})),
    );
    let c = config(&doc.to_string());
    assert_eq!(c.clusters[0].cluster_type, ClusterType::LogicalDns);
    let dns = c.clusters[0].dns.as_ref().expect("dns settings");
    assert_eq!(dns.refresh_rate, Duration::from_secs(5));
    assert!(!dns.respect_dns_ttl);
    assert_eq!(dns.lookup_family, DnsLookupFamily::V4Only);
    assert!(dns.nameservers.is_empty());

    // A static cluster ignores the DNS keys, as MOSN does, with a warning.
    let got = warnings(&with("@cluster/dns_refresh_rate", json!("1s")));
    assert_eq!(
        got,
        vec![
            "cluster_manager.clusters[0].dns_refresh_rate: ignored: only STRICT_DNS and \
             LOGICAL_DNS clusters resolve names"
        ]
    );
    assert!(config(&base().to_string()).clusters[0].dns.is_none());
}

#[test]
fn original_dst_clusters_and_redirect_listeners() {
    let mut doc = base();
    set(&mut doc, "@cluster/type", Some(json!("ORIGINAL_DST")));
    set(&mut doc, "@cluster/lb_type", Some(json!("LB_ORIGINAL_DST")));
    set(&mut doc, "@cluster/hosts", Some(json!([])));
    set(
        &mut doc,
        "@cluster/original_dst_lb_config",
        Some(json!({ "use_header": true, "header_name": "X-Dst", "replace_local": true })),
    );
    set(&mut doc, "@http/use_original_dst", Some(json!("redirect")));
    let cfg = config(&doc.to_string());
    let cluster = &cfg.clusters[0];
    assert_eq!(cluster.cluster_type, ClusterType::OriginalDst);
    assert_eq!(cluster.lb_type, LbType::OriginalDst);
    let od = cluster.original_dst.as_ref().expect("original_dst config");
    assert!(od.use_header && od.replace_local);
    assert_eq!(od.header_name, "x-dst", "header names are lower-cased");
    assert!(cfg.servers[0].listeners[0].use_original_dst);
}
