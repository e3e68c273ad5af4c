//! A worker: a runtime with its listener sockets and upstream pools, serving connections
//! until drained. Under the thread-per-core I/O model each worker is a thread with its own
//! single-threaded runtime, sockets and pools; under the work-stealing model one worker
//! owns every listener and runs a multi-threaded runtime whose threads steal each other's
//! connection tasks, sharing one set of pools.

use mosn_api::stats::{ListenerStats, StatsRegistry};
use mosn_config::IoModel;
use mosn_config::{FilterChainConfig, ListenerConfig, NetworkFilterConfig, StreamFilterConfig};
use mosn_net::{
    BoundListener, Chain, ConnectionGuard, ConnectionInfo, EstablishError, FilterChains,
    NetworkFilter, OpenConnections, Settled, Socket, StdListener,
};
use mosn_proxy::http::HttpProxyFilter;
use mosn_proxy::tcp::TcpProxyFilter;
use mosn_proxy::xprotocol::XProxyFilter;
use mosn_proxy::{Drain, SharedState, WorkerContext, WorkerDrain};
use mosn_tls::ListenerTls;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

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
    /// The runtime: one thread of its own, or `threads` work-stealing threads.
    pub io_model: IoModel,
    /// Threads of a work-stealing runtime (ignored for thread-per-core).
    pub threads: usize,
}

/// Starts the worker thread. Threads that serve connections are named `mosn-worker-N`
/// under either model; a work-stealing worker's own thread only waits for the drain.
pub(crate) fn spawn(spec: WorkerSpec) -> io::Result<JoinHandle<()>> {
    let name = match spec.io_model {
        IoModel::ThreadPerCore => format!("mosn-worker-{}", spec.id),
        IoModel::WorkStealing => "mosn-workers".to_owned(),
    };
    std::thread::Builder::new().name(name).spawn(move || {
        if let Err(e) = run(spec) {
            tracing::error!(error = %e, "worker failed");
        }
    })
}

fn run(spec: WorkerSpec) -> io::Result<()> {
    let rt = match spec.io_model {
        IoModel::ThreadPerCore => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        IoModel::WorkStealing => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(spec.threads.max(1))
            .thread_name_fn(|| {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                format!("mosn-worker-{}", NEXT.fetch_add(1, Relaxed))
            })
            .enable_all()
            .build()?,
    };
    rt.block_on(serve(spec))
}

async fn serve(spec: WorkerSpec) -> io::Result<()> {
    let ctx = Arc::new(WorkerContext::default());
    let open = Arc::new(OpenConnections::default());
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
        let name = Arc::new(cfg.name.clone());
        tokio::spawn(accept_loop(
            listener,
            Arc::new(chains),
            Listening {
                name,
                stats: listener_stats,
                use_original_dst: cfg.use_original_dst,
            },
            ctx.drain.clone(),
            open.clone(),
        ));
    }
    let sweeper_ctx = ctx.clone();
    tokio::spawn(async move {
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
    while open.count() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if open.count() > 0 {
        tracing::warn!(
            worker = spec.id,
            connections = open.count(),
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
    ctx: &Arc<WorkerContext>,
    stats: &StatsRegistry,
) -> Option<Arc<dyn NetworkFilter>> {
    let listener_stats = stats.listener(&cfg.name);
    let tcp_proxy = |t: &mosn_config::TcpProxyConfig| {
        Arc::new(TcpProxyFilter::new(
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
                return Some(Arc::new(rpc));
            }
            let fallback = match rest {
                [NetworkFilterConfig::TcpProxy(t)] => Some(tcp_proxy(t)),
                _ => None,
            };
            Arc::new(
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

/// What a filter chain hands its connections to (`None`: a chain without filters).
type ChainFilter = Option<Arc<dyn NetworkFilter>>;

/// A listener's name and stats, for the accept loop.
struct Listening {
    name: Arc<String>,
    stats: Arc<ListenerStats>,
    /// `use_original_dst`: read each connection's pre-REDIRECT destination.
    use_original_dst: bool,
}

async fn accept_loop(
    listener: BoundListener,
    chains: Arc<FilterChains<ChainFilter>>,
    listening: Listening,
    drain: WorkerDrain,
    open: Arc<OpenConnections>,
) {
    let name = listening.name.clone();
    let listening = Arc::new(listening);
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
                .flatten()
                .map(Box::new),
            ..Default::default()
        };
        let guard = open.open();
        let tcp = match chains.settle_now(socket, &info) {
            Settled::Now(settled) => {
                start_serving(settled, info, &listening, guard);
                continue;
            }
            Settled::Handshake(tcp) => tcp,
        };
        let chains = chains.clone();
        let listening = listening.clone();
        // The TLS handshake runs in a task of its own, never in the accept loop; the
        // connection's serving task replaces it once the handshake is done.
        tokio::spawn(async move {
            let settled = chains.establish(tcp, &mut info).await;
            start_serving(settled, info, &listening, guard);
        });
    }
}

/// Hands an established connection to its chain's filter, which spawns its task; or
/// counts why it could not be served.
fn start_serving(
    settled: Result<(Socket, &ChainFilter), EstablishError>,
    info: ConnectionInfo,
    listening: &Listening,
    guard: ConnectionGuard,
) {
    let (socket, filter) = match settled {
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
    filter.spawn(socket, info, guard);
}
