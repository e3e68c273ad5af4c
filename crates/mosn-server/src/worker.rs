//! A worker: a runtime with its listener sockets and upstream pools, serving connections
//! until drained. Under the thread-per-core I/O model each worker is a thread with its own
//! single-threaded runtime, sockets and pools; under the work-stealing model one worker
//! owns every listener and runs a multi-threaded runtime whose threads steal each other's
//! connection tasks, sharing one set of pools.
//!
//! Listeners come and go by [`ListenerCommand`]: each `Upsert` starts a generation of the
//! listener (its filter chains and the [`ConnectionScope`] its connections drain in), and
//! a replaced or removed generation drains on its own, within `graceful_timeout`, while
//! the others serve on.

use mosn_api::stats::{ListenerStats, StatsRegistry};
use mosn_config::IoModel;
use mosn_config::{FilterChainConfig, ListenerConfig, NetworkFilterConfig, StreamFilterConfig};
use mosn_net::{
    BoundListener, Chain, ConnectionGuard, ConnectionInfo, EstablishError, FilterChains,
    NetworkFilter, Settled, Socket, StdListener,
};
use mosn_proxy::http::HttpProxyFilter;
use mosn_proxy::tcp::TcpProxyFilter;
use mosn_proxy::xprotocol::XProxyFilter;
use mosn_proxy::{ConnectionScope, Drain, SharedState, WorkerContext};
use mosn_tls::ListenerTls;
use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

/// How long a client may take to send its first byte and finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often idle pooled upstream connections are checked for expiry.
const POOL_SWEEP: Duration = Duration::from_secs(5);

/// Each filter chain's TLS contexts, in chain order (`None`: plaintext).
pub(crate) type ChainTls = Vec<Option<Arc<ListenerTls>>>;

/// What the configuration plane tells a worker about its listeners.
pub(crate) enum ListenerCommand {
    /// Serve `config` (added or changed). `socket: Some` = a listener new to this worker,
    /// or one whose address changed: accept on this socket (an older socket of the same
    /// name is closed). `socket: None` = the listener runs already at the same address:
    /// keep its socket (no connection refused during the change) and give new connections
    /// the new filter chains.
    Upsert {
        config: Arc<ListenerConfig>,
        socket: Option<StdListener>,
        tls: ChainTls,
    },
    /// Stop accepting on listener `name` at once (close its socket) and drain its
    /// connections.
    Remove { name: String },
}

/// Everything a worker needs, moved onto its thread.
pub(crate) struct WorkerSpec {
    /// Worker number, for thread names and logs.
    pub id: usize,
    /// What to listen on, from the configuration plane. The start-up config's listeners
    /// arrive as the first `Upsert`s (each with this worker's socket), so a listener
    /// added at start and one added later take the same path.
    pub commands: UnboundedReceiver<ListenerCommand>,
    /// The shared config snapshot.
    pub state: SharedState,
    /// Stats registry.
    pub stats: Arc<StatsRegistry>,
    /// Shutdown signal.
    pub drain: Drain,
    /// How long in-flight connections may take to finish once draining starts (the
    /// process's, or a removed or changed listener's old generation), before those left
    /// are closed forcibly.
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
    rt.block_on(serve(spec));
    Ok(())
}

/// Serves the listeners the commands name until the process drains, then drains every
/// connection (each generation of each listener) within `graceful_timeout`. Returning
/// drops the runtime, which ends whatever is still open.
async fn serve(spec: WorkerSpec) {
    let WorkerSpec {
        id,
        mut commands,
        state,
        stats,
        drain,
        graceful_timeout,
        ..
    } = spec;
    let ctx = Arc::new(WorkerContext::default());
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

    let mut listeners = Listeners {
        worker: id,
        live: HashMap::new(),
        retiring: Vec::new(),
        state,
        stats,
        ctx,
        graceful_timeout,
    };
    let mut commands_open = true;
    loop {
        tokio::select! {
            biased;
            () = drain.wait() => break,
            command = commands.recv(), if commands_open => match command {
                Some(command) => listeners.apply(command).await,
                // The plane is gone: serve what runs until the drain.
                None => commands_open = false,
            },
        }
    }

    // Stop accepting everywhere, then drain every generation at once.
    let scopes = listeners.close_all().await;
    for scope in &scopes {
        scope.start_drain();
    }
    let open = || scopes.iter().map(|s| s.open_connections()).sum::<usize>();
    let deadline = tokio::time::Instant::now() + graceful_timeout;
    while open() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if open() > 0 {
        tracing::warn!(
            worker = id,
            connections = open(),
            "graceful timeout reached, closing remaining connections"
        );
    }
}

