//! `LB_LEAST_REQUEST`: the host with the fewest requests in flight, among a few drawn at
//! random; also the engine of `LB_LEAST_CONNECTION`, which counts connections instead.
//!
//! Equal weights (MOSN's and Envoy's unweighted path): `choice_count` hosts are drawn at
//! random (with replacement, as both do) and the least loaded wins — the power of two
//! choices. With no more hosts than `choice_count`, all of them are compared.
//!
//! Unequal weights: MOSN and Envoy run an EDF scheduler (behind a lock) over the effective
//! weights `weight / (load + 1) ^ active_request_bias`. Without a lock, the same
//! distribution comes from rejection sampling: draw a host in proportion to its weight
//! (alias table) and keep it with probability `1 / (load + 1) ^ bias`, which makes each
//! host's chance proportional to its effective weight, from live load rather than the
//! load seen when the EDF last scheduled it. An idle host is always kept, and a bias of 0
//! is plain weighted random. After [`MAX_DRAWS`] rejections (every host busy) the drawn
//! host with the highest effective weight wins.

use super::sampler::Sampler;
use super::{LbContext, LoadBalancer};
use crate::host::Host;
use mosn_config::LbConfig;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Draws before a weighted pick settles for the best host seen.
const MAX_DRAWS: usize = 8;

/// Which live counter of a host measures its load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Load {
    /// `Host::active_requests`.
    Requests,
    /// `Host::active_connections`.
    Connections,
}

/// Fewest active requests among `choice_count` random hosts (MOSN's `LB_LEAST_REQUEST`).
#[derive(Debug)]
pub struct LeastRequestLb(pub(crate) LeastLoaded);

impl LeastRequestLb {
    /// A balancer over `hosts` with `cfg`'s `choice_count` and `active_request_bias`.
    pub fn new(hosts: &[Arc<Host>], cfg: &LbConfig) -> Self {
        Self(LeastLoaded::new(hosts, cfg, Load::Requests))
    }

    /// Like [`LeastRequestLb::new`], with `weights[i]` standing in for `hosts[i].weight`
    /// (slow start's effective weights; same length as `hosts`).
    pub fn with_weights(hosts: &[Arc<Host>], cfg: &LbConfig, weights: &[u32]) -> Self {
        Self(LeastLoaded::with_weights(
            hosts,
            cfg,
            Load::Requests,
            weights,
        ))
    }
}

impl LoadBalancer for LeastRequestLb {
    fn choose(&self, _ctx: &LbContext) -> Option<usize> {
        self.0.choose()
    }
}

/// The shared least-load engine.
#[derive(Debug)]
pub(crate) struct LeastLoaded {
    hosts: Vec<Arc<Host>>,
    load: Load,
    choice_count: usize,
    bias: f64,
    /// Per-host weights: the hosts' own, or slow start's effective ones.
    weights: Vec<u32>,
    sampler: Sampler,
}

impl LeastLoaded {
    pub(crate) fn new(hosts: &[Arc<Host>], cfg: &LbConfig, load: Load) -> Self {
        let weights: Vec<u32> = hosts.iter().map(|h| h.weight).collect();
        Self::with_weights(hosts, cfg, load, &weights)
    }

    pub(crate) fn with_weights(
        hosts: &[Arc<Host>],
        cfg: &LbConfig,
        load: Load,
        weights: &[u32],
    ) -> Self {
        let weights: Vec<u32> = (0..hosts.len())
            .map(|i| weights.get(i).copied().unwrap_or(1).max(1))
            .collect();
        let bias = cfg.active_request_bias;
        Self {
            hosts: hosts.to_vec(),
            load,
            choice_count: usize::try_from(cfg.choice_count).unwrap_or(2).max(1),
            bias: if bias.is_finite() && bias >= 0.0 {
                bias
            } else {
                1.0
            },
            sampler: Sampler::from_weights(&weights),
            weights,
        }
    }

    fn load(&self, i: usize) -> u64 {
        self.hosts.get(i).map_or(u64::MAX, |h| match self.load {
            Load::Requests => h.active_requests.load(Ordering::Relaxed),
            Load::Connections => h.active_connections.load(Ordering::Relaxed),
        })
    }

    pub(crate) fn choose(&self) -> Option<usize> {
        match self.hosts.len() {
            0 => None,
            1 => Some(0),
            _ if self.sampler.weighted() => Some(self.choose_weighted()),
            n if n <= self.choice_count => Some(self.scan(n)),
            _ => Some(self.power_of_choices()),
        }
    }

    /// Every host, from a random start so that ties spread.
    fn scan(&self, n: usize) -> usize {
        let start = fastrand::usize(..n);
        (0..n)
            .map(|i| (start + i) % n)
            .min_by_key(|&i| self.load(i))
            .unwrap_or(start)
    }

    /// The least loaded of `choice_count` uniform draws; ties keep the earlier draw.
    fn power_of_choices(&self) -> usize {
        let mut rng = fastrand::Rng::new();
        let mut best = self.sampler.draw(&mut rng);
        let mut best_load = self.load(best);
        for _ in 1..self.choice_count {
            let candidate = self.sampler.draw(&mut rng);
            let load = self.load(candidate);
            if load < best_load {
                best = candidate;
                best_load = load;
            }
        }
        best
    }

