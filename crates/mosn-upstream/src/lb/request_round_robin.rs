//! `LB_REQUEST_ROUNDROBIN`: round robin within one request, not across requests.
//!
//! MOSN's `reqRoundRobinLoadBalancer` starts every request at the first healthy host and
//! moves one host further on each retry of that request (it keeps the last index in the
//! request's `upstream_index` variable): a primary with ordered fallbacks. Here the host
//! list is already the healthy hosts in config order, and the retry number comes from
//! [`LoadBalancer::choose_for_attempt`].

use super::{LbContext, LoadBalancer};
use crate::host::Host;
use std::sync::Arc;

/// First host first; the `n`-th retry goes to host `n` (wrapping).
#[derive(Debug)]
pub struct RequestRoundRobinLb {
    count: usize,
}

impl RequestRoundRobinLb {
    /// A balancer over `hosts`.
    pub fn new(hosts: &[Arc<Host>]) -> Self {
        Self { count: hosts.len() }
    }
}

impl LoadBalancer for RequestRoundRobinLb {
    fn choose(&self, ctx: &LbContext) -> Option<usize> {
        self.choose_for_attempt(ctx, 0)
    }

    fn choose_for_attempt(&self, _ctx: &LbContext, attempt: u32) -> Option<usize> {
        (self.count > 0).then(|| attempt as usize % self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lb::tests::hosts;

    #[test]
    fn every_request_starts_at_the_first_host_and_retries_walk_on() {
        let lb = RequestRoundRobinLb::new(&hosts(3));
        let ctx = LbContext::default();
        assert!((0..10).all(|_| lb.choose(&ctx) == Some(0)));
        let walk: Vec<_> = (0..7)
            .map(|a| lb.choose_for_attempt(&ctx, a).unwrap())
            .collect();
        assert_eq!(walk, [0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(RequestRoundRobinLb::new(&[]).choose(&ctx), None);
        assert_eq!(
            RequestRoundRobinLb::new(&hosts(1)).choose_for_attempt(&ctx, 5),
            Some(0)
        );
    }
}
