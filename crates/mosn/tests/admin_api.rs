//! The admin API of a running mosn, with MOSN's paths.

mod support;

use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;

struct Setup {
    _nginx: Nginx,
    mosn: Mosn,
    listen: u16,
}

/// mosn → nginx, with an admin port; the listener's filter chain carries a disabled
/// `tls_context` holding a private key, which config_dump must redact.
fn setup() -> Setup {
    let (listen, upstream, admin) = (free_port(), free_port(), free_port());
    let nginx = Nginx::echo(upstream);
    let mut config = http_config(
        local(listen),
        Some(admin),
        json!([{
            "name": "all",
            "domains": ["*"],
            "routers": [
                { "match": { "path": "/missing" }, "direct_response": { "status": 404, "body": "nope" } },
                { "match": { "prefix": "/" }, "route": { "cluster_name": "nginx" } }
            ]
        }]),
        json!([cluster("nginx", &[local(upstream)])]),
        json!({}),
        json!({}),
    );
    config["servers"][0]["listeners"][0]["filter_chains"][0]["tls_context"] = json!({
        "status": false,
        "cert_chain": "-----BEGIN CERTIFICATE-----\nnot-a-cert\n-----END CERTIFICATE-----",
        "private_key": "-----BEGIN PRIVATE KEY-----\nTOP-SECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----"
    });
    let mosn = Mosn::start(&config);
    Setup {
        _nginx: nginx,
        mosn,
        listen,
    }
}

#[test]
fn version_endpoint() {
    let s = setup();
    let resp = s.mosn.admin_get("/api/v1/version");
    assert_eq!(resp.status, 200);
    assert!(
        resp.text().contains(env!("CARGO_PKG_VERSION")),
        "version: {:?}",
        resp.text()
    );
}

#[test]
fn config_dump_is_json_with_private_keys_redacted() {
    let s = setup();
    let resp = s.mosn.admin_get("/api/v1/config_dump");
    assert_eq!(resp.status, 200);
    let dump: Value = serde_json::from_slice(&resp.body)
        .unwrap_or_else(|e| panic!("config_dump is not JSON ({e}): {}", resp.text()));
    let text = resp.text();
    assert!(
        !text.contains("TOP-SECRET-KEY-MATERIAL"),
        "the private key leaked through config_dump"
    );
    let tls = &dump["servers"][0]["listeners"][0]["filter_chains"][0]["tls_context"];
    assert!(
        tls["private_key"].is_string() && tls["private_key"] != json!(""),
        "private_key should be present but redacted: {tls}"
    );
    // The rest of the config is there.
    assert_eq!(
        dump["servers"][0]["listeners"][0]["name"],
        json!("test_listener")
    );
    assert_eq!(
        dump["cluster_manager"]["clusters"][0]["name"],
        json!("nginx")
    );
}

#[test]
fn stats_count_the_requests() {
    let s = setup();
    const N: u64 = 7;
    let mut client = Client::connect(local(s.listen));
    for _ in 0..N {
        assert_eq!(client.get("/small", "example.test").status, 200);
    }
    assert_eq!(client.get("/missing", "example.test").status, 404);
    drop(client);

    // Counters may be bumped just after the client read its response: wait for the last.
    s.mosn
        .expect_stat("listener", "test_listener", "downstream_rq_total", N + 1);
    let stats = s.mosn.stats();
    let l = &stats["listener"]["test_listener"];
    let c = &stats["cluster"]["nginx"];
    assert_eq!(l["downstream_rq_2xx"], json!(N), "{stats:#}");
    assert_eq!(l["downstream_rq_4xx"], json!(1), "{stats:#}");
    assert_eq!(l["downstream_rq_total"], json!(N + 1), "{stats:#}");
    assert_eq!(c["upstream_rq_2xx"], json!(N), "{stats:#}");
    assert_eq!(c["upstream_rq_total"], json!(N), "{stats:#}");
    assert_eq!(c["upstream_cx_total"], json!(1), "{stats:#}");
    let tx = c["upstream_cx_tx_bytes_total"].as_u64().unwrap_or(0);
    let rx = c["upstream_cx_rx_bytes_total"].as_u64().unwrap_or(0);
    assert!(
        rx >= N * SMALL_BODY.len() as u64,
        "upstream rx bytes {rx} < bodies received"
    );
    assert!(tx > 0, "upstream tx bytes 0");
    // The client connection closed: the gauges drop back to 0 (the proxy may update them
    // just after the client has read its last response, hence the polling).
    s.mosn.wait_stat(
        "listener",
        "test_listener",
        "downstream_cx_active",
        Duration::from_secs(5),
        |n| n == 0,
    );
    s.mosn.wait_stat(
        "listener",
        "test_listener",
        "downstream_rq_active",
        Duration::from_secs(5),
        |n| n == 0,
    );
}

