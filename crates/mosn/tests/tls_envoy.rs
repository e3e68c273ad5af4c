//! Envoy 1.40 as the TLS peer both ways: Envoy as the client of a mosn TLS listener
//! (mTLS, SNI), and a mosn cluster with `tls_context` as the client of an Envoy TLS
//! listener (mTLS, SNI, CA check, HTTPS health checks), beside a plaintext host opted out
//! with `tls_disable`.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;

fn file(p: &std::path::Path) -> Value {
    json!({ "filename": p.to_str().unwrap() })
}

fn tls_certs(leaf: &Leaf, ca: &std::path::Path) -> Value {
    json!({
        "tls_certificates": [{ "certificate_chain": file(&leaf.cert), "private_key": file(&leaf.key) }],
        "validation_context": { "trusted_ca": file(ca) }
    })
}

fn hcm(route: Value) -> Value {
    json!({
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": "t",
            "route_config": { "virtual_hosts": [{ "name": "all", "domains": ["*"], "routes": [ route ] }] },
            "http_filters": [{ "name": "envoy.filters.http.router", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }]
        }
    })
}

fn socket(port: u16) -> Value {
    json!({ "socket_address": { "address": "127.0.0.1", "port_value": port } })
}

#[test]
fn envoy_is_an_mtls_client_of_a_mosn_listener() {
    let pki = TestPki::new();
    let server = pki.leaf("proxy.test", &["DNS:proxy.test"], 30);
    let client = pki.leaf(
        "envoy",
        &["URI:spiffe://cluster.local/ns/default/sa/envoy"],
        30,
    );
    let ca = pki.ca();
    let (mosn_port, admin, upstream, envoy_port) =
        (free_port(), free_port(), free_port(), free_port());
    let _nginx = Nginx::echo(upstream);
    let mut cfg = forward_config(mosn_port, admin, upstream);
    cfg["servers"][0]["listeners"][0]["filter_chains"][0]["tls_context"] = server_tls(
        &server,
        json!({
            "ca_cert": ca.to_str().unwrap(),
            "verify_client": true,
            "require_client_cert": true,
            "extend_verify": { "spiffe_ids": ["spiffe://cluster.local/ns/default/sa/envoy"] },
        }),
    );
    let mosn = Mosn::start(&cfg);
    let envoy_cfg = json!({
        "static_resources": {
            "listeners": [{
                "name": "in", "address": socket(envoy_port),
                "filter_chains": [{ "filters": [ hcm(json!({ "match": { "prefix": "/" }, "route": { "cluster": "mosn" } })) ] }]
            }],
            "clusters": [{
                "name": "mosn", "type": "STATIC", "connect_timeout": "2s",
                "load_assignment": { "cluster_name": "mosn", "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": socket(mosn_port) } }] }] },
                "transport_socket": { "name": "envoy.transport_sockets.tls", "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                    "sni": "proxy.test",
                    "common_tls_context": tls_certs(&client, &ca)
                } }
            }]
        }
    });
    let _envoy = envoy(&envoy_cfg, &[envoy_port]);
    for _ in 0..3 {
        let got = curl(&[&format!("http://127.0.0.1:{envoy_port}/small")]);
        assert_eq!(got.status, 200, "{}", got.stderr);
        assert_eq!(got.text(), SMALL_BODY);
    }
    assert!(mosn.stat("listener", "test_listener", "ssl_handshake") >= 1);
    assert_eq!(
        mosn.stat("listener", "test_listener", "downstream_rq_2xx"),
        3
    );
}

