//! Outlier detection: passive ejection of hosts that fail, with Envoy's
//! `outlier_detection` semantics (MOSN has none).
//!
//! - **Hot path** ([`Cluster::report_outcome`]): every upstream attempt's result bumps a
//!   few relaxed atomics on its [`Host`] (`HostCounters`): consecutive 5xx, consecutive
//!   gateway failures (502/503/504) and this interval's requests and failures. Local
//!   failures count as Envoy counts them when `split_external_local_origin_errors` is
//!   false: a connect failure or reset as a 503, a timeout as a 504 — both 5xx and
//!   gateway failures. Nothing happens for a cluster without `outlier_detection`.
//! - **Consecutive errors**: when a counter reaches its threshold the host is ejected at
//!   once (on the reporting worker), with probability `enforcing_consecutive_*` %.
//! - **Every `interval`** ([`Cluster::outlier_sweep`], driven by [`run`] on the
//!   `mosn-health` thread): hosts whose ejection time elapsed return; success-rate and
//!   failure-percentage ejections are computed from the interval's counters (which are
//!   then reset); an un-ejected host's ejection count decays by one.
//! - **Ejection time** = `base_ejection_time` × times ejected, capped at
//!   `max_ejection_time`. Hosts return only at a sweep, as in Envoy.
//! - **`max_ejection_percent`**: an ejection is made when the ejected hosts, this one
//!   included, stay within the percentage (`(active + 1) × 100 ≤ percent × hosts`), or —
//!   Envoy's "will eject at least one host regardless of the value" — when no host is
//!   ejected yet and the percentage is not 0. Otherwise it is counted in
//!   `outlier_detection_ejections_overflow`. `max_ejection_percent: 0` disables ejection.
//!
//! Ejecting sets [`HealthFlag::FailedOutlierCheck`] and rebuilds the rotation (panic mode
//! applies when every host is out); returning clears it. One `info` log line each.

use crate::cluster::Cluster;
use crate::health::address_text;
use crate::host::{HealthFlag, Host};
use mosn_config::OutlierDetectionConfig;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The result of one upstream attempt, as the proxy reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A response head with this status arrived.
    Status(u16),
    /// The connection could not be made (refused, connect timeout).
    ConnectFailure,
    /// The upstream reset or closed the connection before a full response head.
    Reset,
    /// No response head within the (per-try) timeout.
    Timeout,
}

impl Outcome {
    /// The status Envoy maps the outcome to when local errors are not split.
    fn status(self) -> u16 {
        match self {
            Outcome::Status(s) => s,
            Outcome::ConnectFailure | Outcome::Reset => 503,
            Outcome::Timeout => 504,
        }
    }
}

/// Why a host was ejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Consecutive5xx,
    ConsecutiveGatewayFailure,
    SuccessRate,
    FailurePercentage,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Consecutive5xx => "consecutive_5xx",
            Kind::ConsecutiveGatewayFailure => "consecutive_gateway_failure",
            Kind::SuccessRate => "success_rate",
            Kind::FailurePercentage => "failure_percentage",
        }
    }
}

/// A host's outlier state, shared by all workers: relaxed atomic counters (a race may
/// lose one count, never corrupt one) and its ejection, written only under the cluster
/// detector's lock. Living on the host, it follows the host through host-list updates
/// (DNS): a kept host keeps its state, a new one starts fresh.
#[derive(Debug, Default)]
pub(crate) struct HostCounters {
    consecutive_5xx: AtomicU32,
    consecutive_gateway: AtomicU32,
    interval_total: AtomicU64,
    interval_failed: AtomicU64,
    ejection: Mutex<Ejection>,
}

impl HostCounters {
    /// Counts one result; returns the consecutive thresholds it made the host reach.
    fn record(&self, status: u16, cfg: &OutlierDetectionConfig) -> [Option<Kind>; 2] {
        self.interval_total.fetch_add(1, Relaxed);
        if !(500..600).contains(&status) {
            // Avoid writing shared cache lines on the common, successful path.
            if self.consecutive_5xx.load(Relaxed) != 0 {
                self.consecutive_5xx.store(0, Relaxed);
            }
            if self.consecutive_gateway.load(Relaxed) != 0 {
                self.consecutive_gateway.store(0, Relaxed);
            }
            return [None, None];
        }
        self.interval_failed.fetch_add(1, Relaxed);
        let gateway = if matches!(status, 502..=504) {
            let n = self.consecutive_gateway.fetch_add(1, Relaxed) + 1;
            (n == cfg.consecutive_gateway_failure).then_some(Kind::ConsecutiveGatewayFailure)
        } else {
            self.consecutive_gateway.store(0, Relaxed);
            None
        };
        let n = self.consecutive_5xx.fetch_add(1, Relaxed) + 1;
        [
            gateway,
            (n == cfg.consecutive_5xx).then_some(Kind::Consecutive5xx),
        ]
    }

    fn reset_consecutive(&self) {
        self.consecutive_5xx.store(0, Relaxed);
        self.consecutive_gateway.store(0, Relaxed);
    }

