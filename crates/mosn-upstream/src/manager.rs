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
    /// Whether any cluster (now or since the set was built) names its upstream HTTP
    /// protocol, so requests only look their cluster up for it when one might.
    protocols: bool,
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
            .collect::<Result<FastMap<_, _>, String>>()?;
        let protocols = clusters.values().any(|c| c.http_protocol.is_some());
        Ok(Self {
            clusters,
            protocols,
        })
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
        let mut protocols = self.protocols;
        for name in removals {
            clusters.remove(name);
        }
        for cluster in upserts {
            protocols |= cluster.http_protocol.is_some();
            clusters.insert(cluster.name.clone(), cluster);
        }
        Self {
            clusters,
            protocols,
        }
    }

    /// How many clusters there are.
    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    /// True when there is no cluster.
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// The upstream HTTP protocol the cluster `name` asks for, if it exists and says.
    pub fn http_protocol(&self, name: &str) -> Option<mosn_config::Protocol> {
        if !self.protocols {
            return None;
        }
        self.clusters.get(name).and_then(|c| c.http_protocol)
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
