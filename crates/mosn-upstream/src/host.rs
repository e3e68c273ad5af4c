//! One upstream endpoint with its live state: health flags and load counters that
//! balancers, health checks and outlier detection share.

use mosn_config::Address;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::time::Instant;

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
    /// When the host joined the cluster, for slow start.
    pub added: Instant,
    /// Requests in flight to this host, across workers (least-request balancing).
    pub active_requests: AtomicU64,
    /// Connections open to this host, across workers (least-connection balancing).
    pub active_connections: AtomicU64,
    health: AtomicU8,
}

impl Host {
    /// A healthy host with no load.
    pub fn new(address: Address, hostname: Option<String>, weight: u32) -> Self {
        Self {
            address,
            hostname,
            weight: weight.max(1),
            added: Instant::now(),
            active_requests: AtomicU64::new(0),
            active_connections: AtomicU64::new(0),
            health: AtomicU8::new(0),
        }
    }

    /// True when no health flag is set.
    pub fn is_healthy(&self) -> bool {
        self.health.load(Ordering::Relaxed) == 0
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
        (old == 0) != (new == 0)
    }

    /// Counts a request to this host until the guard drops.
    pub fn track_request(&self) -> ActiveRequest<'_> {
        self.active_requests.fetch_add(1, Ordering::Relaxed);
        ActiveRequest(self)
    }
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
