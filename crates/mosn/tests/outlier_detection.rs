//! Outlier detection end to end: mosn in front of two nginx upstreams, one answering 503
//! to everything, with `outlier_detection` (3 consecutive 5xx, 2 s base ejection time,
//! 500 ms interval) and no retries. The 503 host is ejected after a few requests, the
//! next 20 requests all get 200, and once the ejection time passed the host is back.
//! A refused host is ejected by consecutive gateway failures (connect failures count).

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn a_failing_host_is_ejected_and_returns_after_the_ejection_time() {
    let (listen, admin, good, bad) = (free_port(), free_port(), free_port(), free_port());
    let _nginx = Nginx::start(&[
        (good, "location / { return 200 \"good\\n\"; }".to_owned()),
        (
            bad,
            "location / { return 503 \"overloaded\\n\"; }".to_owned(),
        ),
    ]);
    let mut c = cluster("c", &[local(bad), local(good)]);
    c["outlier_detection"] = json!({
        "consecutive_5xx": 3,
        "interval": "500ms",
        "base_ejection_time": "2s",
        "max_ejection_percent": 50
    });
    let routes = json!([{
        "name": "all",
        "domains": ["*"],
        "routers": [{
            "match": { "prefix": "/" },
            "route": { "cluster_name": "c", "retry_policy": { "retry_on": false } }
        }]
    }]);
    let cfg = http_config(
        local(listen),
        Some(admin),
        routes,
        json!([c]),
        json!({}),
        json!({}),
    );
    let mosn = Mosn::start(&cfg);
    let url = format!("http://127.0.0.1:{listen}/");

    // Round robin: the 503 host gets every other request; 3 in a row eject it.
    let mut seen_503 = 0;
    for _ in 0..12 {
        let r = curl(&[&url]);
        assert!(r.status == 200 || r.status == 503, "status {}", r.status);
        if r.status == 503 {
            seen_503 += 1;
        }
        if mosn.stat("cluster", "c", "outlier_detection_ejections_enforced_total") >= 1 {
            break;
        }
    }
    assert!(seen_503 >= 3, "only {seen_503} 503s before the ejection");
    let ejected_at = Instant::now();
    assert_eq!(
        mosn.stat("cluster", "c", "outlier_detection_ejections_enforced_total"),
        1
    );
    assert_eq!(
        mosn.stat("cluster", "c", "outlier_detection_ejections_active"),
        1
    );

    // Ejected: every request goes to the good host.
    for i in 0..20 {
        let r = curl(&[&url]);
        assert_eq!(
            r.status,
            200,
            "request {i} after the ejection: {}",
            r.text()
        );
        assert_eq!(r.text(), "good\n");
    }
    assert!(
        ejected_at.elapsed() < Duration::from_secs(2),
        "the 20 requests took longer than the ejection time; the check above is void"
    );

    // After 2 s (returned at the next 500 ms sweep) the host is back.
    mosn.wait_stat(
        "cluster",
        "c",
        "outlier_detection_ejections_active",
        Duration::from_secs(6),
        |n| n == 0,
    );
    let back = (0..10).any(|_| curl(&[&url]).status == 503);
    assert!(back, "the ejected host did not return to rotation");
    assert!(mosn.log().contains("outlier detection: host ejected"));
    assert!(mosn.log().contains("outlier detection: host returned"));
}

#[test]
fn connect_failures_count_as_gateway_errors_and_eject_a_dead_host() {
    let (listen, admin, good, dead) = (free_port(), free_port(), free_port(), free_port());
    let _nginx = Nginx::start(&[(good, "location / { return 200 \"good\\n\"; }".to_owned())]);
    let mut c = cluster("c", &[local(dead), local(good)]);
    // Envoy's defaults but for the gateway-failure ejection, enforced here.
    c["outlier_detection"] = json!({
        "consecutive_5xx": 100,
        "consecutive_gateway_failure": 3,
        "enforcing_consecutive_gateway_failure": 100,
        "max_ejection_percent": 50
    });
    // No retry_policy: MOSN's default retries connect failures on another host.
    let cfg = http_config(
        local(listen),
        Some(admin),
        forward_all("c"),
        json!([c]),
        json!({}),
        json!({}),
    );
    let mosn = Mosn::start(&cfg);
    let url = format!("http://127.0.0.1:{listen}/");
    for _ in 0..12 {
        assert_eq!(curl(&[&url]).status, 200);
        if mosn.stat("cluster", "c", "outlier_detection_ejections_enforced_total") >= 1 {
            break;
        }
    }
    assert_eq!(
        mosn.stat("cluster", "c", "outlier_detection_ejections_enforced_total"),
        1
    );
    let failed = mosn.stat("cluster", "c", "upstream_cx_connect_fail");
    assert!(failed >= 3, "{failed} connect failures");
    // The dead host is out for 30 s: no more connect attempts to it.
    for _ in 0..20 {
        assert_eq!(curl(&[&url]).status, 200);
    }
    assert_eq!(
        mosn.stat("cluster", "c", "upstream_cx_connect_fail"),
        failed
    );
    assert_eq!(mosn.stat("cluster", "c", "upstream_rq_retry"), failed);
}
