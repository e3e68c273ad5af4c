//! Listeners as the plane changes them: TLS contexts built and sockets bound first (so a
//! listener that cannot be served is rejected before anything changes), then one command
//! per worker. A listener whose address stays keeps its sockets: the workers swap its
//! filter chains, so no connection is refused during a change.

use crate::listeners;
use crate::tls_watch::TlsWatch;
use crate::worker::{ChainTls, ListenerCommand};
use mosn_api::stats::StatsRegistry;
use mosn_config::ListenerConfig;
use mosn_net::StdListener;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

/// A listener ready to be handed to the workers.
pub(crate) struct Prepared {
    tls: ChainTls,
    /// One socket per worker when the listener needs new ones (added, or its address
    /// changed); `None` keeps the sockets the workers have.
    sockets: Option<Vec<StdListener>>,
}

/// The workers' command queues.
pub(crate) struct ListenerControl {
    workers: Vec<UnboundedSender<ListenerCommand>>,
}

impl ListenerControl {
    /// Control over the workers behind `workers` (one queue each, in worker order).
    pub(crate) fn new(workers: Vec<UnboundedSender<ListenerCommand>>) -> Self {
        Self { workers }
    }

    /// Builds `cfg`'s TLS contexts and binds its sockets when it needs new ones (`old` is
    /// the listener it replaces); the error says what failed.
    pub(crate) fn prepare(
        &self,
        cfg: &ListenerConfig,
        old: Option<&ListenerConfig>,
    ) -> Result<Prepared, String> {
        let tls = crate::tls_watch::build_listener_tls(cfg)?;
        let keeps_sockets = old.is_some_and(|o| o.bind_port && o.address == cfg.address);
        let sockets = if !cfg.bind_port || keeps_sockets {
            None
        } else {
            let bound = listeners::bind(cfg, self.workers.len())
                .map_err(|e| format!("address {:?}: {e}", cfg.address))?;
            Some(bound)
        };
        Ok(Prepared { tls, sockets })
    }

    /// Hands a prepared listener to every worker.
    pub(crate) fn commit(
        &self,
        cfg: &ListenerConfig,
        ready: Prepared,
        tls_watch: &mut TlsWatch,
        stats: &StatsRegistry,
    ) {
        if !cfg.bind_port {
            tracing::info!(listener = %cfg.name, "bind_port is false: listener not opened");
            self.remove(&cfg.name, tls_watch);
            return;
        }
        tls_watch.set_listener(&cfg.name, &ready.tls, stats);
        let config = Arc::new(cfg.clone());
        let mut sockets = ready.sockets.map(Vec::into_iter);
        for worker in &self.workers {
            let socket = sockets.as_mut().and_then(Iterator::next);
            // A worker that stopped (the process is draining) needs nothing more.
            let _ = worker.send(ListenerCommand::Upsert {
                config: config.clone(),
                socket,
                tls: ready.tls.clone(),
            });
        }
    }

    /// Tells every worker to stop listener `name` and drain its connections.
    pub(crate) fn remove(&self, name: &str, tls_watch: &mut TlsWatch) {
        tls_watch.remove("listener", name);
        for worker in &self.workers {
            let _ = worker.send(ListenerCommand::Remove {
                name: name.to_owned(),
            });
        }
    }
}
