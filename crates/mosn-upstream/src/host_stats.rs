//! Per-host counters for the admin API (`/api/v1/stats`, each cluster's `hosts`).
//!
//! Relaxed atomics on the [`Host`], shared by all workers; they follow the `Arc<Host>`,
//! so a host kept across a DNS update keeps its counts, and a config reload (which
//! rebuilds every cluster) starts them over.

use crate::cluster::Cluster;
use crate::host::{HealthFlag, Host};
use crate::outlier::Outcome;
use mosn_api::stats::Counter;
use std::sync::atomic::Ordering;

/// One host's counters; where each is counted is on the field.
#[derive(Debug, Default)]
pub struct HostStats {
    /// Attempts whose outcome the proxy reported ([`Cluster::report_outcome`]): one per
    /// HTTP try (a free retry of a dead pooled connection and an attempt the client
    /// abandoned are not counted), one per `tcp_proxy` connect attempt.
    pub rq_total: Counter,
    /// Reported attempts that failed: 5xx, connect failure, reset, timeout.
    pub rq_error: Counter,
    /// Reported attempts that timed out.
    pub rq_timeout: Counter,
    /// Connections opened (`mosn_stream::ConnPool::connect`).
    pub cx_total: Counter,
    /// Connections that failed or timed out while connecting.
    pub cx_connect_fail: Counter,
    /// Times the cluster's balancer picked this host ([`Cluster::choose_host_for_attempt`]).
    pub lb_picks: Counter,
    /// Times outlier detection ejected this host.
    pub ejections: Counter,
}

impl HostStats {
    /// Counts one attempt's outcome.
    pub(crate) fn record_outcome(&self, outcome: Outcome) {
        self.rq_total.inc();
        match outcome {
            Outcome::Status(s) if !(500..600).contains(&s) => {}
            Outcome::Timeout => {
                self.rq_error.inc();
                self.rq_timeout.inc();
            }
            _ => self.rq_error.inc(),
        }
    }
}

impl HealthFlag {
    /// The flag's name in the admin API (Envoy's `health_flags` spelling).
    pub fn name(self) -> &'static str {
        match self {
            HealthFlag::FailedActiveHealthCheck => "failed_active_hc",
            HealthFlag::FailedOutlierCheck => "failed_outlier_check",
        }
    }
}

impl Host {
    /// The host's stats as the admin API shows them: the counters, `rq_active` and
    /// `cx_active` (the balancers' load counters), `healthy`, `health_flags`, `weight`.
    pub fn stats_json(&self) -> serde_json::Value {
        let s = &self.stats;
        serde_json::json!({
            "rq_total": s.rq_total.get(),
            "rq_active": self.active_requests.load(Ordering::Relaxed),
            "rq_error": s.rq_error.get(),
            "rq_timeout": s.rq_timeout.get(),
            "cx_total": s.cx_total.get(),
            "cx_active": self.active_connections.load(Ordering::Relaxed),
            "cx_connect_fail": s.cx_connect_fail.get(),
            "lb_picks": s.lb_picks.get(),
            "healthy": self.is_healthy(),
            "health_flags": self.health_flags().into_iter().map(HealthFlag::name).collect::<Vec<_>>(),
            "ejections": s.ejections.get(),
            "weight": self.weight,
        })
    }
}

impl Cluster {
    /// Every current host's [`Host::stats_json`], keyed by address (`127.0.0.1:8080`,
    /// `unix:/path`).
    pub fn hosts_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.hosts()
                .iter()
                .map(|h| (crate::health::address_text(&h.address), h.stats_json()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lb::LbContext;
    use std::sync::Arc;

    /// A round-robin cluster on ports 1 and 2 (weight 3), with `outlier_detection` when
    /// `od` is given, via the parser.
    fn cluster(od: Option<&str>) -> Cluster {
        let od = od.map_or(String::new(), |od| {
            format!(r#", "outlier_detection": {od}"#)
        });
        let json = format!(
            r#"{{"cluster_manager": {{"clusters": [{{"name": "c", "lb_type": "LB_ROUNDROBIN",
                "hosts": [{{"address": "127.0.0.1:1", "weight": 3}},
                          {{"address": "127.0.0.1:2", "weight": 3}}]{od}}}]}}}}"#
        );
        let parsed = mosn_config::parse_str(&json).expect("valid config");
        Cluster::from_config(&parsed.config.clusters[0], Arc::default())
    }

    #[test]
    fn picks_and_outcomes_are_counted_per_host() {
        // Counted with and without outlier detection.
        for outlier in [None, Some(r#"{"consecutive_5xx": 100}"#)] {
            let c = cluster(outlier);
            let ctx = LbContext::default();
            for _ in 0..10 {
                let h = c.choose_host(&ctx).unwrap();
                c.report_outcome(&h, Outcome::Status(200));
            }
            let hosts = c.hosts();
            let (a, b) = (&hosts[0], &hosts[1]);
            assert_eq!(a.stats.lb_picks.get() + b.stats.lb_picks.get(), 10);
            assert_eq!(a.stats.rq_total.get() + b.stats.rq_total.get(), 10);
            c.report_outcome(a, Outcome::Status(503));
            c.report_outcome(a, Outcome::Timeout);
            c.report_outcome(a, Outcome::ConnectFailure);
            c.report_outcome(a, Outcome::Reset);
            c.report_outcome(a, Outcome::Status(404));
            assert_eq!(a.stats.rq_error.get(), 4);
            assert_eq!(a.stats.rq_timeout.get(), 1);
            assert_eq!(b.stats.rq_error.get(), 0);

            let _active = a.track_request();
            let json = c.hosts_json();
            let ja = &json["127.0.0.1:1"];
            assert_eq!(ja["rq_total"], a.stats.rq_total.get());
            assert_eq!(ja["rq_active"], 1);
            assert_eq!(ja["rq_error"], 4);
            assert_eq!(ja["rq_timeout"], 1);
            assert_eq!(ja["weight"], 3);
            assert_eq!(json["127.0.0.1:2"]["healthy"], true);
            assert_eq!(json["127.0.0.1:2"]["health_flags"], serde_json::json!([]));
        }
    }

    #[test]
    fn health_flags_are_named() {
        let c = cluster(None);
        let h = &c.hosts()[0];
        h.set_health_flag(HealthFlag::FailedActiveHealthCheck, true);
        h.set_health_flag(HealthFlag::FailedOutlierCheck, true);
        let j = h.stats_json();
        assert_eq!(j["healthy"], false);
        assert_eq!(
            j["health_flags"],
            serde_json::json!(["failed_active_hc", "failed_outlier_check"])
        );
    }
}
