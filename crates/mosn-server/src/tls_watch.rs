//! TLS contexts of listeners and clusters: built once per resource version (shared by
//! every worker), watched for certificate changes on the `mosn-tls-watch` thread, and
//! their expiry published as `ssl_days_until_first_cert_expiring` gauges. The set of
//! watched contexts follows the configuration: a listener or cluster added, changed or
//! removed at runtime joins, replaces or leaves it.

use mosn_api::stats::StatsRegistry;
use mosn_config::ListenerConfig;
use mosn_tls::{CertWatcher, ClusterTls, ListenerTls, Watched};
use mosn_upstream::Cluster;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How often certificate files are checked for changes.
const POLL: Duration = Duration::from_secs(1);

/// Builds the TLS contexts of every chain of `l` (`None` for a plaintext chain); the error
/// names the chain and the key.
pub(crate) fn build_listener_tls(l: &ListenerConfig) -> Result<crate::worker::ChainTls, String> {
    l.filter_chains
        .iter()
        .enumerate()
        .map(|(i, chain)| {
            if chain.tls.is_empty() {
                return Ok(None);
            }
            mosn_tls::listener_tls(&format!("{}#{i}", l.name), chain.tls.clone())
                .map(Some)
                .map_err(|e| format!("filter_chains[{i}].tls_context.{}: {e}", e.key))
        })
        .collect()
}

/// One listener's or cluster's contexts with the gauge their expiry goes to.
struct Expiring {
    /// Days until the contexts' first certificate expires.
    days_left: Box<dyn Fn() -> Option<i64> + Send + Sync>,
    items: Vec<Arc<dyn Watched>>,
    /// Sets the `ssl_days_until_first_cert_expiring` gauge (0 without a certificate).
    set_gauge: Box<dyn Fn(i64) + Send + Sync>,
}

impl Expiring {
    fn publish(&self) {
        (self.set_gauge)((self.days_left)().unwrap_or(0));
    }

    fn poll(&self) {
        for item in &self.items {
            item.poll();
        }
        // Days pass even when files do not change.
        self.publish();
    }
}

/// Every watched context, by `listener:NAME` / `cluster:NAME`.
#[derive(Default)]
struct WatchSet(Mutex<BTreeMap<String, Arc<Expiring>>>);

impl Watched for WatchSet {
    fn poll(&self) -> bool {
        // A snapshot, so a configuration change never waits for a slow poll.
        let items: Vec<Arc<Expiring>> = self.0.lock().values().cloned().collect();
        for item in items {
            item.poll();
        }
        false
    }
}

/// The watched contexts and the thread that polls them (started with the first one).
#[derive(Default)]
pub(crate) struct TlsWatch {
    set: Arc<WatchSet>,
    thread: Option<CertWatcher>,
}

impl TlsWatch {
    /// Watches listener `name`'s contexts in place of its previous ones (none: it
    /// stops being watched).
    pub(crate) fn set_listener(
        &mut self,
        name: &str,
        chains: &crate::worker::ChainTls,
        stats: &StatsRegistry,
    ) {
        let tls: Vec<Arc<ListenerTls>> = chains.iter().flatten().cloned().collect();
        let key = format!("listener:{name}");
        if tls.is_empty() {
            self.set.0.lock().remove(&key);
            return;
        }
        let listener_stats = stats.listener(name);
        let contexts = tls.clone();
        self.insert(
            key,
            Expiring {
                days_left: Box::new(move || {
                    contexts
                        .iter()
                        .filter_map(|t| t.load().days_until_first_cert_expiring())
                        .min()
                }),
                items: tls.into_iter().map(|t| t as Arc<dyn Watched>).collect(),
                set_gauge: Box::new(move |days| {
                    listener_stats.ssl_days_until_first_cert_expiring.set(days)
                }),
            },
        );
    }

    /// Watches `cluster`'s context in place of its previous one.
    pub(crate) fn set_cluster(&mut self, cluster: &Cluster) {
        let key = format!("cluster:{}", cluster.name);
        let Some(tls) = cluster.tls.clone() else {
            self.set.0.lock().remove(&key);
            return;
        };
        let cluster_stats = cluster.stats.clone();
        let context: Arc<ClusterTls> = tls.clone();
        self.insert(
            key,
            Expiring {
                days_left: Box::new(move || context.load().days_until_first_cert_expiring()),
                items: vec![tls as Arc<dyn Watched>],
                set_gauge: Box::new(move |days| {
                    cluster_stats.ssl_days_until_first_cert_expiring.set(days)
                }),
            },
        );
    }

    /// Stops watching what listener or cluster `kind:name` had.
    pub(crate) fn remove(&mut self, kind: &str, name: &str) {
        self.set.0.lock().remove(&format!("{kind}:{name}"));
    }

    fn insert(&mut self, key: String, item: Expiring) {
        item.publish();
        self.set.0.lock().insert(key, Arc::new(item));
        if self.thread.is_none() {
            match CertWatcher::spawn(vec![self.set.clone() as Arc<dyn Watched>], POLL) {
                Ok(thread) => self.thread = thread,
                Err(e) => tracing::error!(error = %e, "cannot start the certificate watcher"),
            }
        }
    }
}
