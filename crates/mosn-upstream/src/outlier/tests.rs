use super::*;
use crate::lb::LbContext;
use mosn_config::Address;

/// A round-robin cluster on ports 1..=n with `outlier_detection: {od}`, via the parser.
fn cluster(n: u16, od: &str) -> Cluster {
    let hosts: Vec<String> = (1..=n)
        .map(|p| format!(r#"{{"address": "127.0.0.1:{p}"}}"#))
        .collect();
    let json = format!(
        r#"{{"cluster_manager": {{"clusters": [{{"name": "c", "hosts": [{}],
            "outlier_detection": {od}}}]}}}}"#,
        hosts.join(",")
    );
    let parsed = mosn_config::parse_str(&json).expect("valid config");
    Cluster::from_config(&parsed.config.clusters[0], Arc::default())
}

fn port(h: &Host) -> u16 {
    match &h.address {
        Address::Tcp(a) => a.port(),
        Address::Unix(_) => 0,
    }
}

fn in_rotation(c: &Cluster, p: u16) -> bool {
    (0..40).any(|_| port(&c.choose_host(&LbContext::default()).unwrap()) == p)
}

fn ejected(c: &Cluster) -> Vec<u16> {
    c.hosts()
        .iter()
        .filter(|h| !h.is_healthy())
        .map(|h| port(h))
        .collect()
}

fn report(c: &Cluster, i: usize, outcome: Outcome, n: usize, now: Instant) {
    let d = c.outlier.as_ref().unwrap();
    for _ in 0..n {
        c.report_outcome_at(d, &c.hosts()[i], outcome, now);
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn no_outlier_detection_means_no_counting() {
    let json = r#"{"cluster_manager": {"clusters": [{"name": "c",
        "hosts": [{"address": "127.0.0.1:1"}]}]}}"#;
    let parsed = mosn_config::parse_str(json).unwrap();
    let c = Cluster::from_config(&parsed.config.clusters[0], Arc::default());
    for _ in 0..10 {
        c.report_outcome(&c.hosts()[0], Outcome::Status(503));
    }
    assert!(c.hosts()[0].is_healthy());
    assert_eq!(c.hosts()[0].outlier.interval_total.load(Relaxed), 0);
    c.outlier_sweep(Instant::now());
}

#[test]
fn consecutive_5xx_ejects_at_the_threshold_and_successes_reset_the_count() {
    let c = cluster(4, r#"{"consecutive_5xx": 3, "max_ejection_percent": 50}"#);
    let t0 = Instant::now();
    report(&c, 1, Outcome::Status(500), 2, t0);
    report(&c, 1, Outcome::Status(200), 1, t0);
    report(&c, 1, Outcome::Status(500), 2, t0);
    assert!(c.hosts()[1].is_healthy(), "the 200 reset the count");
    // Local failures count as 5xx too.
    report(&c, 1, Outcome::Reset, 1, t0);
    assert_eq!(ejected(&c), [2]);
    assert!(!in_rotation(&c, 2));
    assert_eq!(c.stats.outlier_detection_ejections_enforced_total.get(), 1);
    assert_eq!(c.stats.outlier_detection_ejections_active.get(), 1);
    assert_eq!(c.stats.membership_healthy.get(), 3);
    // 4xx are not failures.
    report(&c, 2, Outcome::Status(404), 10, t0);
    assert!(c.hosts()[2].is_healthy());
}

#[test]
fn consecutive_gateway_failures_eject_only_when_enforced() {
    // Envoy's default enforcing_consecutive_gateway_failure is 0.
    let c = cluster(
        2,
        r#"{"consecutive_5xx": 100, "consecutive_gateway_failure": 3}"#,
    );
    let t0 = Instant::now();
    report(&c, 0, Outcome::Status(502), 5, t0);
    assert!(c.hosts()[0].is_healthy());

    let c = cluster(
        2,
        r#"{"consecutive_5xx": 100, "consecutive_gateway_failure": 3,
            "enforcing_consecutive_gateway_failure": 100, "max_ejection_percent": 50}"#,
    );
    report(&c, 0, Outcome::ConnectFailure, 1, t0);
    report(&c, 0, Outcome::Timeout, 1, t0);
    // A non-gateway 5xx breaks the gateway run.
    report(&c, 0, Outcome::Status(500), 1, t0);
    report(&c, 0, Outcome::Status(503), 2, t0);
    assert!(c.hosts()[0].is_healthy());
    report(&c, 0, Outcome::Status(504), 1, t0);
    assert_eq!(ejected(&c), [1]);
    // enforcing_consecutive_5xx: 0 turns the 5xx ejection off.
    let c = cluster(
        2,
        r#"{"consecutive_5xx": 2, "enforcing_consecutive_5xx": 0, "max_ejection_percent": 50}"#,
    );
    report(&c, 0, Outcome::Status(500), 6, t0);
    assert!(c.hosts()[0].is_healthy());
}

