//! Circuit breakers: per-cluster caps on connections, pending requests, requests and
//! retries, shared by all workers. Over a cap, the proxy fails fast (503 or no retry) and
//! counts it instead of queueing without bound. A cluster changed at runtime keeps its
//! breakers: the caps are updated in place, so the units held by requests in flight still
//! count against them and are given back to the same counters.

use arc_swap::ArcSwapOption;
use mosn_config::{CircuitBreakersConfig, RetryBudgetConfig};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One capped resource; `max == 0` means unlimited (MOSN's default).
#[derive(Debug, Default)]
pub struct Resource {
    max: AtomicU64,
    current: AtomicU64,
}

/// Holds one unit of a [`Resource`] until dropped.
#[derive(Debug)]
pub struct ResourceGuard<'a>(&'a Resource);

impl Resource {
    /// A resource capped at `max` (0 = unlimited).
    pub fn new(max: u64) -> Self {
        Self {
            max: AtomicU64::new(max),
            current: AtomicU64::new(0),
        }
    }

    /// Changes the cap; units in use stay taken (a lower cap refuses new takes until
    /// enough are given back).
    fn set_max(&self, max: u64) {
        self.max.store(max, Ordering::Relaxed);
    }

    /// Takes one unit, or `None` when the cap is reached.
    pub fn try_acquire(&self) -> Option<ResourceGuard<'_>> {
        // Lazily: a guard built for a refused take would release a unit on drop.
        self.take().then(|| ResourceGuard(self))
    }

    /// Takes one unit without a guard; the caller must [`Resource::release`] it.
    pub(crate) fn take(&self) -> bool {
        let max = self.max.load(Ordering::Relaxed);
        if max == 0 {
            self.current.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        self.current
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |c| {
                (c < max).then_some(c + 1)
            })
            .is_ok()
    }

    /// Gives back a unit taken with [`Resource::take`].
    pub(crate) fn release(&self) {
        self.current.fetch_sub(1, Ordering::Relaxed);
    }

    /// Takes one unit while fewer than `limit` are in use, whatever the fixed cap: for
    /// caps that follow the load (retry budgets).
    pub fn try_acquire_below(&self, limit: u64) -> Option<ResourceGuard<'_>> {
        self.current
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |c| {
                (c < limit).then_some(c + 1)
            })
            .ok()
            .map(|_| ResourceGuard(self))
    }

    /// True when the cap allows `current` more units to exist (for resources counted
    /// elsewhere, such as open connections).
    pub fn allows(&self, current: u64) -> bool {
        let max = self.max.load(Ordering::Relaxed);
        max == 0 || current < max
    }

    /// Units in use now.
    pub fn current(&self) -> u64 {
        self.current.load(Ordering::Relaxed)
    }
}

impl Drop for ResourceGuard<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// The four caps of one cluster (MOSN's `circuit_breakers[0]`, Envoy's default-priority
/// thresholds).
#[derive(Debug, Default)]
pub struct CircuitBreakers {
    /// Open upstream connections (checked against the cluster's active-connection gauge).
    pub max_connections: Resource,
    /// Requests waiting for a connection to be established.
    pub pending_requests: Resource,
    /// Requests in flight upstream.
    pub requests: Resource,
    /// Retries in flight.
    pub retries: Resource,
    /// Envoy's retry budget: when set, retries in flight are capped by the load instead
    /// of by `retries`' fixed maximum.
    retry_budget: ArcSwapOption<RetryBudgetConfig>,
}

impl CircuitBreakers {
    /// Caps from config values (0 = unlimited).
    pub fn new(
        max_connections: u64,
        max_pending_requests: u64,
        max_requests: u64,
        max_retries: u64,
    ) -> Self {
        Self {
            max_connections: Resource::new(max_connections),
            pending_requests: Resource::new(max_pending_requests),
            requests: Resource::new(max_requests),
            retries: Resource::new(max_retries),
            retry_budget: ArcSwapOption::empty(),
        }
    }

