//! `Cluster` → [`ClusterConfig`].

use super::{Context, ConvertError, Result};
use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use mosn_config::model::ClusterConfig;

/// A converted cluster and where its hosts come from.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterPlan {
    /// The cluster; for EDS its `hosts` are empty until the load assignment arrives.
    pub cluster: ClusterConfig,
    /// For `EDS` clusters, the `ClusterLoadAssignment` name whose endpoints are the hosts
    /// (`eds_cluster_config.service_name`, else the cluster's name).
    pub eds: Option<String>,
}

/// Converts one cluster.
pub fn cluster(c: &Cluster, ctx: &mut Context<'_>) -> Result<ClusterPlan> {
    let _ = ctx;
    Err(ConvertError::unsupported("", format!("cluster {}", c.name)))
}
