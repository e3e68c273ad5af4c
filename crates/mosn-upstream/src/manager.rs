//! All clusters of one config snapshot, by name.

use crate::cluster::Cluster;
use mosn_api::stats::StatsRegistry;
use mosn_api::FastMap;
use mosn_config::ClusterConfig;
use std::sync::Arc;

/// The clusters of one config snapshot; immutable once built. A configuration change
/// publishes a new set ([`ClusterManager::with_changes`]) sharing the unchanged clusters.
#[derive(Debug, Default)]
pub struct ClusterManager {
    clusters: FastMap<String, Arc<Cluster>>,
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
                Ok((
                    c.name.clone(),
                    Arc::new(Cluster::build(c, stats.cluster(&c.name))?),
                ))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { clusters })
    }

    /// This set with `upserts` added or replacing the clusters of the same name and
    /// `removals` taken out: the next snapshot after a configuration change. The clusters
    /// themselves are shared, not copied.
    pub fn with_changes(
        &self,
        upserts: impl IntoIterator<Item = Arc<Cluster>>,
        removals: &[String],
    ) -> Self {
        let mut clusters = self.clusters.clone();
        for name in removals {
            clusters.remove(name);
        }
        for cluster in upserts {
            clusters.insert(cluster.name.clone(), cluster);
        }
        Self { clusters }
    }

    /// How many clusters there are.
    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    /// True when there is no cluster.
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
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