/// The listeners a worker runs, by name, and the generations it still drains.
struct Listeners {
    worker: usize,
    live: HashMap<String, Live>,
    /// Scopes of replaced or removed generations with connections still open.
    retiring: Vec<Arc<ConnectionScope>>,
    state: SharedState,
    stats: Arc<StatsRegistry>,
    ctx: Arc<WorkerContext>,
    graceful_timeout: Duration,
}

/// One listener this worker accepts on.
struct Live {
    /// Shared with the accept task, so a new generation keeps accepting on it.
    socket: Arc<BoundListener>,
    /// The accept task of the current generation.
    accept: tokio::task::JoinHandle<()>,
    generation: Arc<Generation>,
}

impl Live {
    /// Ends the accept task and waits until it is gone, so that its socket (when this
    /// was its last owner) is closed and nothing is accepted with the old chains after.
    async fn stop_accepting(self) -> Arc<Generation> {
        self.accept.abort();
        let _ = self.accept.await;
        self.generation
    }
}

impl Listeners {
    async fn apply(&mut self, command: ListenerCommand) {
        self.retiring.retain(|s| s.open_connections() > 0);
        match command {
            ListenerCommand::Upsert {
                config,
                socket,
                tls,
            } => self.upsert(&config, socket, tls).await,
            ListenerCommand::Remove { name } => match self.live.remove(&name) {
                Some(live) => {
                    let old = live.stop_accepting().await;
                    tracing::info!(worker = self.worker, listener = %name, "listener removed");
                    self.retire(&old);
                }
                None => {
                    tracing::debug!(worker = self.worker, listener = %name, "remove: no such listener")
                }
            },
        }
    }

    async fn upsert(
        &mut self,
        config: &ListenerConfig,
        socket: Option<StdListener>,
        tls: ChainTls,
    ) {
        let name = &config.name;
        let socket = match socket {
            Some(socket) => match socket.into_tokio() {
                Ok(socket) => Some(Arc::new(socket)),
                Err(e) => {
                    tracing::error!(worker = self.worker, listener = %name, error = %e, "cannot register the listener's socket; listener not changed");
                    return;
                }
            },
            None => None,
        };
        let generation = Arc::new(Generation::new(
            config,
            tls,
            &self.state,
            &self.ctx,
            &self.stats,
        ));
        let (socket, replaced) = match (socket, self.live.remove(name)) {
            // A new socket: it accepts first, then the old one (if any) closes.
            (Some(socket), old) => (socket, old),
            // The same socket: the old generation's accept task ends (connections wait in
            // the socket's queue meanwhile) and the new one takes over.
            (None, Some(old)) => {
                let socket = old.socket.clone();
                let old = old.stop_accepting().await;
                self.retire(&old);
                (socket, None)
            }
            (None, None) => {
                tracing::warn!(worker = self.worker, listener = %name, "upsert without a socket for a listener this worker does not run; ignored");
                return;
            }
        };
        let accept = tokio::spawn(accept_loop(socket.clone(), generation.clone()));
        self.live.insert(
            name.clone(),
            Live {
                socket,
                accept,
                generation,
            },
        );
        if let Some(old) = replaced {
            let old = old.stop_accepting().await;
            self.retire(&old);
        }
    }

