//! Starts the `mosn-dns` thread that keeps `STRICT_DNS`/`LOGICAL_DNS` clusters resolved.

use mosn_config::Config;
use mosn_upstream::dns::{DnsCluster, DnsHandle};
use std::io;
use std::time::Duration;

/// How long start-up waits for the first resolution of every DNS cluster before the
/// workers start; a cluster still unresolved then starts with no hosts (503s) and fills in
/// when its lookups finish.
pub(crate) const FIRST_RESOLUTION_WAIT: Duration = Duration::from_secs(5);

/// Resolves every DNS cluster of `config` on one `mosn-dns` thread; `None` when there is
/// none.
pub(crate) fn start_dns(
    config: &Config,
    state: &mosn_proxy::ProxyState,
) -> io::Result<Option<DnsHandle>> {
    let clusters: Vec<DnsCluster> = config
        .clusters
        .iter()
        .filter_map(|c| {
            let dns = c.dns.as_ref()?;
            let cluster = state.clusters.get(&c.name)?.clone();
            Some(DnsCluster::new(cluster, c.cluster_type, dns.clone()))
        })
        .collect();
    if clusters.is_empty() {
        return Ok(None);
    }
    mosn_upstream::dns::spawn(clusters, FIRST_RESOLUTION_WAIT).map(Some)
}
