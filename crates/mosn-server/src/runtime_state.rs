//! Turns the config model into the snapshot workers read.

use mosn_api::stats::StatsRegistry;
use mosn_config::Config;
use mosn_proxy::ProxyState;
use mosn_router::RouteTable;
use mosn_upstream::ClusterManager;
use std::collections::HashMap;
use std::sync::Arc;

/// Builds route tables and clusters for every server of `config`.
pub fn build_proxy_state(config: &Config, stats: &StatsRegistry) -> Result<ProxyState, String> {
    let mut routers = HashMap::new();
    for (si, server) in config.servers.iter().enumerate() {
        for (ri, router) in server.routers.iter().enumerate() {
            let table = RouteTable::from_config(router)
                .map_err(|e| format!("servers[{si}].routers[{ri}]: {e}"))?;
            routers.insert(router.name.clone(), Arc::new(table));
        }
    }
    Ok(ProxyState {
        routers,
        clusters: ClusterManager::from_config(&config.clusters, stats)?,
    })
}
