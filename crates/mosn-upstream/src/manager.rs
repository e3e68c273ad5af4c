//! All clusters of one config snapshot, by name.

use crate::cluster::Cluster;
use mosn_api::stats::StatsRegistry;
use mosn_config::ClusterConfig;
use std::collections::HashMap;
use std::sync::Arc;

/// The clusters of one config snapshot; immutable once built, replaced whole on reload.
#[derive(Debug, Default)]
pub struct ClusterManager {
    clusters: HashMap<String, Arc<Cluster>>,
}

impl ClusterManager {
    /// Builds every cluster, attaching stats from the registry so counts survive reloads.
    ///
    /// Fails when a cluster's TLS context cannot be built (its files changed since the
    /// config was validated).
    pub fn from_config(clusters: &[ClusterConfig], stats: &StatsRegistry) -> Result<Self, String> {
        let clusters = clusters
            .iter()
            .map(|c| {
                let mut cluster = Cluster::from_config(c, stats.cluster(&c.name));
                if let Some(tls) = &c.tls {
                    let built = mosn_tls::cluster_tls(&c.name, tls.clone())
                        .map_err(|e| format!("cluster {:?}: tls_context.{}: {e}", c.name, e.key))?;
                    cluster.tls = Some(built);
                }
                Ok((c.name.clone(), Arc::new(cluster)))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { clusters })
    }

    /// The cluster called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Cluster>> {
        self.clusters.get(name)
    }

    /// Every cluster with its name, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<Cluster>)> {
        self.clusters.iter().map(|(name, c)| (name.as_str(), c))
    }
}
