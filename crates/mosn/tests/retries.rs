//! Route retries against real failing upstreams: a refused host, a host answering 503
//! (nginx), and a slow host (the python mock sleeping) with a per-try timeout. With a
//! retry policy every client request succeeds; the retries show in the cluster's stats.
//! Under a wrk load, one of three upstreams is killed: retries and the health check
//! together keep every request successful. Istio's conditions: a grpcio server answering
//! UNAVAILABLE is retried under `retry_on: unavailable` (and not without it), and the
//! virtual host's `include_request_attempt_count` numbers each attempt, over HTTP/2 and
//! on the HTTP/1 fast path. (REFUSED_STREAM is covered by mosn-proxy's unit test against
//! the `h2` crate's server: no peer here refuses streams on demand, and hyper's client
//! never exceeds a server's `max_concurrent_streams`.)

mod support;

use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;
use support::*;

fn retry_route(cluster: &str, policy: serde_json::Value) -> serde_json::Value {
    json!([{
        "name": "all",
        "domains": ["*"],
        "routers": [{
            "match": { "prefix": "/" },
            "route": { "cluster_name": cluster, "timeout": "5s", "retry_policy": policy }
        }]
    }])
}

/// `virtual_hosts` with Envoy's `include_request_attempt_count` set on the first.
fn counting_attempts(mut virtual_hosts: Value) -> Value {
    virtual_hosts[0]["include_request_attempt_count"] = json!(true);
    virtual_hosts
}

/// Unary calls of the grpcio server's scripted `Flaky` method through the proxy on
/// `port`, one per payload: what each returned.
fn flaky_calls(port: u16, payloads: &[&str]) -> Value {
    run_json_peer(
        Command::new(peer_python())
            .arg(peer_script("grpc_unary.py"))
            .arg(format!("127.0.0.1:{port}"))
            .arg("/test.Echo/Flaky")
            .args(payloads),
    )
}

/// A proxy speaking HTTP/2 on both sides to the grpcio server on `grpc_port`.
fn grpc_proxy(grpc_port: u16, virtual_hosts: Value) -> (Mosn, u16) {
    let listen = free_port();
    let cfg = http_config(
        local(listen),
        Some(free_port()),
        virtual_hosts,
        json!([cluster("grpc", &[local(grpc_port)])]),
        json!({ "downstream_protocol": "Http2", "upstream_protocol": "Http2" }),
        json!({}),
    );
    (Mosn::start(&cfg), listen)
}

#[test]
fn grpc_unavailable_is_retried_under_its_condition_with_each_attempt_numbered() {
    let dir = TempDir::new("retry-grpc");
    let grpc_port = free_port();
    let _server = grpc_echo_server(grpc_port, "flaky", &dir);
    let policy = json!({ "retry_on": "connect-failure,unavailable", "num_retries": 2 });
    let (mosn, port) = grpc_proxy(grpc_port, counting_attempts(retry_route("grpc", policy)));
    assert_eq!(
        flaky_calls(port, &["a", "b"]),
        json!([{ "ok": "ok:a attempt=2" }, { "ok": "ok:b attempt=2" }]),
        "the UNAVAILABLE first attempt was retried with its body, numbered 2"
    );
    assert!(mosn.stat("cluster", "grpc", "upstream_rq_retry") >= 2);

    // Without the condition (and without the count) the client gets the UNAVAILABLE.
    let policy = json!({ "retry_on": "connect-failure", "num_retries": 2 });
    let (_mosn2, port2) = grpc_proxy(grpc_port, retry_route("grpc", policy));
    assert_eq!(
        flaky_calls(port2, &["c", "c"]),
        json!([
            { "code": "UNAVAILABLE", "details": "first attempt of c" },
            { "ok": "ok:c attempt=none" }
        ])
    );
}

