//! Runs the checks: one task per host, all on one thread.

use super::event_log::EventLog;
use super::state::{HostHealth, Transition};
use super::{
    address_text, CheckResult, GrpcChecker, HealthChecker, HeartbeatChecker, HttpChecker,
    TcpChecker,
};
use crate::cluster::Cluster;
use crate::control_thread::{ControlThread, GroupStart};
use crate::host::{HealthFlag, Host};
use mosn_config::{HealthCheckConfig, HealthCheckKind};
use mosn_protocol::xprotocol::codec;
use std::cell::RefCell;
use std::collections::HashSet;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// The active health check of one cluster: its settings and what one check does.
pub struct ClusterHealthCheck {
    cluster: Arc<Cluster>,
    config: HealthCheckConfig,
    checker: Arc<dyn HealthChecker>,
}

impl std::fmt::Debug for ClusterHealthCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterHealthCheck")
            .field("cluster", &self.cluster.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ClusterHealthCheck {
    /// The check `config` describes (TCP connect, HTTP or gRPC) for `cluster`.
    pub fn from_config(cluster: Arc<Cluster>, config: &HealthCheckConfig) -> Self {
        let checker: Arc<dyn HealthChecker> = match &config.check {
            HealthCheckKind::Tcp => Arc::new(TcpChecker::new(config.timeout)),
            HealthCheckKind::Http(http) => {
                Arc::new(HttpChecker::new(http.clone(), cluster.tls.clone()))
            }
            HealthCheckKind::Grpc(grpc) => Arc::new(GrpcChecker::new(grpc.clone())),
            HealthCheckKind::Heartbeat(protocol) => {
                // The config layer only builds heartbeat checks for RPC protocols, whose
                // codecs are all registered; anything else would get MOSN's TCP dial.
                match protocol.rpc_name().and_then(codec) {
                    Some(c) => Arc::new(HeartbeatChecker::new(c, config.timeout)),
                    None => Arc::new(TcpChecker::new(config.timeout)),
                }
            }
        };
        Self::with_checker(cluster, config, checker)
    }

    /// A custom check (RPC heartbeats, tests) run with `config`'s timing, thresholds and
    /// event log; `config.check` is not used.
    pub fn with_checker(
        cluster: Arc<Cluster>,
        config: &HealthCheckConfig,
        checker: Arc<dyn HealthChecker>,
    ) -> Self {
        Self {
            cluster,
            config: config.clone(),
            checker,
        }
    }

    /// Spawns one checking task per host on the current [`LocalSet`] (the caller must run
    /// inside one); the tasks run until the `LocalSet` is dropped. The host list may be
    /// replaced at runtime (DNS clusters): a membership task re-reads it every `interval`
    /// and starts checking hosts that joined, and a host's task ends at its next check
    /// once the host has left the cluster.
    pub fn start(self) {
        let event_log = self.config.event_log_path.as_deref().and_then(|path| {
            EventLog::open(path)
                .map_err(|e| {
                    tracing::error!(
                        cluster = %self.cluster.name,
                        path,
                        error = %e,
                        "cannot open the health check event log"
                    );
                })
                .ok()
        });
        let run = Rc::new(ClusterRun {
            cluster: self.cluster,
            config: self.config,
            checker: self.checker,
            event_log: RefCell::new(event_log),
            checked: RefCell::new(HashSet::new()),
        });
        run.update_gauge();
        tracing::info!(
            cluster = %run.cluster.name,
            hosts = run.cluster.hosts().len(),
            service_name = %run.config.service_name,
            "health check started"
        );
        run.start_new_hosts();
        tokio::task::spawn_local(run.clone().watch_membership());
    }
}

/// What the host tasks of one cluster share.
struct ClusterRun {
    cluster: Arc<Cluster>,
    config: HealthCheckConfig,
    checker: Arc<dyn HealthChecker>,
    event_log: RefCell<Option<EventLog>>,
    /// Hosts with a checking task, by `Arc` pointer.
    checked: RefCell<HashSet<usize>>,
}

impl ClusterRun {
    /// Starts a checking task for every host of the cluster that has none.
    fn start_new_hosts(self: &Rc<Self>) {
        for host in self.cluster.hosts().iter() {
            if self.checked.borrow_mut().insert(host_key(host)) {
                tokio::task::spawn_local(self.clone().check_host(host.clone()));
            }
        }
    }

    /// Picks up hosts added at runtime, once per `interval`.
    async fn watch_membership(self: Rc<Self>) {
        loop {
            tokio::time::sleep(self.config.interval).await;
            self.start_new_hosts();
            self.update_gauge();
        }
    }

    async fn check_host(self: Rc<Self>, host: Arc<Host>) {
        let mut health = HostHealth::default();
        tokio::time::sleep(self.config.initial_delay).await;
        loop {
            if host.is_removed() {
                // Removed from the cluster (DNS): stop checking it.
                self.checked.borrow_mut().remove(&host_key(&host));
                return;
            }
            let result = self.check_once(&host).await;
            self.record(&host, &mut health, &result);
            tokio::time::sleep(self.next_interval()).await;
        }
    }

    /// One check bounded by `timeout`, counted in the cluster's stats.
    async fn check_once(&self, host: &Host) -> CheckResult {
        let stats = &self.cluster.stats;
        stats.health_check_attempt.inc();
        let timeout = self.config.timeout;
        let result = match tokio::time::timeout(timeout, self.checker.check(host)).await {
            Ok(result) => result,
            Err(_) => Err(format!("check timed out after {timeout:?}")),
        };
        match &result {
            Ok(()) => stats.health_check_success.inc(),
            Err(_) => stats.health_check_failure.inc(),
        }
        result
    }

    /// Applies one result: thresholds, the host's flag, the rotation, gauge and logs.
    fn record(&self, host: &Host, health: &mut HostHealth, result: &CheckResult) {
        let transition = health.record(
            result.is_ok(),
            self.config.healthy_threshold,
            self.config.unhealthy_threshold,
        );
        let address = address_text(&host.address);
        if let Some(transition) = transition {
            let failed = transition == Transition::BecameUnhealthy;
            if host.set_health_flag(HealthFlag::FailedActiveHealthCheck, failed) {
                self.cluster.refresh_rotation();
            }
            self.update_gauge();
            match result {
                Ok(()) => tracing::info!(
                    cluster = %self.cluster.name,
                    host = %address,
                    "health check: host is healthy"
                ),
                Err(reason) => tracing::warn!(
                    cluster = %self.cluster.name,
                    host = %address,
                    reason = %reason,
                    "health check: host is unhealthy"
                ),
            }
        } else if let Err(reason) = result {
            tracing::debug!(
                cluster = %self.cluster.name,
                host = %address,
                reason = %reason,
                "health check failed"
            );
        }
        if let Some(log) = self.event_log.borrow_mut().as_mut() {
            if let Err(e) = log.record(
                &self.cluster.name,
                &address,
                !health.is_failed(),
                result,
                transition.is_some(),
            ) {
                tracing::warn!(cluster = %self.cluster.name, error = %e, "health check event log write failed");
            }
        }
    }

    /// `interval` plus a random jitter in `[0, interval_jitter)`, as in MOSN.
    fn next_interval(&self) -> Duration {
        let jitter = u64::try_from(self.config.interval_jitter.as_nanos()).unwrap_or(u64::MAX);
        let extra = if jitter == 0 {
            0
        } else {
            fastrand::u64(0..jitter)
        };
        self.config.interval + Duration::from_nanos(extra)
    }

    /// `membership_healthy`: hosts of the cluster with no health flag set.
    fn update_gauge(&self) {
        let healthy = self
            .cluster
            .hosts()
            .iter()
            .filter(|h| h.is_healthy())
            .count();
        self.cluster
            .stats
            .membership_healthy
            .set(i64::try_from(healthy).unwrap_or(i64::MAX));
    }
}

/// A host's identity while its `Arc` lives (the checking task holds it).
fn host_key(host: &Arc<Host>) -> usize {
    Arc::as_ptr(host) as usize
}

/// Starts every check on a new thread, `mosn-health`, with its own single-threaded tokio
/// runtime. The checks run until [`HealthCheckHandle::shutdown`] (or drop).
pub fn spawn(checks: Vec<ClusterHealthCheck>) -> io::Result<HealthCheckHandle> {
    ControlThread::spawn("mosn-health", move || {
        for check in checks {
            check.start();
        }
    })
}

/// The control work of one cluster on the `mosn-health` thread, as one group (see
/// [`ControlThread::set_group`]): its active health check when it has one, the interval
/// sweep of outlier detection ([`crate::outlier::run`]) and slow start's periodic
/// rotation rebuild ([`crate::slow_start::run`]); `None` when the cluster has none of
/// them.
pub fn cluster_group(
    cluster: Arc<Cluster>,
    health_check: Option<&HealthCheckConfig>,
) -> Option<GroupStart> {
    if health_check.is_none() && cluster.outlier.is_none() && cluster.slow_start.is_none() {
        return None;
    }
    let check = health_check.map(|hc| ClusterHealthCheck::from_config(cluster.clone(), hc));
    Some(Box::new(move || {
        Box::pin(async move {
            if let Some(check) = check {
                check.start();
            }
            // Each returns at once when its feature is off for the cluster.
            tokio::task::spawn_local(crate::slow_start::run(cluster.clone()));
            crate::outlier::run(cluster).await;
        })
    }))
}

/// The running `mosn-health` thread; stops it (and waits for it) on `shutdown` or drop.
pub type HealthCheckHandle = ControlThread;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::CheckFuture;
    use crate::lb::LbContext;
    use mosn_config::Address;
    use std::sync::Mutex;
    use tokio::task::LocalSet;
    use tokio::time::{sleep, Instant};

    /// Healthy unless the host's port is in `down`; counts checks per port.
    #[derive(Default)]
    struct Scripted {
        down: Mutex<HashSet<u16>>,
    }

    impl Scripted {
        fn set_down(&self, port: u16, down: bool) {
            let mut set = self.down.lock().unwrap();
            if down {
                set.insert(port);
            } else {
                set.remove(&port);
            }
        }
    }

    fn port(host: &Host) -> u16 {
        match &host.address {
            Address::Tcp(a) => a.port(),
            Address::Unix(_) => 0,
        }
    }

    impl HealthChecker for Scripted {
        fn check<'a>(&'a self, host: &'a Host) -> CheckFuture<'a> {
            let down = self.down.lock().unwrap().contains(&port(host));
            Box::pin(async move {
                if down {
                    Err("scripted failure".to_owned())
                } else {
                    Ok(())
                }
            })
        }
    }

    /// Never answers: every check runs into the timeout.
    struct Hangs;

    impl HealthChecker for Hangs {
        fn check<'a>(&'a self, _host: &'a Host) -> CheckFuture<'a> {
            Box::pin(std::future::pending())
        }
    }

    /// A round-robin cluster on `ports` and its health check config, via the config parser
    /// (so these tests do not depend on every field of the model).
    fn setup(ports: &[u16], health_check: &str) -> (Arc<Cluster>, HealthCheckConfig) {
        let hosts: Vec<String> = ports
            .iter()
            .map(|p| format!(r#"{{"address": "127.0.0.1:{p}"}}"#))
            .collect();
        let json = format!(
            r#"{{"cluster_manager": {{"clusters": [{{"name": "c", "hosts": [{}],
                "health_check": {health_check}}}]}}}}"#,
            hosts.join(",")
        );
        let parsed = mosn_config::parse_str(&json).expect("valid config");
        let cfg = &parsed.config.clusters[0];
        let hc = *cfg.health_check.clone().expect("a health check");
        (Arc::new(Cluster::from_config(cfg, Arc::default())), hc)
    }

    fn in_rotation(cluster: &Cluster, port_: u16) -> bool {
        (0..20).any(|_| port(&cluster.choose_host(&LbContext::default()).unwrap()) == port_)
    }

    /// Sleeps until `ms` after `start` (paused time: instant and exact).
    async fn until(start: Instant, ms: u64) {
        tokio::time::sleep_until(start + Duration::from_millis(ms)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn thresholds_take_a_host_out_and_back() {
        let (cluster, mut hc) = setup(
            &[1, 2, 3],
            r#"{"service_name": "s", "interval": "100ms", "initial_delay_seconds": "10ms",
                "unhealthy_threshold": 3, "healthy_threshold": 2}"#,
        );
        hc.interval_jitter = Duration::ZERO;
        let script = Arc::new(Scripted::default());
        script.set_down(2, true);
        let local = LocalSet::new();
        local
            .run_until(async {
                let start = Instant::now();
                ClusterHealthCheck::with_checker(cluster.clone(), &hc, script.clone()).start();
                // Checks at 10, 110, 210, 310... ms.
                assert_eq!(cluster.stats.membership_healthy.get(), 3);
                until(start, 150).await;
                assert!(cluster.hosts()[1].is_healthy(), "2 failures < threshold 3");
                assert!(in_rotation(&cluster, 2));
                until(start, 250).await;
                assert!(!cluster.hosts()[1].is_healthy(), "3 failures");
                assert!(!in_rotation(&cluster, 2));
                assert!((0..100)
                    .all(|_| { port(&cluster.choose_host(&LbContext::default()).unwrap()) != 2 }));
                assert_eq!(cluster.stats.membership_healthy.get(), 2);
                script.set_down(2, false);
                until(start, 350).await;
                assert!(!cluster.hosts()[1].is_healthy(), "1 success < threshold 2");
                until(start, 450).await;
                assert!(cluster.hosts()[1].is_healthy(), "2 successes");
                assert!(in_rotation(&cluster, 2));
                assert_eq!(cluster.stats.membership_healthy.get(), 3);
                // 5 rounds of 3 hosts; host 2 failed 3 of its 5.
                assert_eq!(cluster.stats.health_check_attempt.get(), 15);
                assert_eq!(cluster.stats.health_check_failure.get(), 3);
                assert_eq!(cluster.stats.health_check_success.get(), 12);
            })
            .await;
    }

    #[tokio::test(start_paused = true)]
    async fn hosts_replaced_at_runtime_are_checked_and_removed_ones_are_not() {
        let (cluster, mut hc) = setup(
            &[1],
            r#"{"service_name": "s", "interval": "100ms", "initial_delay_seconds": "10ms",
                "unhealthy_threshold": 1}"#,
        );
        hc.interval_jitter = Duration::ZERO;
        let script = Arc::new(Scripted::default());
        script.set_down(2, true);
        LocalSet::new()
            .run_until(async {
                let start = Instant::now();
                ClusterHealthCheck::with_checker(cluster.clone(), &hc, script.clone()).start();
                until(start, 50).await;
                assert_eq!(cluster.stats.health_check_attempt.get(), 1);
                let addr = Address::Tcp(([127, 0, 0, 1], 2).into());
                assert!(cluster.update_hosts(&[mosn_config::HostConfig::new(addr, None, 1)]));
                // The membership pass at 100 ms starts host 2 (first check at 110 ms);
                // host 1's task sees at 110 ms that it left and ends.
                until(start, 150).await;
                assert!(!cluster.hosts()[0].is_healthy(), "host 2 checked");
                assert_eq!(cluster.stats.membership_healthy.get(), 0);
                until(start, 450).await;
                // Host 1 once; host 2 at 110, 210, 310, 410 ms.
                assert_eq!(cluster.stats.health_check_attempt.get(), 5);
            })
            .await;
    }

    #[tokio::test(start_paused = true)]
    async fn all_hosts_down_is_panic_mode() {
        let (cluster, hc) = setup(
            &[1, 2],
            r#"{"service_name": "s", "interval": "100ms", "initial_delay_seconds": "10ms"}"#,
        );
        let script = Arc::new(Scripted::default());
        script.set_down(1, true);
        script.set_down(2, true);
        LocalSet::new()
            .run_until(async {
                ClusterHealthCheck::with_checker(cluster.clone(), &hc, script.clone()).start();
                sleep(Duration::from_millis(50)).await;
                assert!(cluster.hosts().iter().all(|h| !h.is_healthy()));
                assert_eq!(cluster.stats.membership_healthy.get(), 0);
                // Better to try than to fail everything.
                assert!(in_rotation(&cluster, 1) && in_rotation(&cluster, 2));
            })
            .await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_check_that_does_not_finish_in_time_fails() {
        let (cluster, hc) = setup(
            &[1],
            r#"{"service_name": "s", "interval": "1s", "timeout": "300ms",
                "initial_delay_seconds": "100ms", "unhealthy_threshold": 2}"#,
        );
        LocalSet::new()
            .run_until(async {
                let start = Instant::now();
                ClusterHealthCheck::with_checker(cluster.clone(), &hc, Arc::new(Hangs)).start();
                // First check 100..400 ms, second from ~1.4 s (+ up to 5 ms jitter).
                until(start, 450).await;
                assert_eq!(cluster.stats.health_check_failure.get(), 1);
                assert!(cluster.hosts()[0].is_healthy());
                until(start, 1800).await;
                assert_eq!(cluster.stats.health_check_failure.get(), 2);
                assert!(!cluster.hosts()[0].is_healthy());
            })
            .await;
    }

    #[test]
    fn the_thread_stops_on_shutdown() {
        let (cluster, mut hc) = setup(
            &[1],
            r#"{"service_name": "s", "interval": "10ms", "initial_delay_seconds": "1ms"}"#,
        );
        hc.interval_jitter = Duration::ZERO;
        let handle = spawn(vec![ClusterHealthCheck::with_checker(
            cluster.clone(),
            &hc,
            Arc::new(Scripted::default()),
        )])
        .expect("spawn");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while cluster.stats.health_check_attempt.get() < 3 {
            assert!(std::time::Instant::now() < deadline, "no checks ran");
            std::thread::sleep(Duration::from_millis(5));
        }
        let started = std::time::Instant::now();
        handle.shutdown();
        assert!(started.elapsed() < Duration::from_secs(2));
        let attempts = cluster.stats.health_check_attempt.get();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(cluster.stats.health_check_attempt.get(), attempts);
    }
}
