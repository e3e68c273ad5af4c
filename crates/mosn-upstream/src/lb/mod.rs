//! Load balancers: the upstream layer's extension point for choosing a host.
//!
//! A balancer is built over one immutable list of hosts (the cluster's healthy hosts, or
//! all of them in panic mode) and rebuilt whenever that list changes, so algorithms that
//! precompute tables (weighted schedules, hash rings) do it off the request path.
//!
//! Every pick is lock-free and allocation-free: shared state is atomics (round-robin
//! counters, the hosts' load counters), randomness comes from a per-thread generator.
//! Every balancer returns `None` over no hosts and never panics.

mod least_connection;
mod least_request;
mod maglev;
mod peak_ewma;
mod random;
mod request_round_robin;
mod ring_hash;
mod round_robin;
mod sampler;
mod weighted_round_robin;

pub use least_connection::LeastConnectionLb;
pub use least_request::LeastRequestLb;
pub use maglev::MaglevLb;
pub use peak_ewma::PeakEwmaLb;
pub use random::RandomLb;
pub use request_round_robin::RequestRoundRobinLb;
pub use ring_hash::RingHashLb;
pub use round_robin::RoundRobinLb;
pub use weighted_round_robin::WeightedRoundRobinLb;

use crate::host::Host;
use mosn_config::{Address, LbConfig, LbType};
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
    /// Where the client meant to connect (a redirected connection's original destination,
    /// or a header), for `ORIGINAL_DST` clusters.
    pub original_dst: Option<SocketAddr>,
}

/// Chooses a host among the hosts it was built over.
pub trait LoadBalancer: Send + Sync {
    /// Returns an index into the host list the balancer was built with, or `None` when
    /// that list is empty.
    fn choose(&self, ctx: &LbContext) -> Option<usize>;

    /// Chooses for the `attempt`-th try of one request (0 = first try, 1 = first retry,
    /// ...). Balancers with a per-request sequence (`LB_REQUEST_ROUNDROBIN`) or a fixed
    /// host per key (the hashing ones, which move on to the next host on a retry, as
    /// MOSN's Maglev does) use it; the others choose afresh.
    fn choose_for_attempt(&self, ctx: &LbContext, attempt: u32) -> Option<usize> {
        let _ = attempt;
        self.choose(ctx)
    }
}

/// Builds the balancer for `lb_type` over `hosts`, tuned by `cfg`.
pub fn build(lb_type: LbType, hosts: &[Arc<Host>], cfg: &LbConfig) -> Box<dyn LoadBalancer> {
    build_weighted(lb_type, hosts, None, cfg)
}

/// Like [`build`], with `weights[i]` (same length as `hosts`) in place of each host's own
/// weight when given: slow start's effective weights (`crate::slow_start`), which never
/// touch `Host::weight`. Only the balancers slow start applies to read them
/// (`LB_WEIGHTED_ROUNDROBIN`, `LB_LEAST_REQUEST`, `LB_LEAST_CONNECTION`).
pub fn build_weighted(
    lb_type: LbType,
    hosts: &[Arc<Host>],
    weights: Option<&[u32]>,
    cfg: &LbConfig,
) -> Box<dyn LoadBalancer> {
    match (lb_type, weights) {
        (LbType::WeightedRoundRobin, Some(w)) => {
            return Box::new(WeightedRoundRobinLb::with_weights(w))
        }
        (LbType::LeastRequest, Some(w)) => {
            return Box::new(LeastRequestLb::with_weights(hosts, cfg, w))
        }
        (LbType::LeastConnection, Some(w)) => {
            return Box::new(LeastConnectionLb::with_weights(hosts, cfg, w))
        }
        _ => {}
    }
    match lb_type {
        // An ORIGINAL_DST cluster has no host list: its host comes from each request
        // (`Cluster::choose_host_in_subset`), so its balancer only ever sees none.
        LbType::RoundRobin | LbType::OriginalDst => Box::new(RoundRobinLb::new(hosts)),
        LbType::Random => Box::new(RandomLb::new(hosts)),
        LbType::WeightedRoundRobin => Box::new(WeightedRoundRobinLb::new(hosts)),
        LbType::LeastRequest => Box::new(LeastRequestLb::new(hosts, cfg)),
        LbType::LeastConnection => Box::new(LeastConnectionLb::new(hosts, cfg)),
        LbType::Maglev => Box::new(MaglevLb::new(hosts, cfg.maglev_table_size)),
        LbType::RingHash => Box::new(RingHashLb::new(
            hosts,
            cfg.ring_hash_min_size,
            cfg.ring_hash_max_size,
        )),
        LbType::PeakEwma => Box::new(PeakEwmaLb::new(hosts, cfg)),
        LbType::RequestRoundRobin => Box::new(RequestRoundRobinLb::new(hosts)),
    }
}

/// The string hashing balancers place a host by: `ip:port` (`[v6]:port`), or the socket
/// path of a Unix address (as MOSN's `AddressString`).
pub(crate) fn host_key(address: &Address) -> String {
    match address {
        Address::Tcp(addr) => addr.to_string(),
        Address::Unix(path) => path.to_string_lossy().into_owned(),
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
