//! One upstream endpoint with its live state: health flags and load counters that
//! balancers, health checks and outlier detection share.

use mosn_config::{Address, Metadata};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How fast the peak-EWMA latency forgets (Finagle's and linkerd's decay time): a sample
/// weighs `e^-1` after this long.
pub const PEAK_EWMA_DECAY: Duration = Duration::from_secs(10);

/// Why a host is out of rotation; a host is healthy when no flag is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum HealthFlag {
    /// The active health check failed.
    FailedActiveHealthCheck = 1,
    /// Outlier detection ejected the host.
    FailedOutlierCheck = 2,
}

/// One upstream endpoint.
#[derive(Debug)]
pub struct Host {
    /// Where to connect.
    pub address: Address,
    /// `hostname` from config, informational.
    pub hostname: Option<String>,
    /// Relative weight for weighted balancers (≥ 1).
    pub weight: u32,
    /// Labels subsets select on (`metadata.filter_metadata["mosn.lb"]`).
    pub metadata: Metadata,
    /// `tls_disable`: reached without TLS even when the cluster has a `tls_context`.
    pub tls_disable: bool,
    /// When the host joined the cluster, for slow start.
    pub added: Instant,
    /// When the host last became healthy again, on the [`clock_ns`] clock plus 1; 0 when
    /// it never did (slow start's window then starts at `added`).
    returned_ns: AtomicU64,
    /// Requests in flight to this host, across workers (least-request balancing).
    pub active_requests: AtomicU64,
    /// Connections open to this host, across workers (least-connection balancing).
    pub active_connections: AtomicU64,
    health: AtomicU8,
    /// Peak-EWMA response latency in nanoseconds; 0 until the first sample.
    ewma_latency_ns: AtomicU64,
    /// When `ewma_latency_ns` was last updated, on the [`clock_ns`] clock.
    ewma_updated_ns: AtomicU64,
    /// Outlier detection's counters (consecutive errors, this interval's requests);
    /// untouched when the cluster has no `outlier_detection`.
    pub(crate) outlier: crate::outlier::HostCounters,
    /// Set when the host left its cluster's host list (`crate::cluster_hosts`).
    pub(crate) removed: std::sync::atomic::AtomicBool,
    /// Counters for the admin API (`crate::host_stats`).
    pub stats: crate::host_stats::HostStats,
}

impl Host {
    /// A healthy host with no load.
    pub fn new(address: Address, hostname: Option<String>, weight: u32) -> Self {
        Self {
            address,
            hostname,
            weight: weight.max(1),
            metadata: Metadata::default(),
            tls_disable: false,
            added: Instant::now(),
            returned_ns: AtomicU64::new(0),
            active_requests: AtomicU64::new(0),
            active_connections: AtomicU64::new(0),
            health: AtomicU8::new(0),
            ewma_latency_ns: AtomicU64::new(0),
            ewma_updated_ns: AtomicU64::new(0),
            outlier: crate::outlier::HostCounters::default(),
            removed: std::sync::atomic::AtomicBool::new(false),
            stats: Default::default(),
        }
    }

    /// The host with subset labels.
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// When the host's slow start window began: when it last returned to rotation after
    /// being unhealthy, else when it joined (`added`).
    pub fn in_rotation_since(&self) -> Instant {
        match self.returned_ns.load(Ordering::Relaxed) {
            0 => self.added,
            ns => epoch() + Duration::from_nanos(ns - 1),
        }
    }

    /// Sets when the slow start window began, as if the host returned to rotation `at`.
    #[cfg(test)]
    pub(crate) fn set_in_rotation_since(&self, at: Instant) {
        let ns = clock_ns(at).saturating_add(1);
        self.returned_ns.store(ns, Ordering::Relaxed);
    }

    /// True when no health flag is set.
    pub fn is_healthy(&self) -> bool {
        self.health.load(Ordering::Relaxed) == 0
    }

    /// The health flags set now.
    pub fn health_flags(&self) -> Vec<HealthFlag> {
        let bits = self.health.load(Ordering::Relaxed);
        [
            HealthFlag::FailedActiveHealthCheck,
            HealthFlag::FailedOutlierCheck,
        ]
        .into_iter()
        .filter(|f| bits & *f as u8 != 0)
        .collect()
    }

    /// Sets or clears one health flag; returns true when healthiness changed, so the
    /// caller knows to rebuild the cluster's healthy set.
    pub fn set_health_flag(&self, flag: HealthFlag, failed: bool) -> bool {
        let bit = flag as u8;
        let old = if failed {
            self.health.fetch_or(bit, Ordering::Relaxed)
        } else {
            self.health.fetch_and(!bit, Ordering::Relaxed)
        };
        let new = if failed { old | bit } else { old & !bit };
        if old != 0 && new == 0 {
            let now = clock_ns(Instant::now()).saturating_add(1);
            self.returned_ns.store(now, Ordering::Relaxed);
        }
        (old == 0) != (new == 0)
    }