#[test]
fn log_level_get_and_update() {
    let s = setup();
    let resp = s.mosn.admin_get("/api/v1/get_loglevel");
    assert_eq!(resp.status, 200);
    let levels: Value = serde_json::from_slice(&resp.body).expect("get_loglevel JSON");
    assert_eq!(levels, json!({ "stdout": "INFO" }));

    // Debug lines are not logged at INFO.
    let _ = s.mosn.admin_get("/api/v1/version");
    assert!(
        !s.mosn.log().contains("DEBUG"),
        "DEBUG lines at INFO level:\n{}",
        s.mosn.log()
    );

    let resp = s.mosn.admin_post(
        "/api/v1/update_loglevel",
        r#"{"log_path": "stdout", "log_level": "DEBUG"}"#,
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let resp = s.mosn.admin_get("/api/v1/get_loglevel");
    let levels: Value = serde_json::from_slice(&resp.body).expect("get_loglevel JSON");
    assert_eq!(levels, json!({ "stdout": "DEBUG" }));

    // The new level is in effect: debug lines appear now.
    let _ = curl(&[&format!("http://127.0.0.1:{}/small", s.listen)]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !s.mosn.log().contains("DEBUG") {
        assert!(
            Instant::now() < deadline,
            "no DEBUG line after update_loglevel:\n{}",
            s.mosn.log()
        );
        thread::sleep(Duration::from_millis(50));
    }

    // An unknown logger is refused.
    let resp = s.mosn.admin_post(
        "/api/v1/update_loglevel",
        r#"{"log_path": "/no/such.log", "log_level": "DEBUG"}"#,
    );
    assert_eq!(resp.status, 400, "{}", resp.text());
}

#[test]
fn states_and_unknown_paths() {
    let s = setup();
    let resp = s.mosn.admin_get("/api/v1/states");
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.text().trim(),
        format!("pid={}&state=6", s.mosn.pid()),
        "states"
    );
    assert_eq!(s.mosn.admin_get("/api/v1/nope").status, 404);
    // update_loglevel is POST only.
    assert_eq!(s.mosn.admin_get("/api/v1/update_loglevel").status, 405);
}

/// Sums one per-host counter over a cluster's `hosts`.
fn host_sum(stats: &Value, cluster: &str, counter: &str) -> u64 {
    let hosts = stats["cluster"][cluster]["hosts"]
        .as_object()
        .unwrap_or_else(|| panic!("no hosts for cluster {cluster}:\n{stats:#}"));
    hosts
        .values()
        .map(|h| {
            h[counter]
                .as_u64()
                .unwrap_or_else(|| panic!("no {counter} in {h}"))
        })
        .sum()
}

#[test]
fn per_host_stats_under_each_cluster() {
    let ports = [free_port(), free_port()];
    let servers: Vec<(u16, String)> = ports
        .iter()
        .map(|p| (*p, format!("location / {{ return 200 \"{p}\\n\"; }}")))
        .collect();
    let _nginx = Nginx::start(&servers);
    let (listen, admin, closed) = (free_port(), free_port(), free_port());
    let pair: Vec<_> = ports.iter().map(|p| local(*p)).collect();
    let config = http_config(
        local(listen),
        Some(admin),
        json!([{
            "name": "all",
            "domains": ["*"],
            "routers": [
                { "match": { "prefix": "/dead" }, "route": { "cluster_name": "dead" } },
                { "match": { "prefix": "/" }, "route": { "cluster_name": "pair" } }
            ]
        }]),
        json!([cluster("pair", &pair), cluster("dead", &[local(closed)])]),
        json!({}),
        json!({}),
    );
    let mosn = Mosn::start(&config);

    const N: u64 = 10;
    let mut client = Client::connect(local(listen));
    for _ in 0..N {
        assert_eq!(client.get("/", "example.test").status, 200);
    }
    drop(client);
    let status = http_get(local(listen), "/dead", "example.test").status;
    assert!((500..600).contains(&status), "dead host answered {status}");
    mosn.expect_stat("listener", "test_listener", "downstream_rq_total", N + 1);

    let stats = mosn.stats();
    let hosts = &stats["cluster"]["pair"]["hosts"];
    assert_eq!(hosts.as_object().map(|h| h.len()), Some(2), "{stats:#}");
    assert_eq!(host_sum(&stats, "pair", "rq_total"), N, "{stats:#}");
    assert_eq!(host_sum(&stats, "pair", "lb_picks"), N, "{stats:#}");
    assert_eq!(host_sum(&stats, "pair", "rq_error"), 0, "{stats:#}");
    assert_eq!(host_sum(&stats, "pair", "cx_connect_fail"), 0, "{stats:#}");
    assert!(host_sum(&stats, "pair", "cx_total") >= 1, "{stats:#}");
    for p in ports {
        let h = &hosts[local(p).to_string()];
        // Round robin spreads the requests evenly.
        assert_eq!(h["rq_total"], json!(N / 2), "{stats:#}");
        assert_eq!(h["healthy"], json!(true), "{stats:#}");
        assert_eq!(h["health_flags"], json!([]), "{stats:#}");
        assert_eq!(h["weight"], json!(1), "{stats:#}");
        assert_eq!(h["ejections"], json!(0), "{stats:#}");
    }

    let dead = &stats["cluster"]["dead"]["hosts"][local(closed).to_string()];
    assert!(
        dead["cx_connect_fail"].as_u64().unwrap_or(0) > 0,
        "{stats:#}"
    );
    assert!(dead["rq_error"].as_u64().unwrap_or(0) > 0, "{stats:#}");
    assert_eq!(dead["cx_total"], json!(0), "{stats:#}");
    assert_eq!(dead["healthy"], json!(true), "{stats:#}");

    // `?key=cluster.NAME` keeps the cluster's hosts.
    let resp = mosn.admin_get("/api/v1/stats?key=cluster.pair");
    assert_eq!(resp.status, 200);
    let one: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(
        one["cluster"]["pair"]["hosts"].as_object().map(|h| h.len()),
        Some(2),
        "{one:#}"
    );
}
