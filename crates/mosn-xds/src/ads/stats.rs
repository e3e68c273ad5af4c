//! The ADS client's counters, under Envoy's names (`control_plane.connected_state`,
//! `cluster_manager.cds.update_success`, ...).

use super::types::XdsType;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counters of one resource type's updates.
#[derive(Debug, Default)]
pub struct TypeStats {
    /// Responses handled.
    pub update_attempt: AtomicU64,
    /// Responses ACKed.
    pub update_success: AtomicU64,
    /// Responses NACKed.
    pub update_rejected: AtomicU64,
    /// Resources refused (one NACK may name several).
    pub resources_rejected: AtomicU64,
}

/// Everything the client counts, shared with the admin API.
#[derive(Debug, Default)]
pub struct XdsStats {
    /// 1 while a stream to the control plane is up.
    pub connected: AtomicU64,
    /// Streams opened (reconnects included).
    pub streams: AtomicU64,
    /// Connection attempts or streams that failed.
    pub stream_failures: AtomicU64,
    /// Per type, in [`XdsType::ALL`] order.
    pub types: [TypeStats; 5],
    /// Set once the first configuration is in (clusters warm, listeners warm, or their
    /// `initial_fetch_timeout` passed): Envoy's server state LIVE.
    pub initialized: AtomicBool,
}

impl XdsStats {
    /// The counters of `ty`.
    pub fn of(&self, ty: XdsType) -> &TypeStats {
        &self.types[ty as usize]
    }

    /// Envoy's stat names and values, for `/stats` and `/api/v1/stats`.
    pub fn envoy_stats(&self) -> Vec<(String, u64)> {
        let mut out = vec![
            (
                "control_plane.connected_state".to_owned(),
                self.connected.load(Ordering::Relaxed),
            ),
            (
                "control_plane.streams".to_owned(),
                self.streams.load(Ordering::Relaxed),
            ),
            (
                "control_plane.stream_failures".to_owned(),
                self.stream_failures.load(Ordering::Relaxed),
            ),
        ];
        for ty in XdsType::ALL {
            let prefix = match ty {
                XdsType::Cluster => "cluster_manager.cds",
                XdsType::Endpoint => "cluster_manager.eds",
                XdsType::Listener => "listener_manager.lds",
                XdsType::Route => "http.rds",
                XdsType::Secret => "sds",
            };
            let s = self.of(ty);
            for (name, value) in [
                ("update_attempt", &s.update_attempt),
                ("update_success", &s.update_success),
                ("update_rejected", &s.update_rejected),
            ] {
                out.push((format!("{prefix}.{name}"), value.load(Ordering::Relaxed)));
            }
        }
        out
    }
}