    /// The caps a cluster's `circuit_breakers` sets.
    pub fn from_config(cfg: &CircuitBreakersConfig) -> Self {
        let breakers = Self::default();
        breakers.update(cfg);
        breakers
    }

    /// The caps with a retry budget in place of the fixed `max_retries`.
    pub fn with_retry_budget(self, budget: Option<RetryBudgetConfig>) -> Self {
        self.retry_budget.store(budget.map(Arc::new));
        self
    }

    /// Applies changed caps in place (a cluster changed at runtime); the units in use stay
    /// counted.
    pub fn update(&self, cfg: &CircuitBreakersConfig) {
        self.max_connections.set_max(cfg.max_connections.into());
        self.pending_requests
            .set_max(cfg.max_pending_requests.into());
        self.requests.set_max(cfg.max_requests.into());
        self.retries.set_max(cfg.max_retries.into());
        self.retry_budget.store(cfg.retry_budget.map(Arc::new));
    }

    /// A retry slot: within the retry budget (given the requests in flight) when there is
    /// one, else within `max_retries`; `None` when retrying now would exceed it.
    pub fn try_acquire_retry(&self, active_requests: u64) -> Option<ResourceGuard<'_>> {
        match &*self.retry_budget.load() {
            Some(budget) => self
                .retries
                .try_acquire_below(budget.limit(active_requests)),
            None => self.retries.try_acquire(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_and_release() {
        let r = Resource::new(2);
        let a = r.try_acquire().unwrap();
        let _b = r.try_acquire().unwrap();
        assert!(r.try_acquire().is_none());
        // A refused take leaves the count alone.
        assert_eq!(r.current(), 2);
        assert!(r.try_acquire().is_none());
        drop(a);
        assert!(r.try_acquire().is_some());
        assert_eq!(r.current(), 1);
    }

    #[test]
    fn a_retry_budget_follows_the_requests_in_flight() {
        let cb = CircuitBreakers::new(0, 0, 0, 1).with_retry_budget(Some(
            mosn_config::RetryBudgetConfig {
                budget_basis_points: 2000,
                min_retry_concurrency: 2,
            },
        ));
        // 5 requests in flight: 20% is 1, the minimum 2 wins (max_retries 1 is replaced).
        let a = cb.try_acquire_retry(5).unwrap();
        let _b = cb.try_acquire_retry(5).unwrap();
        assert!(cb.try_acquire_retry(5).is_none());
        // 50 in flight: 10 retries may run.
        let more: Vec<_> = (0..8).map(|_| cb.try_acquire_retry(50).unwrap()).collect();
        assert!(cb.try_acquire_retry(50).is_none());
        drop((a, more));
        assert_eq!(cb.retries.current(), 1);
    }

    #[test]
    fn updated_caps_keep_the_units_in_use() {
        let cb = CircuitBreakers::new(0, 0, 2, 0);
        let a = cb.requests.try_acquire().unwrap();
        let b = cb.requests.try_acquire().unwrap();
        cb.update(&CircuitBreakersConfig {
            max_requests: 1,
            ..Default::default()
        });
        assert!(
            cb.requests.try_acquire().is_none(),
            "2 in use over a cap of 1"
        );
        drop((a, b));
        assert_eq!(cb.requests.current(), 0);
        let _c = cb.requests.try_acquire().unwrap();
        assert!(cb.requests.try_acquire().is_none());
    }

    #[test]
    fn zero_means_unlimited() {
        let r = Resource::new(0);
        let guards: Vec<_> = (0..1000).map(|_| r.try_acquire().unwrap()).collect();
        assert_eq!(r.current(), 1000);
        drop(guards);
        assert_eq!(r.current(), 0);
        assert!(r.allows(u64::MAX - 1));
        assert!(!Resource::new(3).allows(3));
    }
}
