//! Envoy's admin API for a process started from an Envoy bootstrap: its inputs built from
//! the live process (the ADS client's state and counters, the configuration plane's
//! listeners, the shutdown trigger).

use crate::plane::ConfigPlane;
use crate::server::XdsStart;
use mosn_admin::{DrainRequest, EnvoyAdmin, EnvoyListener, ServerState};
use mosn_config::resources::{Batch, ResourceKind};
use mosn_config::Address;
use mosn_xds::ads::AdsHandle;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// What the Envoy admin is built from.
pub(crate) struct EnvoyParts<'a> {
    /// The bootstrap's start.
    pub start: &'a XdsStart,
    /// The ADS client, when the bootstrap has one.
    pub ads: Option<&'a AdsHandle>,
    /// The configuration plane (listeners, drains).
    pub plane: Arc<ConfigPlane>,
    /// Worker threads.
    pub workers: u64,
    /// Set to start the graceful stop (`/quitquitquit`).
    pub quit: tokio::sync::watch::Sender<bool>,
}

/// The Envoy admin's inputs.
pub(crate) fn envoy_admin(parts: EnvoyParts<'_>) -> EnvoyAdmin {
    let mut dump = parts.start.bootstrap.clone();
    dump.ads = parts.ads.map(|a| a.state.clone());
    let xds_stats = parts.ads.map(|a| (a.stats.clone(), a.state.clone()));
    let counted = parts.plane.clone();
    let initialized = xds_stats.clone();
    let node = parts
        .start
        .bootstrap
        .bootstrap
        .node
        .clone()
        .unwrap_or_default();
    let plane = parts.plane.clone();
    let drain_plane = parts.plane;
    let quit = parts.quit;
    EnvoyAdmin {
        config_dump: Arc::new(move |include_eds| dump.to_json(include_eds)),
        extra_stats: Arc::new(move || {
            let (listeners, clusters) = counted.counts();
            let mut stats = vec![
                (
                    "listener_manager.total_listeners_active".to_owned(),
                    listeners as u64,
                ),
                (
                    "cluster_manager.active_clusters".to_owned(),
                    clusters as u64,
                ),
            ];
            if let Some((xds, state)) = &xds_stats {
                let (warming_clusters, warming_listeners) = state.lock().warming_counts();
                stats.push((
                    "cluster_manager.warming_clusters".to_owned(),
                    warming_clusters as u64,
                ));
                stats.push((
                    "listener_manager.total_listeners_warming".to_owned(),
                    warming_listeners as u64,
                ));
                stats.extend(xds.envoy_stats());
                // The policy's counted no-ops: fields accepted without effect, by feature,
                // over every resource converted so far.
                for (feature, n) in state.lock().ignored() {
                    stats.push((format!("xds_ignored.{feature}"), *n));
                }
            }
            stats
        }),
        state: Arc::new(move || match &initialized {
            Some((s, _)) if !s.initialized.load(Ordering::Relaxed) => ServerState::Initializing,
            _ => ServerState::Live,
        }),
        started: Instant::now(),
        concurrency: parts.workers,
        command_line_options: parts.start.command_line_options.clone(),
        node: mosn_xds::proto::to_json(&node),
        quit: Arc::new(move || {
            let _ = quit.send(true);
        }),
        drain_listeners: Arc::new(move |request| drain(&drain_plane, request)),
        listeners: Arc::new(move || {
            plane
                .listeners()
                .into_iter()
                .map(|(name, address)| EnvoyListener {
                    name,
                    address: match address {
                        Address::Tcp(addr) => addr.to_string(),
                        Address::Unix(path) => format!("unix:{}", path.display()),
                    },
                    http_stat_prefix: None,
                })
                .collect()
        }),
        health_check_failed: Arc::default(),
    }
}

/// Envoy's `/drain_listeners`: the listeners are removed, which drains them (they stop
/// accepting; connections finish their requests within `graceful_timeout`). mosn keeps
/// no traffic direction, so `inboundonly` drains Istio's inbound listener
/// (`virtualInbound`) and listeners named `inbound…`.
fn drain(plane: &ConfigPlane, request: DrainRequest) {
    let removals = plane
        .listeners()
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| {
            !request.inbound_only || name == "virtualInbound" || name.starts_with("inbound")
        })
        .map(|name| (ResourceKind::Listener, name))
        .collect();
    tracing::info!(?request, "draining listeners (admin request)");
    plane.apply(Batch {
        upserts: Vec::new(),
        removals,
    });
}
