//! `LB_RANDOM`: uniformly random, with a per-thread generator (no shared state).

use super::{LbContext, LoadBalancer};
use crate::host::Host;
use std::sync::Arc;

/// Uniform random choice, ignoring weights (MOSN's `LB_RANDOM`).
#[derive(Debug)]
pub struct RandomLb {
    count: usize,
}

impl RandomLb {
    /// A balancer over `hosts`.
    pub fn new(hosts: &[Arc<Host>]) -> Self {
        Self { count: hosts.len() }
    }
}

impl LoadBalancer for RandomLb {
    fn choose(&self, _ctx: &LbContext) -> Option<usize> {
        (self.count > 0).then(|| fastrand::usize(..self.count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lb::tests::hosts;

    #[test]
    fn covers_all_hosts_roughly_evenly() {
        let lb = RandomLb::new(&hosts(4));
        let ctx = LbContext::default();
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            counts[lb.choose(&ctx).unwrap()] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
    }
}
