//! Load balancers: the upstream layer's extension point for choosing a host.
//!
//! A balancer is built over one immutable list of hosts (the cluster's healthy hosts, or
//! all of them in panic mode) and rebuilt whenever that list changes, so algorithms that
//! precompute tables (weighted schedules, hash rings) do it off the request path.

mod random;
mod round_robin;

pub use random::RandomLb;
pub use round_robin::RoundRobinLb;

use crate::host::Host;
use mosn_config::LbType;
use std::net::SocketAddr;
use std::sync::Arc;

/// What a balancer may look at when choosing.
#[derive(Debug, Default, Clone, Copy)]
pub struct LbContext {
    /// The client's address.
    pub downstream_addr: Option<SocketAddr>,
    /// A hash of the request's affinity key (from the route's hash policy), for hashing
    /// balancers; `None` means pick as a non-hashing balancer would.
    pub hash_key: Option<u64>,
}

/// Chooses a host among the hosts it was built over.
pub trait LoadBalancer: Send + Sync {
    /// Returns an index into the host list the balancer was built with, or `None` when
    /// that list is empty.
    fn choose(&self, ctx: &LbContext) -> Option<usize>;
}

/// Builds the balancer for `lb_type` over `hosts`.
pub fn build(lb_type: LbType, hosts: &[Arc<Host>]) -> Box<dyn LoadBalancer> {
    match lb_type {
        LbType::RoundRobin => Box::new(RoundRobinLb::new(hosts)),
        LbType::Random => Box::new(RandomLb::new(hosts)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mosn_config::Address;

    /// `n` hosts of weight 1 on distinct loopback ports.
    pub(crate) fn hosts(n: u16) -> Vec<Arc<Host>> {
        weighted_hosts(&vec![1; usize::from(n)])
    }

    /// One host per weight, on distinct loopback ports.
    pub(crate) fn weighted_hosts(weights: &[u32]) -> Vec<Arc<Host>> {
        weights
            .iter()
            .zip(1u16..)
            .map(|(&w, port)| {
                let addr = Address::Tcp(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
                Arc::new(Host::new(addr, None, w))
            })
            .collect()
    }
}
