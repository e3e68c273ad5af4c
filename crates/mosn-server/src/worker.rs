//! One worker: a thread with its own single-threaded runtime, its own listener sockets
//! and upstream pool, serving connections until drained.

use mosn_api::stats::StatsRegistry;
use mosn_config::{ListenerConfig, NetworkFilterConfig};
use mosn_net::{BoundListener, ConnectionInfo, NetworkFilter, StdListener};
use mosn_proxy::http::HttpProxyFilter;
use mosn_proxy::tcp::TcpProxyFilter;
use mosn_proxy::xprotocol::XProxyFilter;
use mosn_proxy::{Drain, SharedState, WorkerContext};
use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::task::LocalSet;

/// How often idle pooled upstream connections are checked for expiry.
const POOL_SWEEP: Duration = Duration::from_secs(5);

/// Everything a worker needs, moved onto its thread.
pub(crate) struct WorkerSpec {
    /// Worker number, for thread names and logs.
    pub id: usize,
    /// Listener configs with this worker's socket for each.
    pub listeners: Vec<(ListenerConfig, StdListener)>,
    /// The shared config snapshot.
    pub state: SharedState,
    /// Stats registry.
    pub stats: Arc<StatsRegistry>,
    /// Shutdown signal.
    pub drain: Drain,
    /// How long in-flight connections may take to finish once draining starts.
    pub graceful_timeout: Duration,
}

/// Starts the worker thread.
pub(crate) fn spawn(spec: WorkerSpec) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("mosn-worker-{}", spec.id))
        .spawn(move || {
            if let Err(e) = run(spec) {
                tracing::error!(error = %e, "worker failed");
            }
        })
}

fn run(spec: WorkerSpec) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = LocalSet::new();
    local.block_on(&rt, serve(spec))
}

/// Counts live connections of this worker so draining knows when it is done.
#[derive(Default)]
struct ActiveConnections(Cell<usize>);

struct ActiveGuard(Rc<ActiveConnections>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0 .0.set(self.0 .0.get() - 1);
    }
}

async fn serve(spec: WorkerSpec) -> io::Result<()> {
    let ctx = Rc::new(WorkerContext::new(spec.drain.clone()));
    let active = Rc::new(ActiveConnections::default());
    for (cfg, socket) in spec.listeners {
        let listener = socket.into_tokio()?;
        let filter = build_filter(&cfg, &spec.state, &ctx, &spec.stats);
        let name: Rc<str> = Rc::from(cfg.name.as_str());
        tokio::task::spawn_local(accept_loop(
            listener,
            filter,
            name,
            ctx.drain.clone(),
            active.clone(),
        ));
    }
    let sweeper_ctx = ctx.clone();
    tokio::task::spawn_local(async move {
        let mut tick = tokio::time::interval(POOL_SWEEP);
        loop {
            tick.tick().await;
            sweeper_ctx.pool.evict_expired();
            sweeper_ctx.mux.evict_closed();
        }
    });

    spec.drain.wait().await;
    let deadline = tokio::time::Instant::now() + spec.graceful_timeout;
    while active.0.get() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if active.0.get() > 0 {
        tracing::warn!(
            worker = spec.id,
            connections = active.0.get(),
            "graceful timeout reached, closing remaining connections"
        );
    }
    Ok(())
}

/// The filter that owns this listener's connections: the terminal filter of its chain.
fn build_filter(
    cfg: &ListenerConfig,
    state: &SharedState,
    ctx: &Rc<WorkerContext>,
    stats: &StatsRegistry,
) -> Option<Rc<dyn NetworkFilter>> {
    let listener_stats = stats.listener(&cfg.name);
    let terminal = cfg.filter_chains.first()?.filters.last()?;
    Some(match terminal {
        NetworkFilterConfig::Proxy(p) => match XProxyFilter::new(
            p,
            cfg.connection_idle_timeout,
            state.clone(),
            ctx.clone(),
            listener_stats.clone(),
        ) {
            Some(rpc) => Rc::new(rpc),
            None => Rc::new(HttpProxyFilter::new(
                p,
                cfg.connection_idle_timeout,
                state.clone(),
                ctx.clone(),
                listener_stats,
                mosn_filters::build_chain(&cfg.stream_filters),
            )),
        },
        NetworkFilterConfig::TcpProxy(t) => Rc::new(TcpProxyFilter::new(
            t.clone(),
            state.clone(),
            ctx.clone(),
            listener_stats,
        )),
    })
}

async fn accept_loop(
    listener: BoundListener,
    filter: Option<Rc<dyn NetworkFilter>>,
    name: Rc<str>,
    drain: Drain,
    active: Rc<ActiveConnections>,
) {
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = drain.wait() => return,
        };
        let (socket, remote, local) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and similar: back off instead of spinning.
                tracing::warn!(listener = %name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(filter) = filter.clone() else {
            tracing::warn!(listener = %name, "listener has no network filter; closing connection");
            continue;
        };
        let info = ConnectionInfo {
            listener: name.clone(),
            remote,
            local,
        };
        active.0.set(active.0.get() + 1);
        let guard = ActiveGuard(active.clone());
        tokio::task::spawn_local(async move {
            let _guard = guard;
            filter.serve(socket, info).await;
        });
    }
}
