//! `ClusterLoadAssignment` → the hosts of a cluster.

use super::{Context, ConvertError, Result};
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use mosn_config::model::HostConfig;

/// The hosts a load assignment lists (EDS, or a cluster's inline `load_assignment`).
pub fn endpoints(cla: &ClusterLoadAssignment, ctx: &mut Context<'_>) -> Result<Vec<HostConfig>> {
    let _ = ctx;
    Err(ConvertError::unsupported("", format!("load assignment {}", cla.cluster_name)))
}