    /// Feeds one observed latency (request sent → response head received) into the
    /// peak-EWMA estimate `LB_PEAK_EWMA` balances on: a sample above the estimate replaces
    /// it at once (the peak), a lower one is blended in, weighted by how long ago the last
    /// sample came (decay time [`PEAK_EWMA_DECAY`]). Lock-free; a race between workers
    /// may lose one sample's blend, never corrupt the value.
    pub fn record_latency(&self, latency: Duration) {
        let now = clock_ns(Instant::now());
        let sample = nanos(latency).max(1);
        let last = self.ewma_updated_ns.swap(now, Ordering::Relaxed);
        let weight = decay_weight(now.saturating_sub(last));
        let _ = self
            .ewma_latency_ns
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(if old == 0 || sample >= old {
                    sample
                } else {
                    // Both in 1..=old, so the blend stays ≥ 1 (0 means "no sample").
                    ((old as f64 * weight + sample as f64 * (1.0 - weight)) as u64).max(1)
                })
            });
    }

    /// The peak-EWMA latency estimate in nanoseconds as of `now`, decayed toward 0 since
    /// its last sample (so a host that has not been tried for a while gets probed again,
    /// as in Finagle); `None` before the first sample.
    pub fn peak_ewma_latency(&self, now: Instant) -> Option<f64> {
        self.peak_ewma_latency_at(clock_ns(now))
    }

    /// [`Host::peak_ewma_latency`] with `now` already on the [`clock_ns`] clock, so that
    /// a balancer comparing several hosts reads the clock once.
    pub(crate) fn peak_ewma_latency_at(&self, now_ns: u64) -> Option<f64> {
        let estimate = self.ewma_latency_ns.load(Ordering::Relaxed);
        if estimate == 0 {
            return None;
        }
        let updated = self.ewma_updated_ns.load(Ordering::Relaxed);
        Some(estimate as f64 * decay_weight(now_ns.saturating_sub(updated)))
    }

    /// Counts a request to this host until the guard drops.
    pub fn track_request(&self) -> ActiveRequest<'_> {
        self.active_requests.fetch_add(1, Ordering::Relaxed);
        ActiveRequest(self)
    }
}

/// `at` in nanoseconds since the first time any host read the clock (one epoch for the
/// process, so a pick converts `Instant::now()` once for all hosts it compares).
pub(crate) fn clock_ns(at: Instant) -> u64 {
    nanos(at.saturating_duration_since(epoch()))
}

/// The [`clock_ns`] clock's zero.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// A duration in nanoseconds, saturating (584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The weight an estimate keeps after `elapsed_ns`: `e^(-elapsed / decay)`.
fn decay_weight(elapsed_ns: u64) -> f64 {
    const PER_NS: f64 = 1.0 / (PEAK_EWMA_DECAY.as_secs() as f64 * 1e9);
    (-(elapsed_ns as f64) * PER_NS).exp()
}

/// Decrements the host's active request count on drop; see [`Host::track_request`].
#[derive(Debug)]
pub struct ActiveRequest<'a>(&'a Host);

impl Drop for ActiveRequest<'_> {
    fn drop(&mut self) {
        self.0.active_requests.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_flags_combine() {
        let h = Host::new(Address::Tcp("127.0.0.1:1".parse().unwrap()), None, 0);
        assert_eq!(h.weight, 1);
        assert!(h.is_healthy());
        assert!(h.set_health_flag(HealthFlag::FailedActiveHealthCheck, true));
        assert!(!h.set_health_flag(HealthFlag::FailedOutlierCheck, true));
        assert!(!h.set_health_flag(HealthFlag::FailedActiveHealthCheck, false));
        assert!(!h.is_healthy());
        assert!(h.set_health_flag(HealthFlag::FailedOutlierCheck, false));
        assert!(h.is_healthy());
        // Coming back restarts the slow start window.
        assert!(h.in_rotation_since() > h.added);
    }

    #[test]
    fn peak_ewma_takes_peaks_at_once_and_blends_lower_samples() {
        let h = Host::new(Address::Tcp("127.0.0.1:1".parse().unwrap()), None, 1);
        assert_eq!(h.peak_ewma_latency(Instant::now()), None);
        h.record_latency(Duration::from_millis(10));
        let now = Instant::now();
        let first = h.peak_ewma_latency(now).unwrap();
        assert!((9.9e6..=10.0e6).contains(&first), "{first}");
        h.record_latency(Duration::from_millis(50));
        let peak = h.peak_ewma_latency(Instant::now()).unwrap();
        assert!((49.9e6..=50.0e6).contains(&peak), "{peak}");
        // Right after the peak, a fast sample barely moves the estimate.
        h.record_latency(Duration::from_millis(1));
        let blended = h.peak_ewma_latency(Instant::now()).unwrap();
        assert!(blended > 45.0e6 && blended < 50.0e6, "{blended}");
        // Read much later, the estimate has decayed toward 0.
        let later = h
            .peak_ewma_latency(Instant::now() + PEAK_EWMA_DECAY * 3)
            .unwrap();
        assert!(later < blended * 0.06, "{later}");
    }

    #[test]
    fn active_requests_are_released_by_the_guard() {
        let h = Host::new(Address::Tcp("127.0.0.1:1".parse().unwrap()), None, 1);
        let a = h.track_request();
        let _b = h.track_request();
        assert_eq!(h.active_requests.load(Ordering::Relaxed), 2);
        drop(a);
        assert_eq!(h.active_requests.load(Ordering::Relaxed), 1);
    }
}
