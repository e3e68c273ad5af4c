//! `LB_ROUNDROBIN`: every host in turn, shared across workers.

use super::{LbContext, LoadBalancer};
use crate::host::Host;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Round robin over the hosts, ignoring weights (MOSN's `LB_ROUNDROBIN`).
#[derive(Debug)]
pub struct RoundRobinLb {
    count: usize,
    next: AtomicUsize,
}

impl RoundRobinLb {
    /// A balancer over `hosts`, starting at a random host so that workers and restarts
    /// do not all hit the first host first.
    pub fn new(hosts: &[Arc<Host>]) -> Self {
        let count = hosts.len();
        Self {
            count,
            next: AtomicUsize::new(fastrand::usize(..count.max(1))),
        }
    }
}

impl LoadBalancer for RoundRobinLb {
    fn choose(&self, _ctx: &LbContext) -> Option<usize> {
        (self.count > 0).then(|| self.next.fetch_add(1, Ordering::Relaxed) % self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lb::tests::hosts;

    #[test]
    fn visits_every_host_in_turn() {
        let lb = RoundRobinLb::new(&hosts(3));
        let ctx = LbContext::default();
        let first = lb.choose(&ctx).unwrap();
        let picks: Vec<_> = (0..6).map(|_| lb.choose(&ctx).unwrap()).collect();
        let expected: Vec<_> = (1..7).map(|i| (first + i) % 3).collect();
        assert_eq!(picks, expected);
        assert_eq!(RoundRobinLb::new(&[]).choose(&ctx), None);
    }
}
