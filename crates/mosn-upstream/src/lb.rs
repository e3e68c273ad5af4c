//! Load balancers: the upstream layer's extension point for choosing a host.

use mosn_config::LbType;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a balancer may look at when choosing; grows with hashing balancers.
#[derive(Debug, Default, Clone, Copy)]
pub struct LbContext {
    /// The client's address, for source-IP hashing.
    pub downstream_addr: Option<SocketAddr>,
}

/// Chooses one of `host_count` hosts (indices into the cluster's host list).
pub trait LoadBalancer: Send + Sync {
    /// Returns an index below `host_count`; only called with `host_count > 0`.
    fn choose(&self, host_count: usize, ctx: &LbContext) -> usize;
}

/// `LB_ROUNDROBIN`: every host in turn, shared across workers.
#[derive(Debug, Default)]
pub struct RoundRobinLb {
    next: AtomicUsize,
}

impl LoadBalancer for RoundRobinLb {
    fn choose(&self, host_count: usize, _ctx: &LbContext) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % host_count
    }
}

/// `LB_RANDOM`: uniformly random, with a per-thread generator (no shared state).
#[derive(Debug, Default)]
pub struct RandomLb;

impl LoadBalancer for RandomLb {
    fn choose(&self, host_count: usize, _ctx: &LbContext) -> usize {
        fastrand::usize(..host_count)
    }
}

/// The balancer for a configured `lb_type`.
pub(crate) fn for_type(lb: LbType) -> Box<dyn LoadBalancer> {
    match lb {
        LbType::RoundRobin => Box::<RoundRobinLb>::default(),
        LbType::Random => Box::new(RandomLb),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_visits_every_host_in_turn() {
        let lb = RoundRobinLb::default();
        let ctx = LbContext::default();
        let picks: Vec<_> = (0..6).map(|_| lb.choose(3, &ctx)).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn random_covers_all_hosts_roughly_evenly() {
        let lb = RandomLb;
        let ctx = LbContext::default();
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            counts[lb.choose(4, &ctx)] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
    }
}
