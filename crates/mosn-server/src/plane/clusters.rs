//! The control threads follow the clusters: a cluster added or rebuilt gets its health
//! check, outlier sweep, slow start and DNS resolution (re)started against the new
//! cluster object; a removed one has them stopped. A hosts-only change needs nothing: the
//! health checker re-reads the host list every interval.

use mosn_config::ClusterConfig;
use mosn_upstream::dns::DnsCluster;
use mosn_upstream::{Cluster, ControlThread};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// How long applying a batch waits for the first resolution of the DNS clusters it added
/// or changed; a cluster still unresolved then has no hosts (503) until it resolves.
pub(crate) const FIRST_RESOLUTION_WAIT: Duration = Duration::from_secs(5);

/// The `mosn-health` and `mosn-dns` threads, each started when a cluster first needs it.
#[derive(Default)]
pub(crate) struct ClusterControl {
    health: Option<ControlThread>,
    dns: Option<ControlThread>,
    /// First resolutions not heard of yet, from the clusters of the batch being applied.
    resolving: Vec<mpsc::Receiver<()>>,
}

impl ClusterControl {
    /// Starts (or restarts) the control work of `cluster`, built from `cfg`.
    pub(crate) fn follow(&mut self, cluster: &Arc<Cluster>, cfg: &ClusterConfig) {
        let group =
            mosn_upstream::health::cluster_group(cluster.clone(), cfg.health_check.as_deref());
        set_group(&mut self.health, "mosn-health", &cfg.name, group);
        let dns = cfg.dns.as_deref().cloned().map(|dns| {
            let (ready, heard) = mpsc::channel();
            self.resolving.push(heard);
            let dns = DnsCluster::new(cluster.clone(), cfg.cluster_type, dns);
            mosn_upstream::dns::group(dns, Some(ready))
        });
        set_group(&mut self.dns, "mosn-dns", &cfg.name, dns);
    }

    /// Stops the control work of the cluster `name` (it left the configuration).
    pub(crate) fn forget(&mut self, name: &str) {
        set_group(&mut self.health, "mosn-health", name, None);
        set_group(&mut self.dns, "mosn-dns", name, None);
    }

    /// Waits (at most [`FIRST_RESOLUTION_WAIT`] in all) for the first resolution of the
    /// DNS clusters followed since the last wait.
    pub(crate) fn wait_for_first_resolutions(&mut self) {
        let deadline = Instant::now() + FIRST_RESOLUTION_WAIT;
        for heard in self.resolving.drain(..) {
            let left = deadline.saturating_duration_since(Instant::now());
            if heard.recv_timeout(left).is_err() {
                tracing::warn!(
                    wait = ?FIRST_RESOLUTION_WAIT,
                    "not every DNS cluster resolved in time; they fill in when resolved"
                );
                return;
            }
        }
    }

    /// Stops both threads.
    pub(crate) fn shutdown(&mut self) {
        if let Some(health) = self.health.take() {
            health.shutdown();
        }
        if let Some(dns) = self.dns.take() {
            dns.shutdown();
        }
    }
}

/// Sets group `key` on `thread`, starting the thread when a group needs it.
fn set_group(
    thread: &mut Option<ControlThread>,
    name: &'static str,
    key: &str,
    group: Option<mosn_upstream::GroupStart>,
) {
    if thread.is_none() && group.is_some() {
        match ControlThread::spawn(name, || {}) {
            Ok(started) => *thread = Some(started),
            Err(e) => {
                tracing::error!(thread = name, error = %e, "cannot start a control thread");
                return;
            }
        }
    }
    if let Some(thread) = thread {
        thread.set_group(key, group);
    }
}
