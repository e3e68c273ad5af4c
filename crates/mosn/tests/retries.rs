//! Route retries against real failing upstreams: a refused host, a host answering 503
//! (nginx), and a slow host (the python mock sleeping) with a per-try timeout. With a
//! retry policy every client request succeeds; the retries show in the cluster's stats.
//! Under a wrk load, one of three upstreams is killed: retries and the health check
//! together keep every request successful.

mod support;

use serde_json::json;
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