#[test]
fn the_http1_fast_path_numbers_each_attempt() {
    let (listen, admin, bad, mock) = (free_port(), free_port(), free_port(), free_port());
    let dir = TempDir::new("retry-attempt-count");
    let _mock = python_mock(mock, &dir);
    let _nginx = Nginx::start(&[(
        bad,
        "location / { return 503 \"overloaded\\n\"; }".to_owned(),
    )]);
    let cfg = http_config(
        local(listen),
        Some(admin),
        counting_attempts(retry_route(
            "c",
            json!({ "retry_on": "5xx", "num_retries": 2 }),
        )),
        json!([cluster("c", &[local(bad), local(mock)])]),
        json!({}),
        json!({}),
    );
    let _mosn = Mosn::start(&cfg);
    let attempt_counts = |listen: u16, host: &str| {
        // A count the client sent is replaced, not repeated.
        let r = curl(&[
            "-H",
            "x-envoy-attempt-count: 9",
            "-H",
            &format!("host: {host}"),
            &format!("http://127.0.0.1:{listen}/headers"),
        ]);
        assert_eq!(r.status, 200, "a 503 reached the client: {}", r.text());
        r.text()
            .lines()
            .filter_map(|l| l.strip_prefix("x-envoy-attempt-count: "))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let mut retried = 0;
    for _ in 0..8 {
        let seen = attempt_counts(listen, "any.test");
        assert!(seen == ["1"] || seen == ["2"], "{seen:?}");
        retried += usize::from(seen == ["2"]);
    }
    assert!(
        retried > 0,
        "some first attempts met the 503 and were retried"
    );

    // One host that answers at once: attempt 1; a virtual host without the flag adds
    // nothing and passes the client's header on.
    let (listen2, admin2) = (free_port(), free_port());
    let mut vhosts = retry_route("m", json!({ "retry_on": "5xx", "num_retries": 2 }));
    let mut counted = counting_attempts(vhosts.clone())[0].clone();
    counted["domains"] = json!(["counted.test"]);
    vhosts.as_array_mut().unwrap().insert(0, counted);
    let cfg = http_config(
        local(listen2),
        Some(admin2),
        vhosts,
        json!([cluster("m", &[local(mock)])]),
        json!({}),
        json!({}),
    );
    let _mosn2 = Mosn::start(&cfg);
    assert_eq!(attempt_counts(listen2, "counted.test"), ["1"]);
    assert_eq!(attempt_counts(listen2, "other.test"), ["9"]);
}

#[test]
fn connect_failures_are_retried_on_another_host_by_default() {
    let (listen, admin, good, dead) = (free_port(), free_port(), free_port(), free_port());
    let _nginx = Nginx::echo(good);
    // No retry_policy at all: MOSN retries connection failures by default.
    let cfg = http_config(
        local(listen),
        Some(admin),
        forward_all("c"),
        json!([cluster("c", &[local(dead), local(good)])]),
        json!({}),
        json!({}),
    );
    let mosn = Mosn::start(&cfg);
    for _ in 0..20 {
        let r = curl(&[&format!("http://127.0.0.1:{listen}/small")]);
        assert_eq!(r.status, 200, "stderr: {}", r.stderr);
    }
    assert!(mosn.stat("cluster", "c", "upstream_rq_retry") >= 5);
    assert!(mosn.stat("cluster", "c", "upstream_cx_connect_fail") >= 5);
}

#[test]
fn five_xx_responses_are_retried_with_retry_on() {
    let (listen, admin, good, bad) = (free_port(), free_port(), free_port(), free_port());
    let _nginx = Nginx::start(&[
        (good, echo_server_block()),
        (
            bad,
            "location / { return 503 \"overloaded\\n\"; }".to_owned(),
        ),
    ]);
    let cfg = http_config(
        local(listen),
        Some(admin),
        retry_route("c", json!({ "retry_on": true, "num_retries": 2 })),
        json!([cluster("c", &[local(bad), local(good)])]),
        json!({}),
        json!({}),
    );
    let mosn = Mosn::start(&cfg);
    for _ in 0..20 {
        let r = curl(&[&format!("http://127.0.0.1:{listen}/small")]);
        assert_eq!(r.status, 200, "a 503 reached the client: {}", r.text());
    }
    assert!(mosn.stat("cluster", "c", "upstream_rq_5xx") >= 5);
    assert!(mosn.stat("cluster", "c", "upstream_rq_retry") >= 5);

    // Without retry_on, the 503 is the answer.
    let (listen2, admin2) = (free_port(), free_port());
    let cfg = http_config(
        local(listen2),
        Some(admin2),
        retry_route("c", json!({ "retry_on": false })),
        json!([cluster("c", &[local(bad)])]),
        json!({}),
        json!({}),
    );
    let _mosn2 = Mosn::start(&cfg);
    let r = curl(&[&format!("http://127.0.0.1:{listen2}/small")]);
    assert_eq!(r.status, 503);
}

#[test]
fn slow_host_hits_the_per_try_timeout_and_the_retry_succeeds() {
    let (listen, admin, good, slow) = (free_port(), free_port(), free_port(), free_port());
    let dir = TempDir::new("retry-slow");
    let _mock = python_mock(slow, &dir);
    let _nginx = Nginx::start(&[(good, "location / { return 200 \"fast\\n\"; }".to_owned())]);
    let cfg = http_config(
        local(listen),
        Some(admin),
        retry_route(
            "c",
            json!({ "retry_on": true, "retry_timeout": "300ms", "num_retries": 2 }),
        ),
        json!([cluster("c", &[local(slow), local(good)])]),
        json!({}),
        json!({}),
    );
    let mosn = Mosn::start(&cfg);
    for _ in 0..6 {
        let started = std::time::Instant::now();
        let r = curl(&[&format!("http://127.0.0.1:{listen}/sleep/3000")]);
        assert_eq!(r.status, 200, "stderr: {}", r.stderr);
        assert_eq!(r.text(), "fast\n");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
    assert!(mosn.stat("cluster", "c", "upstream_rq_retry") >= 3);
}

#[test]
fn an_upstream_killed_under_load_costs_no_failed_request() {
    let (listen, a, b, c) = (free_port(), free_port(), free_port(), free_port());
    let block = |name: &str| {
        format!(
            "location = /health {{ return 200 \"ok\\n\"; }}\n        location / {{ return 200 \"{name}\\n\"; }}"
        )
    };
    let _a = Nginx::start(&[(a, block("a"))]);
    let mut nginx_b = Nginx::start(&[(b, block("b"))]);
    let _c = Nginx::start(&[(c, block("c"))]);
    let mut upstreams = cluster("three", &[local(a), local(b), local(c)]);
    upstreams["health_check"] = json!({
        "protocol": "Http1",
        "service_name": "three",
        "timeout": "500ms",
        "interval": "200ms",
        "initial_delay_seconds": "100ms",
        "check_config": { "http_check_config": { "path": "/health", "timeout": "1s" } }
    });
    let config = http_config(
        local(listen),
        Some(free_port()),
        retry_route("three", json!({ "retry_on": true, "num_retries": 3 })),
        json!([upstreams]),
        json!({}),
        json!({}),
    );
    let mosn = Mosn::start(&config);
    let url = format!("http://127.0.0.1:{listen}/");
    let load = std::thread::spawn(move || wrk(&url, 20, 6, &[]));
    std::thread::sleep(Duration::from_secs(2));
    send_signal(nginx_b.pid(), "KILL");
    assert!(
        nginx_b.wait_exit(IO_TIMEOUT).is_some(),
        "nginx b did not exit"
    );
    let run = load.join().expect("wrk thread");
    assert!(run.requests > 1000, "{}", run.output);
    assert_eq!(
        (run.non_2xx_3xx, run.socket_errors),
        (0, 0),
        "requests in flight on the killed upstream were retried elsewhere: {}",
        run.output
    );
    assert_eq!(mosn.stat("cluster", "three", "membership_healthy"), 2);
    assert!(mosn.stat("cluster", "three", "upstream_rq_retry") >= 1);
}
