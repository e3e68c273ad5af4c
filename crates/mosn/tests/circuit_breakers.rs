//! Circuit breakers against a real slow upstream (the python mock sleeping): over
//! `max_requests`, requests are answered 503 at once and counted, never queued; under it
//! they pass. `max_connections` caps tcp_proxy connections too.

mod support;

use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

#[test]
fn max_requests_overflow_answers_503_at_once_and_counts() {
    let (listen, admin, slow) = (free_port(), free_port(), free_port());
    let dir = TempDir::new("cb-slow");
    let _mock = python_mock(slow, &dir);
    let mut c = cluster("c", &[local(slow)]);
    c["circuit_breakers"] = json!([{ "max_requests": 2 }]);
    let cfg = http_config(
        local(listen),
        Some(admin),
        forward_all("c"),
        json!([c]),
        json!({}),
        json!({ "processor": 1 }),
    );
    let mosn = Mosn::start(&cfg);

    let clients: Vec<_> = (0..6)
        .map(|_| {
            thread::spawn(move || {
                let started = Instant::now();
                let r = curl(&[&format!("http://127.0.0.1:{listen}/sleep/1500")]);
                (r.status, r.text(), started.elapsed())
            })
        })
        .collect();
    let results: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let ok = results.iter().filter(|r| r.0 == 200).count();
    let overflow: Vec<_> = results.iter().filter(|r| r.0 == 503).collect();
    assert_eq!(ok + overflow.len(), 6, "{results:?}");
    assert!(ok <= 2, "more than max_requests in flight: {results:?}");
    assert!(overflow.len() >= 4, "{results:?}");
    for (_, body, took) in &overflow {
        assert_eq!(body, "upstream overflow: circuit breaker open\n");
        assert!(
            *took < Duration::from_millis(1000),
            "overflow was not fast: {took:?}"
        );
    }
    let counted = mosn.stat("cluster", "c", "upstream_rq_pending_overflow");
    assert_eq!(counted, overflow.len() as u64);

    // Once the slow requests are done, requests pass again.
    let r = curl(&[&format!("http://127.0.0.1:{listen}/sleep/10")]);
    assert_eq!(r.status, 200);
}

#[test]
fn max_retries_caps_retries_in_flight() {
    let (listen, admin, dead) = (free_port(), free_port(), free_port());
    let mut c = cluster("c", &[local(dead)]);
    // Connect failures are retried up to 3 times each (MOSN's default), and each retrying
    // request holds its retry slot until it ends: ten at once cannot all get one.
    c["circuit_breakers"] = json!([{ "max_retries": 1 }]);
    let cfg = http_config(
        local(listen),
        Some(admin),
        forward_all("c"),
        json!([c]),
        json!({}),
        json!({}),
    );
    let mosn = Mosn::start(&cfg);
    let clients: Vec<_> = (0..10)
        .map(|_| thread::spawn(move || curl(&[&format!("http://127.0.0.1:{listen}/")]).status))
        .collect();
    for c in clients {
        assert_eq!(c.join().unwrap(), 502);
    }
    let overflow = mosn.stat("cluster", "c", "upstream_rq_retry_overflow");
    let retries = mosn.stat("cluster", "c", "upstream_rq_retry");
    assert!(
        overflow >= 1,
        "no retry overflow counted (retries {retries})"
    );
    assert!(retries < 30, "every request retried fully: {retries}");
}

/// Upstream 503s with a 5xx retry policy: how many upstream attempts each client request
/// caused, under a wrk load, with the cluster's `circuit_breakers` set to `breakers`.
fn attempts_per_request(breakers: serde_json::Value) -> (f64, u64) {
    let (listen, upstream) = (free_port(), free_port());
    let _nginx = Nginx::start(&[(upstream, "location / { return 503 \"down\\n\"; }".into())]);
    let mut c = cluster("c", &[local(upstream)]);
    c["circuit_breakers"] = breakers;
    let routes = json!([{
        "name": "all", "domains": ["*"],
        "routers": [{ "match": { "prefix": "/" }, "route": { "cluster_name": "c",
            "retry_policy": { "retry_on": "5xx", "num_retries": 3,
                              "retry_back_off": { "base_interval": "1ms", "max_interval": "2ms" } } } }]
    }]);
    let cfg = http_config(
        local(listen),
        Some(free_port()),
        routes,
        json!([c]),
        json!({}),
        json!({ "processor": 1 }),
    );
    let mosn = Mosn::start(&cfg);
    let run = wrk(&format!("http://127.0.0.1:{listen}/"), 20, 2, &[]);
    assert!(run.requests > 100, "{}", run.output);
    let requests = mosn.stat("listener", "test_listener", "downstream_rq_total");
    let attempts = mosn.stat("cluster", "c", "upstream_rq_5xx");
    let overflow = mosn.stat("cluster", "c", "upstream_rq_retry_overflow");
    (attempts as f64 / requests as f64, overflow)
}

#[test]
fn a_retry_budget_keeps_retries_from_multiplying_load_in_an_outage() {
    // Without a budget every request is tried 4 times against the failing upstream.
    let (unbounded, overflow) = attempts_per_request(json!([{}]));
    assert!(unbounded > 3.5, "{unbounded} attempts per request");
    assert_eq!(overflow, 0);
    // A budget of 10% of 20 requests in flight (2, also the floor) keeps retries rare.
    let budget = json!({ "thresholds": [{ "retry_budget": {
        "budget_percent": { "value": 10.0 }, "min_retry_concurrency": 2 } }] });
    let (bounded, overflow) = attempts_per_request(budget);
    assert!(
        bounded < 2.0,
        "{bounded} attempts per request within the budget"
    );
    assert!(overflow > 0, "retries refused by the budget are counted");
}
