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
