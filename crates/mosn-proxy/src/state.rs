//! What the proxy filters read: the shared config snapshot and per-worker context.

use arc_swap::ArcSwap;
use mosn_router::RouteTable;
use mosn_stream::ConnPool;
use mosn_upstream::ClusterManager;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::watch;

/// Routes and clusters of one config version; built off the hot path, swapped in whole.
#[derive(Debug, Default)]
pub struct ProxyState {
    /// Route tables by `router_config_name`.
    pub routers: HashMap<String, Arc<RouteTable>>,
    /// Clusters by name.
    pub clusters: ClusterManager,
}

/// The snapshot every worker reads lock-free; a reload stores a new one.
pub type SharedState = Arc<ArcSwap<ProxyState>>;

/// Tells connections the process is shutting down: finish the request in flight, then
/// close instead of waiting for another.
#[derive(Debug, Clone)]
pub struct Drain(watch::Receiver<bool>);

impl Drain {
    /// A drain signal and the sender that starts draining.
    pub fn new() -> (watch::Sender<bool>, Self) {
        let (tx, rx) = watch::channel(false);
        (tx, Self(rx))
    }

    /// True once draining has started.
    pub fn is_draining(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves when draining starts (or the sender is gone).
    pub async fn wait(&self) {
        let mut rx = self.0.clone();
        let _ = rx.wait_for(|d| *d).await;
    }
}

/// One worker's own things: its upstream pool and the drain signal.
#[derive(Debug)]
pub struct WorkerContext {
    /// Idle upstream connections of this worker.
    pub pool: ConnPool,
    /// Shutdown signal.
    pub drain: Drain,
}
