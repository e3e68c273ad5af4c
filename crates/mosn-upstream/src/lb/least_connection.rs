//! `LB_LEAST_CONNECTION`: the host with the fewest open connections among
//! `choice_count` random ones (MOSN draws them the same way as `LB_LEAST_REQUEST` and
//! biases weighted hosts with the same `active_request_bias`); the engine is
//! `LB_LEAST_REQUEST`'s, reading `Host::active_connections`.

use super::least_request::{LeastLoaded, Load};
use super::{LbContext, LoadBalancer};
use crate::host::Host;
use mosn_config::LbConfig;
use std::sync::Arc;

/// Fewest open connections among `choice_count` random hosts.
#[derive(Debug)]
pub struct LeastConnectionLb(LeastLoaded);

impl LeastConnectionLb {
    /// A balancer over `hosts` with `cfg`'s `choice_count` and `active_request_bias`.
    pub fn new(hosts: &[Arc<Host>], cfg: &LbConfig) -> Self {
        Self(LeastLoaded::new(hosts, cfg, Load::Connections))
    }

    /// Like [`LeastConnectionLb::new`], with `weights[i]` standing in for
    /// `hosts[i].weight` (slow start's effective weights).
    pub fn with_weights(hosts: &[Arc<Host>], cfg: &LbConfig, weights: &[u32]) -> Self {
        Self(LeastLoaded::with_weights(
            hosts,
            cfg,
            Load::Connections,
            weights,
        ))
    }
}

impl LoadBalancer for LeastConnectionLb {
    fn choose(&self, _ctx: &LbContext) -> Option<usize> {
        self.0.choose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lb::least_request::tests::prefers_less_loaded;
    use crate::lb::tests::hosts;
    use std::sync::atomic::Ordering;

    #[test]
    fn prefers_hosts_with_fewer_connections() {
        prefers_less_loaded(Load::Connections);
    }

    #[test]
    fn ignores_active_requests() {
        let hs = hosts(2);
        hs[0].active_requests.store(100, Ordering::Relaxed);
        hs[1].active_connections.store(1, Ordering::Relaxed);
        let lb = LeastConnectionLb::new(&hs, &LbConfig::default());
        let ctx = LbContext::default();
        assert!((0..100).all(|_| lb.choose(&ctx) == Some(0)));
    }

    #[test]
    fn one_and_no_hosts() {
        let ctx = LbContext::default();
        assert_eq!(
            LeastConnectionLb::new(&[], &LbConfig::default()).choose(&ctx),
            None
        );
        assert_eq!(
            LeastConnectionLb::new(&hosts(1), &LbConfig::default()).choose(&ctx),
            Some(0)
        );
    }
}
