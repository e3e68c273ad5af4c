//! One worker: a thread with its own single-threaded runtime, its own listener sockets
//! and upstream pool, serving connections until drained.

use mosn_api::stats::{ListenerStats, StatsRegistry};
use mosn_config::{FilterChainConfig, ListenerConfig, NetworkFilterConfig, StreamFilterConfig};
use mosn_net::{
    BoundListener, Chain, ConnectionInfo, EstablishError, FilterChains, NetworkFilter, StdListener,
};
use mosn_proxy::http::HttpProxyFilter;
use mosn_proxy::tcp::TcpProxyFilter;
use mosn_proxy::xprotocol::XProxyFilter;
use mosn_proxy::{Drain, SharedState, WorkerContext, WorkerDrain};
use mosn_tls::ListenerTls;
use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::task::LocalSet;

/// How long a client may take to send its first byte and finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often idle pooled upstream connections are checked for expiry.
const POOL_SWEEP: Duration = Duration::from_secs(5);

/// Each filter chain's TLS contexts, in chain order (`None`: plaintext).
pub(crate) type ChainTls = Vec<Option<Arc<ListenerTls>>>;

/// Everything a worker needs, moved onto its thread.
pub(crate) struct WorkerSpec {
    /// Worker number, for thread names and logs.
    pub id: usize,
    /// Listener configs with this worker's socket for each, and each chain's TLS
    /// contexts (shared by all workers).
    pub listeners: Vec<(ListenerConfig, StdListener, ChainTls)>,
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
    let ctx = Rc::new(WorkerContext::default());
    let active = Rc::new(ActiveConnections::default());
    for (cfg, socket, tls) in spec.listeners {
        let listener = socket.into_tokio()?;
        let chains = cfg
            .filter_chains
            .iter()
            .zip(tls)
            .map(|(chain, tls)| Chain {
                matcher: chain.filter_chain_match.clone(),
                tls,
                value: build_filter(&cfg, chain, &spec.state, &ctx, &spec.stats),
            })
            .collect();
        let chains = FilterChains::new(chains, cfg.inspector, HANDSHAKE_TIMEOUT);
        let listener_stats = spec.stats.listener(&cfg.name);
        let name: Rc<str> = Rc::from(cfg.name.as_str());
        tokio::task::spawn_local(accept_loop(
            listener,
            Rc::new(chains),
            Listening {
                name,
                stats: listener_stats,
                use_original_dst: cfg.use_original_dst,
            },
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
            sweeper_ctx.h2_pool.evict_closed();
            sweeper_ctx.mux.evict_closed();
        }
    });

    spec.drain.wait().await;
    ctx.drain.start();
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

/// The filter that owns a chain's connections: its first filter (a `tcp_proxy` after a
/// `proxy` serves as that proxy's fallback for unknown protocols).
fn build_filter(
    cfg: &ListenerConfig,
    chain: &FilterChainConfig,
    state: &SharedState,
    ctx: &Rc<WorkerContext>,
    stats: &StatsRegistry,
) -> Option<Rc<dyn NetworkFilter>> {
    let listener_stats = stats.listener(&cfg.name);
    let tcp_proxy = |t: &mosn_config::TcpProxyConfig| {
        Rc::new(TcpProxyFilter::new(
            t.clone(),
            state.clone(),
            ctx.clone(),
            listener_stats.clone(),
        ))
    };
    // The first filter owns the connection; a `tcp_proxy` after a `proxy` is its
    // fallback for protocols `Auto` does not know.
    Some(match chain.filters.as_slice() {
        [NetworkFilterConfig::Proxy(p), rest @ ..] => {
            if let Some(rpc) = XProxyFilter::new(
                p,
                cfg.connection_idle_timeout,
                state.clone(),
                ctx.clone(),
                listener_stats.clone(),
            ) {
                return Some(Rc::new(rpc));
            }
            let fallback = match rest {
                [NetworkFilterConfig::TcpProxy(t)] => Some(tcp_proxy(t)),
                _ => None,
            };
            Rc::new(
                HttpProxyFilter::new(
                    p,
                    cfg.connection_idle_timeout,
                    state.clone(),
                    ctx.clone(),
                    listener_stats.clone(),
                    mosn_filters::build_chain(&cfg.stream_filters),
                )
                .with_fallback(fallback)
                .with_transcoder(cfg.stream_filters.iter().find_map(|f| match f {
                    StreamFilterConfig::Transcoder(t) => Some(t),
                    _ => None,
                })),
            )
        }
        [NetworkFilterConfig::TcpProxy(t), ..] => tcp_proxy(t),
        [] => return None,
    })
}

/// A listener's name and stats, for the accept loop.
struct Listening {
    name: Rc<str>,
    stats: Arc<ListenerStats>,
    /// `use_original_dst`: read each connection's pre-REDIRECT destination.
    use_original_dst: bool,
}

async fn accept_loop(
    listener: BoundListener,
    chains: Rc<FilterChains<Option<Rc<dyn NetworkFilter>>>>,
    listening: Listening,
    drain: WorkerDrain,
    active: Rc<ActiveConnections>,
) {
    let name = listening.name.clone();
    let listening = Rc::new(listening);
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
        let mut info = ConnectionInfo {
            listener: name.clone(),
            remote,
            local,
            original_dst: listening
                .use_original_dst
                .then(|| mosn_net::original_dst(&socket))
                .flatten(),
            ..Default::default()
        };
        active.0.set(active.0.get() + 1);
        let guard = ActiveGuard(active.clone());
        let chains = chains.clone();
        let listening = listening.clone();
        // The TLS handshake runs in the connection's task, never in the accept loop.
        tokio::task::spawn_local(async move {
            let _guard = guard;
            // Boxed: detection and handshake state is freed once the connection is served.
            let (socket, filter) = match Box::pin(chains.establish(socket, &mut info)).await {
                Ok(found) => found,
                Err(e) => {
                    match e {
                        EstablishError::Handshake(_) => listening.stats.ssl_connection_error.inc(),
                        EstablishError::NoChain => listening.stats.no_filter_chain_match.inc(),
                        EstablishError::Silent(_) => {}
                    }
                    tracing::debug!(listener = %listening.name, error = %e, "connection refused before serving");
                    return;
                }
            };
            if info.is_tls() {
                listening.stats.ssl_handshake.inc();
            }
            let Some(filter) = filter.clone() else {
                tracing::warn!(listener = %listening.name, "filter chain has no network filter; closing connection");
                return;
            };
            filter.serve(socket, info).await;
        });
    }
}
