//! MOSN's own samples, run unchanged except for their ports (and 0.0.0.0 admin addresses
//! moved to 127.0.0.1: the tests bind loopback only):
//!
//! - http-sample: curl → mosn (client_config) → mosn (server_config) → nginx;
//! - tcpproxy-sample: client → mosn (tcp_proxy) → socat echo;
//! - protocol-auto-sample: curl (HTTP/1.1 and h2c) → mosn → mosn → hypercorn.

mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::Duration;

use support::*;

#[test]
fn http_sample_client_and_server_configs_chain_to_nginx() {
    let pair = SamplePair::read("http-sample__", 8080);
    let (client_cfg, server_cfg) = (pair.client, pair.server);
    let (client_listener, upstream) = (pair.client_port, pair.app_port);

    let _nginx = Nginx::echo(upstream);
    let server_mosn = Mosn::start(&server_cfg);
    let client_mosn = Mosn::start(&client_cfg);

    // A fixed body, end to end.
    let small = curl(&[&format!("http://127.0.0.1:{client_listener}/small")]);
    assert_eq!(small.exit, 0, "curl failed: {}", small.stderr);
    assert_eq!(small.status, 200);
    assert_eq!(small.text(), SMALL_BODY);

    // A 16 KiB static file, end to end, byte for byte.
    let large = curl(&[&format!("http://127.0.0.1:{client_listener}/large.bin")]);
    assert_eq!(large.status, 200, "stderr: {}", large.stderr);
    assert_eq!(large.body, random_bytes(LARGE_LEN, 0x5eed));

    // What nginx saw: two hops appended 127.0.0.1 to X-Forwarded-For, and a request id.
    let echo = curl(&[&format!("http://127.0.0.1:{client_listener}/echo")]);
    assert_eq!(echo.status, 200);
    let fields = echo_fields(&echo.text());
    let xff = &fields["xff"];
    assert_eq!(
        xff.matches("127.0.0.1").count(),
        2,
        "X-Forwarded-For at the upstream should name both hops, got {xff:?}"
    );
    assert!(
        !fields["rid"].is_empty(),
        "X-Request-Id missing at the upstream: {fields:?}"
    );
    assert_eq!(fields["uri"], "/echo");

    // Both proxies counted the three requests.
    client_mosn.expect_stat("listener", "clientListener", "downstream_rq_2xx", 3);
    server_mosn.expect_stat("cluster", "serverCluster", "upstream_rq_2xx", 3);
}

#[test]
fn tcpproxy_sample_round_trips_bytes_through_socat_echo() {
    let dir = TempDir::new("tcpproxy-sample");
    let (listener, upstream) = (free_port(), free_port());
    let map = HashMap::from([(2045, listener), (8080, upstream)]);
    let mut cfg = read_json(&samples_dir().join("tcpproxy-sample__config.json"));
    // The sample spells the cluster's key `"Name"` (MOSN matches keys case-insensitively).
    assert!(
        cfg["cluster_manager"]["clusters"][0].get("Name").is_some(),
        "the sample is expected to use the \"Name\" key"
    );
    rewrite_ports(&mut cfg, &map);

    let _echo = socat_server(upstream, "PIPE", &dir);
    let _mosn = Mosn::start(&cfg);

    let payload = b"hello through the MOSN tcpproxy sample\n".repeat(100);
    let got = with_deadline("tcp echo round trip", Duration::from_secs(20), move || {
        let mut stream = connect(local(listener)).expect("connect to the proxy");
        stream.write_all(&payload).expect("write");
        let mut got = vec![0u8; payload.len()];
        stream.read_exact(&mut got).expect("read the echo");
        (payload, got)
    });
    assert!(got.0 == got.1, "the echo differs from what was sent");
}

#[test]
fn protocol_auto_sample_chain_keeps_the_client_protocol_end_to_end() {
    let dir = TempDir::new("auto-sample");
    let pair = SamplePair::read("protocol-auto-sample__", 8080);
    let (client_listener, upstream) = (pair.client_port, pair.app_port);
    let (client_cfg, server_cfg) = (pair.client, pair.server);
    // hypercorn speaks HTTP/1.1 and h2c on one port and says which one it was asked in.
    let _origin = hypercorn_echo(upstream, &dir);
    let _server = Mosn::start(&server_cfg);
    let _client = Mosn::start(&client_cfg);
    let url = format!("http://127.0.0.1:{client_listener}/download/1000");
    for (flag, client, upstream_http) in [
        ("--http1.1", "HTTP/1.1", "1.1"),
        ("--http2-prior-knowledge", "HTTP/2", "2"),
    ] {
        let r = curl(&[flag, &url]);
        assert_eq!(r.status, 200, "{client}: {}", r.stderr);
        assert_eq!(r.version, client);
        assert_eq!(r.body.len(), 1000);
        assert_eq!(
            r.header("x-upstream-http"),
            Some(upstream_http),
            "Auto upstream keeps the client's protocol on both hops"
        );
    }
}
