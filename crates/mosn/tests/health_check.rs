//! Active health checks end to end: mosn in front of two real nginx upstreams with an
//! HTTP health check every 200 ms. One nginx is killed (by its PID); once the check has
//! taken it out, every request goes to the live one and none is even attempted on the
//! dead one. Restarted, it comes back into rotation. A gRPC health check asks two grpcio
//! servers' `grpc.health.v1` service and takes out the one that reports NOT_SERVING.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

/// nginx on `port` answering `/health` with 200 and everything else with `name`.
fn nginx(name: &str, port: u16) -> Nginx {
    Nginx::start(&[(
        port,
        format!(
            "location = /health {{ return 200 \"ok\\n\"; }}\n        location / {{ return 200 \"{name}\\n\"; }}"
        ),
    )])
}

/// The body of one GET through mosn, which must answer 200.
fn get(listen: u16) -> String {
    let r = curl(&[&format!("http://127.0.0.1:{listen}/")]);
    assert_eq!(r.status, 200, "curl: exit {} {}", r.exit, r.stderr);
    r.text()
}

#[test]
fn a_killed_upstream_gets_no_requests_once_the_check_saw_it() {
    let dir = TempDir::new("hc");
    let (listen, admin, a_port, b_port) = (free_port(), free_port(), free_port(), free_port());
    let _a = nginx("a", a_port);
    let mut b = nginx("b", b_port);
    let events = dir.file("hc-events.log");
    let mut cluster = cluster("hc", &[local(a_port), local(b_port)]);
    cluster["health_check"] = fast_http_health_check("/health");
    cluster["health_check"]["event_log_path"] = json!(events.display().to_string());
    let config = http_config(
        local(listen),
        Some(admin),
        forward_all("hc"),
        json!([cluster]),
        json!({}),
        json!({}),
    );
    let mosn = Mosn::start(&config);

    // Both checked and both serving.
    mosn.wait_stat("cluster", "hc", "health_check_success", IO_TIMEOUT, |n| {
        n >= 2
    });
    assert_eq!(mosn.stat("cluster", "hc", "membership_healthy"), 2);
    let bodies: Vec<String> = (0..6).map(|_| get(listen)).collect();
    assert!(bodies.iter().any(|b| b == "a\n"), "{bodies:?}");
    assert!(bodies.iter().any(|b| b == "b\n"), "{bodies:?}");

    // Kill b; the next check (within ~200 ms) takes it out.
    let killed = Instant::now();
    send_signal(b.pid(), "KILL");
    assert!(b.wait_exit(IO_TIMEOUT).is_some(), "nginx b did not exit");
    mosn.wait_stat("cluster", "hc", "membership_healthy", IO_TIMEOUT, |n| {
        n == 1
    });
    assert!(
        killed.elapsed() < Duration::from_secs(3),
        "detected after {:?}",
        killed.elapsed()
    );

    let connect_fail = mosn.stat("cluster", "hc", "upstream_cx_connect_fail");
    let requests = mosn.stat("cluster", "hc", "upstream_rq_total");
    for i in 0..50 {
        assert_eq!(get(listen), "a\n", "request {i} after the kill");
    }
    // Not one attempt on the dead host: no connect failure, no retry, one upstream
    // request per client request.
    assert_eq!(
        mosn.stat("cluster", "hc", "upstream_cx_connect_fail"),
        connect_fail
    );
    mosn.expect_stat("cluster", "hc", "upstream_rq_total", requests + 50);
    assert_eq!(mosn.stat("cluster", "hc", "upstream_cx_none_healthy"), 0);
    assert!(mosn.stat("cluster", "hc", "health_check_failure") >= 1);

    // b restarted on its port: back in rotation after the next check.
    let _b = nginx("b", b_port);
    mosn.wait_stat("cluster", "hc", "membership_healthy", IO_TIMEOUT, |n| {
        n == 2
    });
    let bodies: Vec<String> = (0..6).map(|_| get(listen)).collect();
    assert!(bodies.iter().any(|b| b == "b\n"), "{bodies:?}");

    let log = mosn.log();
    assert!(log.contains("health check: host is unhealthy"), "{log}");
    assert!(log.contains("health check: host is healthy"), "{log}");
    let events = std::fs::read_to_string(&events).expect("event log");
    let b_addr = local(b_port).to_string();
    let changes: Vec<&str> = events
        .lines()
        .filter(|l| l.contains(",status_changed:1,"))
        .collect();
    assert_eq!(changes.len(), 2, "{events}");
    assert!(
        changes[0].contains(&format!("host:{b_addr},health_status:0,")),
        "{events}"
    );
    assert!(
        changes[1].contains(&format!("host:{b_addr},health_status:1,")),
        "{events}"
    );
}

#[test]
fn a_health_check_without_service_name_is_ignored_as_in_mosn() {
    let (listen, admin, port) = (free_port(), free_port(), free_port());
    let mut cluster = cluster("hc", &[local(port)]);
    cluster["health_check"] = json!({ "protocol": "Http1", "interval": "100ms" });
    let config = http_config(
        local(listen),
        Some(admin),
        forward_all("hc"),
        json!([cluster]),
        json!({}),
        json!({}),
    );
    let mosn = Mosn::start(&config);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(mosn.stat("cluster", "hc", "health_check_attempt"), 0);
    let log = mosn.log();
    assert!(
        log.contains("service_name"),
        "no warning about service_name:\n{log}"
    );
}

#[test]
fn a_grpc_health_check_takes_out_a_host_that_reports_not_serving() {
    let dir = TempDir::new("hc-grpc");
    let (listen, a_port, b_port) = (free_port(), free_port(), free_port());
    let _a = grpc_echo_server_reporting(a_port, "a", "SERVING", &dir);
    let _b = grpc_echo_server_reporting(b_port, "b", "NOT_SERVING", &dir);
    let mut cluster = cluster("grpc", &[local(a_port), local(b_port)]);
    cluster["health_check"] = json!({
        "protocol": "Grpc",
        "service_name": "hc",
        "timeout": "2s",
        "interval": "200ms",
        "initial_delay_seconds": "100ms",
        "check_config": { "grpc_check_config": { "service_name": "test.Echo" } }
    });
    let config = http_config(
        local(listen),
        Some(free_port()),
        forward_all("grpc"),
        json!([cluster]),
        json!({ "downstream_protocol": "Http2", "upstream_protocol": "Http2" }),
        json!({}),
    );
    let mosn = Mosn::start(&config);
    mosn.wait_stat("cluster", "grpc", "health_check_failure", IO_TIMEOUT, |n| {
        n >= 1
    });
    mosn.wait_stat("cluster", "grpc", "membership_healthy", IO_TIMEOUT, |n| {
        n == 1
    });
    mosn.wait_stat("cluster", "grpc", "health_check_success", IO_TIMEOUT, |n| {
        n >= 2
    });
    let stats = mosn.stats();
    let hosts = &stats["cluster"]["grpc"]["hosts"];
    assert_eq!(hosts[local(a_port).to_string()]["healthy"], true, "{hosts}");
    assert_eq!(
        hosts[local(b_port).to_string()]["healthy"],
        false,
        "{hosts}"
    );
}
