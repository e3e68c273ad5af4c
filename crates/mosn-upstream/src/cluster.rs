//! A cluster and its hosts.

use crate::lb::{self, LbContext, LoadBalancer};
use mosn_api::stats::ClusterStats;
use mosn_config::{Address, ClusterConfig};
use std::sync::Arc;
use std::time::Duration;

/// One upstream endpoint.
#[derive(Debug)]
pub struct Host {
    /// Where to connect.
    pub address: Address,
    /// `hostname` from config, informational.
    pub hostname: Option<String>,
    /// Relative weight for weighted balancers.
    pub weight: u32,
}

/// A named group of hosts with the settings every connection to them shares.
pub struct Cluster {
    /// `name`.
    pub name: String,
    /// The hosts, in config order.
    pub hosts: Vec<Arc<Host>>,
    /// Counters shared across workers and config reloads.
    pub stats: Arc<ClusterStats>,
    /// How long a connect may take.
    pub connect_timeout: Duration,
    /// How long a pooled connection may sit idle.
    pub idle_timeout: Duration,
    /// Requests per upstream connection before it is retired; 0 = unlimited.
    pub max_request_per_conn: u32,
    lb: Box<dyn LoadBalancer>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("name", &self.name)
            .field("hosts", &self.hosts)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Builds a cluster from validated config, attaching the stats it reports into.
    pub fn from_config(cfg: &ClusterConfig, stats: Arc<ClusterStats>) -> Self {
        let hosts = cfg
            .hosts
            .iter()
            .map(|h| {
                Arc::new(Host {
                    address: h.address.clone(),
                    hostname: h.hostname.clone(),
                    weight: h.weight,
                })
            })
            .collect();
        Self {
            name: cfg.name.clone(),
            hosts,
            stats,
            connect_timeout: cfg.connect_timeout,
            idle_timeout: cfg.idle_timeout,
            max_request_per_conn: cfg.max_request_per_conn,
            lb: lb::for_type(cfg.lb_type),
        }
    }

    /// Picks a host for one request or connection; `None` when the cluster has no hosts,
    /// which callers count as `upstream_cx_none_healthy`.
    pub fn choose_host(&self, ctx: &LbContext) -> Option<&Arc<Host>> {
        if self.hosts.is_empty() {
            self.stats.upstream_cx_none_healthy.inc();
            return None;
        }
        let idx = self.lb.choose(self.hosts.len(), ctx);
        self.hosts.get(idx)
    }
}