    /// Retires a generation that no longer takes connections, on a task of its own:
    /// its connections close at their next clean point, the idle ones that never speak
    /// again at the graceful timeout (`ConnectionScope::drain_within`).
    fn retire(&mut self, generation: &Generation) {
        let scope = generation.scope.clone();
        scope.drain.start_closing();
        if scope.open_connections() == 0 {
            return;
        }
        let (worker, listener, timeout) = (
            self.worker,
            generation.listening.name.clone(),
            self.graceful_timeout,
        );
        let draining = scope.clone();
        tokio::spawn(async move {
            let forced = draining.drain_within(timeout).await;
            if forced > 0 {
                tracing::warn!(worker, listener = %listener, connections = forced, "graceful timeout reached, closing the old generation's remaining connections");
            }
        });
        self.retiring.push(scope);
    }

    /// Stops accepting on every listener; returns every scope with connections to drain.
    async fn close_all(&mut self) -> Vec<Arc<ConnectionScope>> {
        let mut scopes = std::mem::take(&mut self.retiring);
        for (_, live) in self.live.drain() {
            scopes.push(live.stop_accepting().await.scope.clone());
        }
        scopes
    }
}

/// One generation of a listener on this worker: the filter chains built from one
/// `Upsert`, and the scope their connections are drained in.
struct Generation {
    chains: FilterChains<ChainFilter>,
    listening: Listening,
    scope: Arc<ConnectionScope>,
}

impl Generation {
    fn new(
        config: &ListenerConfig,
        tls: ChainTls,
        state: &SharedState,
        ctx: &Arc<WorkerContext>,
        stats: &StatsRegistry,
    ) -> Self {
        let scope = Arc::new(ConnectionScope::default());
        let chains = config
            .filter_chains
            .iter()
            .zip(tls)
            .map(|(chain, tls)| Chain {
                matcher: chain.filter_chain_match.clone(),
                tls,
                value: build_filter(config, chain, state, ctx, &scope, stats),
            })
            .collect();
        Self {
            chains: FilterChains::new(chains, config.inspector, HANDSHAKE_TIMEOUT),
            listening: Listening {
                name: Arc::new(config.name.clone()),
                stats: stats.listener(&config.name),
                use_original_dst: config.use_original_dst,
            },
            scope,
        }
    }
}

/// The filter that owns a chain's connections: its first filter (a `tcp_proxy` after a
/// `proxy` serves as that proxy's fallback for unknown protocols).
fn build_filter(
    cfg: &ListenerConfig,
    chain: &FilterChainConfig,
    state: &SharedState,
    ctx: &Arc<WorkerContext>,
    scope: &Arc<ConnectionScope>,
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
                scope.clone(),
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
                    scope.clone(),
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

/// Accepts on `socket` for one generation until the worker aborts it (the listener is
/// removed or changed, or the process drains). Each connection is counted in the
/// generation's scope from here on, handshake included.
async fn accept_loop(socket: Arc<BoundListener>, generation: Arc<Generation>) {
    let listening = &generation.listening;
    loop {
        let (stream, remote, local) = match socket.accept().await {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and similar: back off instead of spinning.
                tracing::warn!(listener = %listening.name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let mut info = ConnectionInfo {
            listener: listening.name.clone(),
            remote,
            local,
            original_dst: listening
                .use_original_dst
                .then(|| mosn_net::original_dst(&stream))
                .flatten()
                .map(Box::new),
            ..Default::default()
        };
        let guard = generation.scope.open.open();
        let tcp = match generation.chains.settle_now(stream, &info) {
            Settled::Now(settled) => {
                start_serving(settled, info, listening, guard);
                continue;
            }
            Settled::Handshake(tcp) => tcp,
        };
        let generation = generation.clone();
        // The TLS handshake runs in a task of its own, never in the accept loop; the
        // connection's serving task replaces it once the handshake is done. Recorded in
        // the scope like a serving task, so a forced close ends it too.
        guard.task_slot().spawn(async move {
            let settled = generation.chains.establish(tcp, &mut info).await;
            start_serving(settled, info, &generation.listening, guard);
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

#[cfg(test)]
#[path = "worker_tests.rs"]
mod tests;