#[test]
fn mosn_cluster_tls_reaches_an_envoy_tls_listener_and_tls_disable_hosts_stay_plain() {
    let pki = TestPki::new();
    let envoy_leaf = pki.leaf("backend.test", &["DNS:backend.test"], 30);
    let mosn_client = pki.leaf(
        "mosn",
        &["URI:spiffe://cluster.local/ns/default/sa/mosn"],
        20,
    );
    let ca = pki.ca();
    let (mosn_port, admin, envoy_port, plain) =
        (free_port(), free_port(), free_port(), free_port());
    let _nginx = Nginx::echo(plain);
    let envoy_cfg = json!({
        "static_resources": {
            "listeners": [{
                "name": "tls", "address": socket(envoy_port),
                "filter_chains": [{
                    "filters": [ hcm(json!({ "match": { "prefix": "/" }, "direct_response": { "status": 200, "body": { "inline_string": "from envoy over mtls" } } })) ],
                    "transport_socket": { "name": "envoy.transport_sockets.tls", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                        "require_client_certificate": true,
                        "common_tls_context": tls_certs(&envoy_leaf, &ca)
                    } }
                }]
            }]
        }
    });
    let _envoy = envoy(&envoy_cfg, &[envoy_port]);
    let mut tls_cluster = cluster("envoy", &[local(envoy_port)]);
    tls_cluster["tls_context"] = json!({
        "status": true,
        "server_name": "backend.test",
        "ca_cert": ca.to_str().unwrap(),
        "cert_chain": mosn_client.cert.to_str().unwrap(),
        "private_key": mosn_client.key.to_str().unwrap(),
        "alpn": "http/1.1",
    });
    // HTTPS health checks use the cluster's context.
    tls_cluster["health_check"] = json!({
        "protocol": "Http1",
        "service_name": "hc",
        "timeout": "1s",
        "interval": "200ms",
        "initial_delay_seconds": "100ms",
        "healthy_threshold": 1,
        "unhealthy_threshold": 1,
        "check_config": { "http_check_config": { "scheme": "https", "path": "/healthz" } }
    });
    let mut mixed = cluster("mixed", &[local(plain)]);
    mixed["tls_context"] = tls_cluster["tls_context"].clone();
    mixed["hosts"][0]["tls_disable"] = json!(true);
    let vhosts = json!([{
        "name": "all", "domains": ["*"],
        "routers": [
            { "match": { "prefix": "/plain" }, "route": { "cluster_name": "mixed", "prefix_rewrite": "/small" } },
            { "match": { "prefix": "/" }, "route": { "cluster_name": "envoy" } }
        ]
    }]);
    let cfg = http_config(
        local(mosn_port),
        Some(admin),
        vhosts,
        json!([tls_cluster, mixed]),
        json!({}),
        json!({}),
    );
    let mosn = Mosn::start(&cfg);
    for _ in 0..3 {
        let got = curl(&[&format!("http://127.0.0.1:{mosn_port}/")]);
        assert_eq!(got.status, 200, "{}", got.stderr);
        assert_eq!(got.text(), "from envoy over mtls");
    }
    let plain_got = curl(&[&format!("http://127.0.0.1:{mosn_port}/plain")]);
    assert_eq!(plain_got.status, 200, "{}", plain_got.stderr);
    assert_eq!(plain_got.text(), SMALL_BODY);
    assert!(mosn.stat("cluster", "envoy", "ssl_handshake") >= 1);
    assert_eq!(mosn.stat("cluster", "mixed", "ssl_handshake"), 0);
    mosn.wait_stat(
        "cluster",
        "envoy",
        "health_check_success",
        Duration::from_secs(10),
        |n| n >= 2,
    );
    assert_eq!(mosn.stat("cluster", "envoy", "health_check_failure"), 0);
    let days = mosn.stat("cluster", "envoy", "ssl_days_until_first_cert_expiring");
    assert!(
        (18..=20).contains(&days),
        "client certificate expiry gauge {days}"
    );

    // A wrong server name fails verification: 502/503, counted as a TLS error.
    let mut bad = cfg.clone();
    let bad_port = free_port();
    let bad_admin = free_port();
    bad["servers"][0]["listeners"][0]["address"] = json!(local(bad_port).to_string());
    bad["admin"]["address"]["socket_address"]["port_value"] = json!(bad_admin);
    bad["cluster_manager"]["clusters"][0]["tls_context"]["server_name"] = json!("other.test");
    // Without health checks, so the request itself meets the failing handshake.
    bad["cluster_manager"]["clusters"][0]
        .as_object_mut()
        .unwrap()
        .remove("health_check");
    let bad_mosn = Mosn::start(&bad);
    let refused = curl(&[&format!("http://127.0.0.1:{bad_port}/")]);
    assert!(refused.status >= 500, "{}", refused.status);
    assert!(bad_mosn.stat("cluster", "envoy", "ssl_connection_error") >= 1);
}