    /// Rejection sampling over effective weights; see the module docs.
    fn choose_weighted(&self) -> usize {
        let mut rng = fastrand::Rng::new();
        let mut best = (0, f64::NEG_INFINITY);
        for _ in 0..MAX_DRAWS {
            let i = self.sampler.draw(&mut rng);
            let keep = self.keep_probability(self.load(i));
            if keep >= 1.0 || rng.f64() < keep {
                return i;
            }
            let weight = self.weights.get(i).copied().unwrap_or(1);
            let effective = f64::from(weight) * keep;
            if effective > best.1 {
                best = (i, effective);
            }
        }
        best.0
    }

    /// `1 / (load + 1) ^ bias`, with the common biases computed without `powf`.
    fn keep_probability(&self, load: u64) -> f64 {
        let base = load as f64 + 1.0;
        if self.bias == 1.0 {
            1.0 / base
        } else if self.bias == 0.0 {
            1.0
        } else {
            base.powf(-self.bias)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::lb::tests::{hosts, weighted_hosts};

    pub(crate) fn cfg(choice_count: u32, bias: f64) -> LbConfig {
        LbConfig {
            choice_count,
            active_request_bias: bias,
            ..LbConfig::default()
        }
    }

    fn set_load(h: &Host, load: Load, n: u64) {
        match load {
            Load::Requests => h.active_requests.store(n, Ordering::Relaxed),
            Load::Connections => h.active_connections.store(n, Ordering::Relaxed),
        }
    }

    fn counts(lb: &LeastLoaded, n: usize, picks: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        for _ in 0..picks {
            c[lb.choose().unwrap()] += 1;
        }
        c
    }

    /// Shared by the least-connection tests: the same engine on another counter.
    pub(crate) fn prefers_less_loaded(load: Load) {
        // Two hosts, two choices: both compared, the idle one always wins.
        let hs = hosts(2);
        set_load(&hs[0], load, 5);
        let lb = LeastLoaded::new(&hs, &LbConfig::default(), load);
        assert_eq!(counts(&lb, 2, 1000), [0, 1000]);
        set_load(&hs[1], load, 9);
        assert_eq!(counts(&lb, 2, 1000), [1000, 0]);

        // Ten hosts, one busy: it wins only when both draws hit it (1 in 100).
        let hs = hosts(10);
        set_load(&hs[3], load, 50);
        let lb = LeastLoaded::new(&hs, &LbConfig::default(), load);
        let c = counts(&lb, 10, 20_000);
        assert!(c[3] < 400, "{c:?}");
        assert!(
            c.iter().enumerate().all(|(i, &n)| i == 3 || n > 1_800),
            "{c:?}"
        );

        // Three choices make the busy host rarer still.
        let lb = LeastLoaded::new(&hs, &cfg(3, 1.0), load);
        assert!(counts(&lb, 10, 20_000)[3] < 60);
    }

    #[test]
    fn least_request_prefers_hosts_with_fewer_active_requests() {
        prefers_less_loaded(Load::Requests);
    }

    #[test]
    fn idle_weighted_hosts_get_traffic_in_proportion_to_weight() {
        let lb = LeastRequestLb::new(&weighted_hosts(&[1, 3]), &LbConfig::default());
        let c = counts(&lb.0, 2, 40_000);
        assert!((9_000..11_000).contains(&c[0]), "{c:?}");
    }

    #[test]
    fn weighted_hosts_follow_effective_weights() {
        // Weights 1 and 3; the heavy host has 5 requests in flight: effective weights
        // 1/1 and 3/6, so the light host gets about 2/3 of the picks.
        let hs = weighted_hosts(&[1, 3]);
        hs[1].active_requests.store(5, Ordering::Relaxed);
        let lb = LeastRequestLb::new(&hs, &LbConfig::default());
        let c = counts(&lb.0, 2, 30_000);
        assert!((18_500..21_500).contains(&c[0]), "{c:?}");

        // Bias 0 ignores load: plain weighted random (1:3).
        let lb = LeastRequestLb::new(&hs, &cfg(2, 0.0));
        let c = counts(&lb.0, 2, 40_000);
        assert!((9_000..11_000).contains(&c[0]), "{c:?}");

        // Bias 2 punishes load harder: 1/1 vs 3/36.
        let lb = LeastRequestLb::new(&hs, &cfg(2, 2.0));
        let c = counts(&lb.0, 2, 30_000);
        assert!(c[0] > 24_000, "{c:?}");
    }

    #[test]
    fn all_busy_weighted_hosts_still_get_a_pick() {
        let hs = weighted_hosts(&[1, 2, 3]);
        for h in &hs {
            h.active_requests.store(1_000_000, Ordering::Relaxed);
        }
        let lb = LeastRequestLb::new(&hs, &LbConfig::default());
        let c = counts(&lb.0, 3, 3_000);
        // Settles for the best drawn: the heaviest host whenever it was drawn.
        assert!(c[2] > 2_500, "{c:?}");
    }

    #[test]
    fn one_and_no_hosts() {
        let ctx = LbContext::default();
        assert_eq!(
            LeastRequestLb::new(&[], &LbConfig::default()).choose(&ctx),
            None
        );
        let one = LeastRequestLb::new(&hosts(1), &cfg(5, 1.0));
        assert_eq!(one.choose(&ctx), Some(0));
    }
}
