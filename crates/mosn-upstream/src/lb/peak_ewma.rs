//! `LB_PEAK_EWMA`: the host with the lowest expected wait among `choice_count` random
//! ones (power of two choices), the cost being Finagle's and linkerd's
//! `peak-EWMA latency × (active requests + 1) ^ active_request_bias` (MOSN's formula
//! without its error-rate factor, which needs per-host error counts mosn-rs does not keep).
//!
//! The latency comes from `Host::record_latency`, fed by the proxy. A host without a
//! sample yet cannot be priced: when either of two hosts compared has none, the one with
//! fewer requests in flight wins, so a new host is tried as least-request would try it
//! and priced from then on. With no more hosts than `choice_count`, all are compared (from
//! a random start, so ties spread, as MOSN does). With unequal weights, candidates are
//! drawn in proportion to weight.

use super::sampler::Sampler;
use super::{LbContext, LoadBalancer};
use crate::host::{clock_ns, Host};
use mosn_config::LbConfig;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// Lowest peak-EWMA cost among `choice_count` random hosts.
#[derive(Debug)]
pub struct PeakEwmaLb {
    hosts: Vec<Arc<Host>>,
    choice_count: usize,
    bias: f64,
    sampler: Sampler,
}

/// What a candidate is compared by.
#[derive(Clone, Copy)]
struct Price {
    index: usize,
    /// `(active + 1) ^ bias`.
    load: f64,
    /// Decayed peak-EWMA latency, `None` before the first sample.
    latency: Option<f64>,
}

impl Price {
    /// True when `self` should win over `other`.
    fn beats(&self, other: &Price) -> bool {
        match (self.latency, other.latency) {
            (Some(a), Some(b)) => a * self.load < b * other.load,
            _ => self.load < other.load,
        }
    }
}

impl PeakEwmaLb {
    /// A balancer over `hosts` with `cfg`'s `choice_count` and `active_request_bias`.
    pub fn new(hosts: &[Arc<Host>], cfg: &LbConfig) -> Self {
        let bias = cfg.active_request_bias;
        Self {
            hosts: hosts.to_vec(),
            choice_count: usize::try_from(cfg.choice_count).unwrap_or(2).max(1),
            bias: if bias.is_finite() && bias >= 0.0 {
                bias
            } else {
                1.0
            },
            sampler: Sampler::new(hosts),
        }
    }

    fn price(&self, index: usize, now_ns: u64) -> Price {
        let (active, latency) = self.hosts.get(index).map_or((u64::MAX, None), |h| {
            (
                h.active_requests.load(Ordering::Relaxed),
                h.peak_ewma_latency_at(now_ns),
            )
        });
        let base = active as f64 + 1.0;
        let load = if self.bias == 1.0 {
            base
        } else {
            base.powf(self.bias)
        };
        Price {
            index,
            load,
            latency,
        }
    }
}

impl LoadBalancer for PeakEwmaLb {
    fn choose(&self, _ctx: &LbContext) -> Option<usize> {
        let n = self.hosts.len();
        if n <= 1 {
            return (n == 1).then_some(0);
        }
        let now = clock_ns(Instant::now());
        let mut best;
        if n <= self.choice_count && !self.sampler.weighted() {
            let start = fastrand::usize(..n);
            best = self.price(start, now);
            for i in 1..n {
                let candidate = self.price((start + i) % n, now);
                if candidate.beats(&best) {
                    best = candidate;
                }
            }
        } else {
            let mut rng = fastrand::Rng::new();
            best = self.price(self.sampler.draw(&mut rng), now);
            for _ in 1..self.choice_count {
                let candidate = self.price(self.sampler.draw(&mut rng), now);
                if candidate.beats(&best) {
                    best = candidate;
                }
            }
        }
        Some(best.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lb::least_request::tests::cfg;
    use crate::lb::tests::{hosts, weighted_hosts};
    use std::time::Duration;

    fn counts(lb: &PeakEwmaLb, n: usize, picks: usize) -> Vec<usize> {
        let ctx = LbContext::default();
        let mut c = vec![0; n];
        for _ in 0..picks {
            c[lb.choose(&ctx).unwrap()] += 1;
        }
        c
    }

    #[test]
    fn prefers_the_faster_host() {
        let hs = hosts(2);
        hs[0].record_latency(Duration::from_millis(100));
        hs[1].record_latency(Duration::from_millis(10));
        let lb = PeakEwmaLb::new(&hs, &LbConfig::default());
        assert_eq!(counts(&lb, 2, 1000), [0, 1000]);
        // Until the fast host is loaded enough: 10ms × 11 > 100ms × 1.
        hs[1].active_requests.store(10, Ordering::Relaxed);
        assert_eq!(counts(&lb, 2, 1000), [1000, 0]);
    }

    #[test]
    fn a_slow_host_among_many_gets_little() {
        let hs = hosts(10);
        for (i, h) in hs.iter().enumerate() {
            let ms = if i == 2 { 500 } else { 20 };
            h.record_latency(Duration::from_millis(ms));
        }
        let lb = PeakEwmaLb::new(&hs, &LbConfig::default());
        let c = counts(&lb, 10, 20_000);
        // Only when both draws are the slow host (1 in 100).
        assert!(c[2] < 400, "{c:?}");
    }

    #[test]
    fn unsampled_hosts_compare_by_load() {
        let hs = hosts(2);
        hs[0].record_latency(Duration::from_millis(1));
        hs[0].active_requests.store(3, Ordering::Relaxed);
        let lb = PeakEwmaLb::new(&hs, &LbConfig::default());
        // Host 1 has no latency yet and less in flight: it is tried.
        assert_eq!(counts(&lb, 2, 100), [0, 100]);
        hs[1].active_requests.store(4, Ordering::Relaxed);
        assert_eq!(counts(&lb, 2, 100), [100, 0]);
    }

    #[test]
    fn unsampled_equal_hosts_spread() {
        let lb = PeakEwmaLb::new(&hosts(2), &LbConfig::default());
        let c = counts(&lb, 2, 2_000);
        assert!(c[0] > 800 && c[1] > 800, "{c:?}");
        let lb = PeakEwmaLb::new(&hosts(10), &cfg(3, 1.0));
        assert!(counts(&lb, 10, 10_000).iter().all(|&n| n > 700));
    }

    #[test]
    fn weighted_hosts_are_drawn_by_weight() {
        let lb = PeakEwmaLb::new(&weighted_hosts(&[1, 9]), &cfg(1, 1.0));
        let c = counts(&lb, 2, 20_000);
        assert!((1_600..2_400).contains(&c[0]), "{c:?}");
    }

    #[test]
    fn one_and_no_hosts() {
        let ctx = LbContext::default();
        assert_eq!(
            PeakEwmaLb::new(&[], &LbConfig::default()).choose(&ctx),
            None
        );
        assert_eq!(
            PeakEwmaLb::new(&hosts(1), &LbConfig::default()).choose(&ctx),
            Some(0)
        );
    }
}