#[test]
fn max_ejection_percent_caps_ejections_but_allows_one() {
    let t0 = Instant::now();
    let c = cluster(4, r#"{"consecutive_5xx": 1, "max_ejection_percent": 50}"#);
    for i in 0..4 {
        report(&c, i, Outcome::Status(503), 1, t0);
    }
    assert_eq!(ejected(&c), [1, 2]);
    assert_eq!(c.stats.outlier_detection_ejections_overflow.get(), 2);
    assert_eq!(c.stats.outlier_detection_ejections_active.get(), 2);

    // 10% of 3 hosts is less than one host: Envoy still ejects one.
    let c = cluster(3, r#"{"consecutive_5xx": 1}"#);
    for i in 0..3 {
        report(&c, i, Outcome::Status(503), 1, t0);
    }
    assert_eq!(ejected(&c), [1]);
    assert_eq!(c.stats.outlier_detection_ejections_overflow.get(), 2);

    // 0% ejects nothing.
    let c = cluster(3, r#"{"consecutive_5xx": 1, "max_ejection_percent": 0}"#);
    report(&c, 0, Outcome::Status(503), 1, t0);
    assert!(ejected(&c).is_empty());

    // 100% of a cluster: all out, panic mode keeps routing.
    let c = cluster(2, r#"{"consecutive_5xx": 1, "max_ejection_percent": 100}"#);
    report(&c, 0, Outcome::Status(503), 1, t0);
    report(&c, 1, Outcome::Status(503), 1, t0);
    assert_eq!(ejected(&c), [1, 2]);
    assert!(in_rotation(&c, 1) && in_rotation(&c, 2));
}

#[test]
fn ejection_time_grows_with_each_ejection_is_capped_and_decays() {
    let c = cluster(
        2,
        r#"{"consecutive_5xx": 2, "max_ejection_percent": 50, "interval": "10s",
            "base_ejection_time": "30s", "max_ejection_time": "70s"}"#,
    );
    let t0 = Instant::now();
    let eject = |at: Instant| report(&c, 0, Outcome::Status(503), 2, at);
    eject(t0);
    assert_eq!(ejected(&c), [1]);
    c.outlier_sweep(t0 + secs(29));
    assert_eq!(ejected(&c), [1], "30s not over");
    c.outlier_sweep(t0 + secs(30));
    assert!(ejected(&c).is_empty(), "returned after 30s");
    assert!(in_rotation(&c, 1));
    assert_eq!(c.stats.outlier_detection_ejections_active.get(), 0);

    // Second ejection right away: 2 × 30s.
    let t1 = t0 + secs(31);
    eject(t1);
    c.outlier_sweep(t1 + secs(59));
    assert_eq!(ejected(&c), [1], "60s not over");
    c.outlier_sweep(t1 + secs(60));
    assert!(ejected(&c).is_empty());

    // Third: 90s capped at max_ejection_time 70s.
    let t2 = t1 + secs(61);
    eject(t2);
    c.outlier_sweep(t2 + secs(69));
    assert_eq!(ejected(&c), [1]);
    c.outlier_sweep(t2 + secs(70));
    assert!(ejected(&c).is_empty());

    // The count (3) decays by one per sweep in rotation: after two sweeps it is 1, so the
    // next ejection lasts 2 × 30s.
    c.outlier_sweep(t2 + secs(80));
    c.outlier_sweep(t2 + secs(90));
    let t3 = t2 + secs(91);
    eject(t3);
    c.outlier_sweep(t3 + secs(59));
    assert_eq!(ejected(&c), [1]);
    c.outlier_sweep(t3 + secs(60));
    assert!(ejected(&c).is_empty());
    assert_eq!(c.stats.outlier_detection_ejections_enforced_total.get(), 4);
}

#[test]
fn success_rate_ejects_hosts_far_below_the_mean() {
    let od = r#"{"consecutive_5xx": 1000, "max_ejection_percent": 50,
        "success_rate_request_volume": 100, "success_rate_minimum_hosts": 5}"#;
    let c = cluster(6, od);
    let t0 = Instant::now();
    for i in 0..5 {
        report(&c, i, Outcome::Status(200), 100, t0);
    }
    report(&c, 5, Outcome::Status(200), 50, t0);
    report(&c, 5, Outcome::Status(500), 50, t0);
    c.outlier_sweep(t0 + secs(10));
    assert_eq!(ejected(&c), [6]);
    assert_eq!(c.stats.outlier_detection_ejections_enforced_total.get(), 1);

    // Fewer than success_rate_minimum_hosts with enough volume: nothing happens.
    let c = cluster(6, od);
    for i in 0..3 {
        report(&c, i, Outcome::Status(200), 100, t0);
    }
    report(&c, 3, Outcome::Status(200), 99, t0);
    report(&c, 5, Outcome::Status(500), 100, t0);
    c.outlier_sweep(t0 + secs(10));
    assert!(ejected(&c).is_empty());

    // Counters are per interval: the next sweep starts from zero.
    let c = cluster(6, od);
    for i in 0..5 {
        report(&c, i, Outcome::Status(200), 60, t0);
    }
    report(&c, 5, Outcome::Status(500), 60, t0);
    c.outlier_sweep(t0 + secs(10));
    for i in 0..5 {
        report(&c, i, Outcome::Status(200), 60, t0);
    }
    report(&c, 5, Outcome::Status(500), 60, t0);
    c.outlier_sweep(t0 + secs(20));
    assert!(ejected(&c).is_empty(), "60 per interval < volume 100");
}

#[test]
fn failure_percentage_ejects_at_the_threshold_when_enforced() {
    let od = r#"{"consecutive_5xx": 1000, "max_ejection_percent": 100,
        "enforcing_success_rate": 0, "enforcing_failure_percentage": 100,
        "failure_percentage_threshold": 85, "failure_percentage_minimum_hosts": 5,
        "failure_percentage_request_volume": 50}"#;
    let c = cluster(5, od);
    let t0 = Instant::now();
    for i in 0..3 {
        report(&c, i, Outcome::Status(200), 50, t0);
    }
    // Host 4: 85% failures (at the threshold); host 5: 80%.
    report(&c, 3, Outcome::Status(200), 15, t0);
    report(&c, 3, Outcome::Timeout, 85, t0);
    report(&c, 4, Outcome::Status(200), 10, t0);
    report(&c, 4, Outcome::Status(502), 40, t0);
    c.outlier_sweep(t0 + secs(10));
    assert_eq!(ejected(&c), [4]);

    // Envoy's default enforcing_failure_percentage is 0.
    let c = cluster(
        5,
        r#"{"consecutive_5xx": 1000, "max_ejection_percent": 100, "enforcing_success_rate": 0}"#,
    );
    for i in 0..4 {
        report(&c, i, Outcome::Status(200), 50, t0);
    }
    report(&c, 4, Outcome::Status(500), 50, t0);
    c.outlier_sweep(t0 + secs(10));
    assert!(ejected(&c).is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_interval_task_returns_ejected_hosts() {
    let c = Arc::new(cluster(
        2,
        r#"{"consecutive_5xx": 3, "interval": "500ms", "base_ejection_time": "2s",
            "max_ejection_percent": 50}"#,
    ));
    let task = tokio::spawn(run(c.clone()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..3 {
        c.report_outcome(&c.hosts()[1], Outcome::Status(503));
    }
    assert_eq!(ejected(&c), [2]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(ejected(&c), [2], "2s not over");
    // Sweeps at 2.0s (ejection 2s old only at ~2.1s) and 2.5s.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(ejected(&c).is_empty());
    assert_eq!(c.stats.outlier_detection_ejections_active.get(), 0);
    task.abort();
}
