//! TLS contexts of listeners and clusters: built once per process (shared by every
//! worker), watched for certificate changes on the `mosn-tls-watch` thread, and their
//! expiry published as `ssl_days_until_first_cert_expiring` gauges.

use mosn_api::stats::StatsRegistry;
use mosn_config::Config;
use mosn_proxy::ProxyState;
use mosn_tls::{CertWatcher, ListenerTls, Watched};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often certificate files are checked for changes.
const POLL: Duration = Duration::from_secs(1);

/// Each listener's chains' TLS contexts (`None` for a plaintext chain), by listener name.
pub(crate) type ListenerTlsMap = HashMap<String, crate::worker::ChainTls>;

/// Builds the TLS contexts of every listener chain.
pub(crate) fn build_listener_tls(config: &Config) -> Result<ListenerTlsMap, String> {
    let mut map = HashMap::new();
    for server in &config.servers {
        for l in &server.listeners {
            let chains = l
                .filter_chains
                .iter()
                .enumerate()
                .map(|(i, chain)| {
                    if chain.tls.is_empty() {
                        return Ok(None);
                    }
                    mosn_tls::listener_tls(&format!("{}#{i}", l.name), chain.tls.clone())
                        .map(Some)
                        .map_err(|e| {
                            format!("listener {:?} filter_chains[{i}]: {}: {e}", l.name, e.key)
                        })
                })
                .collect::<Result<_, String>>()?;
            map.insert(l.name.clone(), chains);
        }
    }
    Ok(map)
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
}

impl Watched for Expiring {
    fn poll(&self) -> bool {
        let mut changed = false;
        for item in &self.items {
            changed |= item.poll();
        }
        // Days pass even when files do not change.
        self.publish();
        changed
    }
}

/// Publishes expiry gauges now and starts the watcher (none when nothing uses TLS).
pub(crate) fn start(
    listeners: &ListenerTlsMap,
    state: &ProxyState,
    stats: &Arc<StatsRegistry>,
) -> std::io::Result<Option<CertWatcher>> {
    let mut watched: Vec<Expiring> = Vec::new();
    for (name, chains) in listeners {
        let tls: Vec<Arc<ListenerTls>> = chains.iter().flatten().cloned().collect();
        if tls.is_empty() {
            continue;
        }
        let listener_stats = stats.listener(name);
        let contexts = tls.clone();
        watched.push(Expiring {
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
        });
    }
    for (_, cluster) in state.clusters.iter() {
        let Some(tls) = cluster.tls.clone() else {
            continue;
        };
        let cluster_stats = cluster.stats.clone();
        let context = tls.clone();
        watched.push(Expiring {
            days_left: Box::new(move || context.load().days_until_first_cert_expiring()),
            items: vec![tls as Arc<dyn Watched>],
            set_gauge: Box::new(move |days| {
                cluster_stats.ssl_days_until_first_cert_expiring.set(days)
            }),
        });
    }
    for w in &watched {
        w.publish();
    }
    CertWatcher::spawn(
        watched
            .into_iter()
            .map(|w| Arc::new(w) as Arc<dyn Watched>)
            .collect(),
        POLL,
    )
}