    /// This interval's (requests, failures), resetting them for the next.
    fn take_interval(&self) -> (u64, u64) {
        let total = self.interval_total.swap(0, Relaxed);
        let failed = self.interval_failed.swap(0, Relaxed).min(total);
        (total, failed)
    }

    fn ejection(&self) -> std::sync::MutexGuard<'_, Ejection> {
        self.ejection.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_ejected(&self) -> bool {
        self.ejection().since.is_some()
    }
}

/// One host's ejection state.
#[derive(Debug, Clone, Copy, Default)]
struct Ejection {
    /// When the host was ejected, while it is.
    since: Option<Instant>,
    /// Times ejected, decayed by one per interval spent in rotation.
    times: u32,
}

/// The outlier detection of one cluster: its settings, and a lock that serializes
/// ejection decisions (taken only to eject or sweep, never for a plain report).
#[derive(Debug)]
pub struct OutlierDetector {
    config: OutlierDetectionConfig,
    decide: Mutex<()>,
}

impl OutlierDetector {
    pub(crate) fn new(config: OutlierDetectionConfig) -> Self {
        Self {
            config,
            decide: Mutex::new(()),
        }
    }

    /// The settings.
    pub fn config(&self) -> &OutlierDetectionConfig {
        &self.config
    }

    /// How long the `times`-th ejection lasts.
    fn ejection_time(&self, times: u32) -> Duration {
        self.config
            .base_ejection_time
            .saturating_mul(times.max(1))
            .min(self.config.max_ejection_time)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.decide.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// True with probability `percent` %.
fn enforced(percent: u32) -> bool {
    percent >= 100 || (percent > 0 && fastrand::u32(0..100) < percent)
}

impl Cluster {
    /// Reports the result of one upstream attempt to `host` (a host of this cluster): counted
    /// in the host's stats (`rq_total`, `rq_error`, `rq_timeout`) always, and for outlier
    /// detection when the cluster has `outlier_detection`. A few relaxed atomics, except
    /// when a consecutive-error threshold is reached.
    pub fn report_outcome(&self, host: &Host, outcome: Outcome) {
        host.stats.record_outcome(outcome);
        if let Some(detector) = &self.outlier {
            let reached = host.outlier.record(outcome.status(), &detector.config);
            if reached != [None, None] {
                self.consecutive_reached(detector, host, reached, Instant::now());
            }
        }
    }

    /// [`Cluster::report_outcome`] at an explicit time (tests).
    #[cfg(test)]
    fn report_outcome_at(
        &self,
        detector: &OutlierDetector,
        host: &Host,
        outcome: Outcome,
        now: Instant,
    ) {
        let reached = host.outlier.record(outcome.status(), &detector.config);
        self.consecutive_reached(detector, host, reached, now);
    }

    /// Ejects `host` for the consecutive-error thresholds it just reached.
    fn consecutive_reached(
        &self,
        detector: &OutlierDetector,
        host: &Host,
        reached: [Option<Kind>; 2],
        now: Instant,
    ) {
        for kind in reached.into_iter().flatten() {
            let enforcing = match kind {
                Kind::ConsecutiveGatewayFailure => {
                    detector.config.enforcing_consecutive_gateway_failure
                }
                _ => detector.config.enforcing_consecutive_5xx,
            };
            let _decide = detector.lock();
            let hosts = self.hosts();
            // A host a DNS update just removed is not ejected.
            let changed = hosts.iter().any(|h| std::ptr::eq(&**h, host))
                && self.eject(detector, &hosts, host, kind, enforcing, now);
            // Envoy resets the counter so another bout of errors is detected afresh.
            match kind {
                Kind::ConsecutiveGatewayFailure => {
                    host.outlier.consecutive_gateway.store(0, Relaxed)
                }
                _ => host.outlier.consecutive_5xx.store(0, Relaxed),
            }
            if changed {
                self.outlier_health_changed();
            }
        }
    }

    /// Ejects `host` unless it is out already, the ejection is not enforced this time, or
    /// `max_ejection_percent` forbids it; the caller holds the detector's lock. True when
    /// the rotation must be rebuilt.
    fn eject(
        &self,
        detector: &OutlierDetector,
        hosts: &[Arc<Host>],
        host: &Host,
        kind: Kind,
        enforcing: u32,
        now: Instant,
    ) -> bool {
        if host.outlier.is_ejected() || !enforced(enforcing) {
            return false;
        }
        let active = hosts.iter().filter(|h| h.outlier.is_ejected()).count();
        let percent = detector.config.max_ejection_percent as usize;
        let allowed = (active + 1) * 100 <= percent * hosts.len() || (active == 0 && percent > 0);
        if !allowed {
            self.stats.outlier_detection_ejections_overflow.inc();
            return false;
        }
        let times = {
            let mut e = host.outlier.ejection();
            e.since = Some(now);
            e.times = e.times.saturating_add(1);
            e.times
        };
        host.outlier.reset_consecutive();
        host.stats.ejections.inc();
        self.stats.outlier_detection_ejections_enforced_total.inc();
        self.stats
            .outlier_detection_ejections_active
            .set(i64::try_from(active + 1).unwrap_or(i64::MAX));
        tracing::info!(
            cluster = %self.name,
            host = %address_text(&host.address),
            kind = kind.name(),
            ejection_time = ?detector.ejection_time(times),
            "outlier detection: host ejected"
        );
        host.set_health_flag(HealthFlag::FailedOutlierCheck, true)
    }

    /// One interval's work: return hosts whose ejection time elapsed, decay the others'
    /// ejection counts, then success-rate and failure-percentage ejections from the
    /// interval's counters (reset for the next). A no-op without `outlier_detection`.
    pub fn outlier_sweep(&self, now: Instant) {
        let Some(detector) = &self.outlier else {
            return;
        };
        let cfg = &detector.config;
        let _decide = detector.lock();
        let hosts = self.hosts();
        let mut changed = false;
        for host in hosts.iter() {
            let mut e = host.outlier.ejection();
            match e.since {
                Some(since)
                    if now.saturating_duration_since(since) >= detector.ejection_time(e.times) =>
                {
                    e.since = None;
                    drop(e);
                    host.outlier.reset_consecutive();
                    changed |= host.set_health_flag(HealthFlag::FailedOutlierCheck, false);
                    tracing::info!(
                        cluster = %self.name,
                        host = %address_text(&host.address),
                        "outlier detection: host returned"
                    );
                }
                Some(_) => {}
                None => e.times = e.times.saturating_sub(1),
            }
        }
        // (host, requests, failures) of the hosts in rotation this interval.
        let counts: Vec<(&Arc<Host>, u64, u64)> = hosts
            .iter()
            .map(|h| {
                let (total, failed) = h.outlier.take_interval();
                (h, total, failed)
            })
            .filter(|(h, _, _)| !h.outlier.is_ejected())
            .collect();

        // Success rate: hosts below mean - stdev × factor.
        let volume = u64::from(cfg.success_rate_request_volume).max(1);
        let rates: Vec<(&Arc<Host>, f64)> = counts
            .iter()
            .filter(|&&(_, total, _)| total >= volume)
            .map(|&(h, total, failed)| (h, 100.0 * (total - failed) as f64 / total as f64))
            .collect();
        if !rates.is_empty() && rates.len() >= cfg.success_rate_minimum_hosts as usize {
            let n = rates.len() as f64;
            let mean = rates.iter().map(|r| r.1).sum::<f64>() / n;
            let variance = rates.iter().map(|r| (r.1 - mean).powi(2)).sum::<f64>() / n;
            let threshold =
                mean - variance.sqrt() * (f64::from(cfg.success_rate_stdev_factor) / 1000.0);
            for &(h, rate) in &rates {
                if rate < threshold {
                    changed |= self.eject(
                        detector,
                        &hosts,
                        h,
                        Kind::SuccessRate,
                        cfg.enforcing_success_rate,
                        now,
                    );
                }
            }
        }

        // Failure percentage: hosts at or above the threshold.
        let volume = u64::from(cfg.failure_percentage_request_volume).max(1);
        let qualified: Vec<(&Arc<Host>, u64, u64)> = counts
            .into_iter()
            .filter(|&(_, total, _)| total >= volume)
            .collect();
        if !qualified.is_empty() && qualified.len() >= cfg.failure_percentage_minimum_hosts as usize
        {
            for (h, total, failed) in qualified {
                if failed * 100 >= u64::from(cfg.failure_percentage_threshold) * total {
                    changed |= self.eject(
                        detector,
                        &hosts,
                        h,
                        Kind::FailurePercentage,
                        cfg.enforcing_failure_percentage,
                        now,
                    );
                }
            }
        }
        let active = hosts.iter().filter(|h| h.outlier.is_ejected()).count();
        self.stats
            .outlier_detection_ejections_active
            .set(i64::try_from(active).unwrap_or(i64::MAX));
        if changed {
            self.outlier_health_changed();
        }
    }

    /// Rebuilds the rotation and `membership_healthy` after an ejection or return.
    fn outlier_health_changed(&self) {
        self.refresh_rotation();
        let healthy = self.hosts().iter().filter(|h| h.is_healthy()).count();
        self.stats
            .membership_healthy
            .set(i64::try_from(healthy).unwrap_or(i64::MAX));
    }
}

/// Sweeps `cluster` every `interval` until the task is dropped; spawn it on the
/// `mosn-health` thread's runtime (see [`crate::health::cluster_group`]).
pub async fn run(cluster: Arc<Cluster>) {
    let Some(interval) = cluster.outlier.as_ref().map(|d| d.config.interval) else {
        return;
    };
    tracing::info!(cluster = %cluster.name, ?interval, "outlier detection started");
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        cluster.outlier_sweep(tokio::time::Instant::now().into_std());
    }
}

#[cfg(test)]
mod tests;
