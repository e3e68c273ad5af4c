//! Process lifecycle: start everything, wait for a signal, stop gracefully or at once.

use crate::listeners;
use crate::runtime_state::build_proxy_state;
use crate::worker::{self, ListenerCommand, WorkerSpec};
use arc_swap::ArcSwap;
use mosn_admin::{AdminState, LogHandle};
use mosn_api::stats::StatsRegistry;
use mosn_config::{Config, IoModel, LogLevel};
use mosn_proxy::Drain;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// MOSN's default `graceful_timeout`.
const DEFAULT_GRACEFUL_TIMEOUT: Duration = Duration::from_secs(30);

/// Options that come from the command line rather than the config file.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The version string the admin API reports.
    pub version: &'static str,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listener could not be bound.
    #[error("listener {listener:?} ({address}): {source}")]
    Bind {
        /// Listener name.
        listener: String,
        /// Its address as configured.
        address: String,
        /// The OS error.
        source: io::Error,
    },
    /// The admin API could not be started.
    #[error("admin API: {0}")]
    Admin(io::Error),
    /// Logging could not be set up (e.g. the log file cannot be opened).
    #[error("logging: {0}")]
    Logging(io::Error),
    /// Runtime state could not be built from the config.
    #[error("{0}")]
    State(String),
    /// Threads or runtimes could not be started.
    #[error("runtime: {0}")]
    Runtime(io::Error),
}

/// Runs the proxy until SIGTERM (graceful: stop accepting, finish in-flight requests up to
/// `graceful_timeout`) or SIGINT (immediate). Returns once everything stopped.
pub fn run(config: Config, opts: RunOptions) -> Result<(), ServerError> {
    // Handlers first: a SIGTERM that arrives once a listener is live must drain, not kill.
    let signals = Signals::install().map_err(ServerError::Runtime)?;
    let first = config.servers.first();
    let log_path = first.and_then(|s| s.default_log_path.as_deref());
    let level = first
        .and_then(|s| s.default_log_level)
        .unwrap_or(LogLevel::Info);
    let log = mosn_admin::logging::init(log_path, level).map_err(ServerError::Logging)?;

    let stats = Arc::new(StatsRegistry::default());
    let state = Arc::new(ArcSwap::from_pointee(
        build_proxy_state(&config, &stats).map_err(ServerError::State)?,
    ));
    let workers = first
        .and_then(|s| s.processor)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let graceful_timeout = first.map_or(DEFAULT_GRACEFUL_TIMEOUT, |s| s.graceful_timeout);
    let io_model = first.map_or(IoModel::default(), |s| s.io_model);
    // Work-stealing: one runtime owns every listener (one socket each) and runs the
    // threads; thread-per-core: one runtime, socket set and pool set per thread.
    let runtimes = match io_model {
        IoModel::ThreadPerCore => workers,
        IoModel::WorkStealing => 1,
    };

    let listener_tls = crate::tls_watch::build_listener_tls(&config).map_err(ServerError::State)?;
    // Each worker's listener commands: its start-up listeners are its first `Upsert`s.
    // `listener_commands` (one sender per worker, in worker order) is what the
    // configuration plane sends later changes through; while it lives, workers wait for them.
    let (listener_commands, command_queues): (Vec<_>, Vec<_>) = (0..runtimes)
        .map(|_| tokio::sync::mpsc::unbounded_channel::<ListenerCommand>())
        .unzip();
    for server in &config.servers {
        for l in &server.listeners {
            if !l.bind_port {
                tracing::info!(listener = %l.name, "bind_port is false: listener not opened");
                continue;
            }
            let sockets = listeners::bind(l, runtimes).map_err(|source| ServerError::Bind {
                listener: l.name.clone(),
                address: format!("{:?}", l.address),
                source,
            })?;
            let tls = listener_tls.get(&l.name).cloned().unwrap_or_default();
            let listener = Arc::new(l.clone());
            for (commands, socket) in listener_commands.iter().zip(sockets) {
                // The receiver is alive: it is in `command_queues` until its worker starts.
                let _ = commands.send(ListenerCommand::Upsert {
                    config: listener.clone(),
                    socket: Some(socket),
                    tls: tls.clone(),
                });
            }
        }
    }

    let admin = match config.admin {
        Some(addr) => Some(
            mosn_admin::spawn(
                addr,
                admin_state(&config, &stats, &state, log.clone(), opts.version),
            )
            .map_err(ServerError::Admin)?,
        ),
        None => None,
    };
    if let Some(pid) = &config.pid_file {
        if let Err(e) = std::fs::write(pid, format!("{}\n", std::process::id())) {
            tracing::warn!(path = %pid.display(), error = %e, "cannot write pid file");
        }
    }

    // Active health checks and outlier detection sweeps: their own thread, never on the
    // workers.
    let health = start_health_checks(&config, &state.load()).map_err(ServerError::Runtime)?;
    // DNS clusters: resolved on their own thread (bounded wait for the first answers).
    let dns = crate::dns::start_dns(&config, &state.load()).map_err(ServerError::Runtime)?;

    // Certificate files: watched and hot-swapped on their own thread.
    let cert_watcher = crate::tls_watch::start(&listener_tls, &state.load(), &stats)
        .map_err(ServerError::Runtime)?;

    let (drain_tx, drain) = Drain::new();
    let mut handles = Vec::with_capacity(runtimes);
    for (id, commands) in command_queues.into_iter().enumerate() {
        let spec = WorkerSpec {
            id,
            commands,
            state: state.clone(),
            stats: stats.clone(),
            drain: drain.clone(),
            graceful_timeout,
            io_model,
            threads: workers,
        };
        handles.push(worker::spawn(spec).map_err(ServerError::Runtime)?);
    }
    tracing::info!(workers, ?io_model, version = opts.version, "mosn started");

    match signals.wait() {
        Signal::Terminate => {
            tracing::info!(?graceful_timeout, "SIGTERM: draining");
            let _ = drain_tx.send(true);
            for h in handles {
                let _ = h.join();
            }
            tracing::info!("stopped");
        }
        Signal::Interrupt => {
            tracing::info!("SIGINT: stopping now");
        }
    }
    // After the drain: requests finishing during it still avoid unhealthy hosts.
    if let Some(health) = health {
        health.shutdown();
    }
    if let Some(dns) = dns {
        dns.shutdown();
    }
    if let Some(admin) = admin {
        admin.shutdown();
    }
    drop(cert_watcher);
    if let Some(pid) = &config.pid_file {
        let _ = std::fs::remove_file(pid);
    }
    Ok(())
}

/// Starts the checks of every cluster with a `health_check`, and the interval sweeps of
/// every cluster with `outlier_detection`, on one `mosn-health` thread; `None` when no
/// cluster has either.
fn start_health_checks(
    config: &Config,
    state: &mosn_proxy::ProxyState,
) -> io::Result<Option<mosn_upstream::health::HealthCheckHandle>> {
    let checks: Vec<_> = config
        .clusters
        .iter()
        .filter_map(|c| {
            let health_check = c.health_check.as_ref()?;
            let cluster = state.clusters.get(&c.name)?.clone();
            Some(mosn_upstream::health::ClusterHealthCheck::from_config(
                cluster,
                health_check,
            ))
        })
        .collect();
    // Outlier detection's interval sweeps and slow start's rebuilds run on the same thread.
    let outlier: Vec<_> = config
        .clusters
        .iter()
        .filter(|c| c.outlier_detection.is_some() || c.slow_start.is_some())
        .filter_map(|c| state.clusters.get(&c.name).cloned())
        .collect();
    if checks.is_empty() && outlier.is_empty() {
        return Ok(None);
    }
    mosn_upstream::health::spawn_with_outlier_detection(checks, outlier).map(Some)
}

fn admin_state(
    config: &Config,
    stats: &Arc<StatsRegistry>,
    state: &mosn_proxy::SharedState,
    log: LogHandle,
    version: &'static str,
) -> AdminState {
    let state = state.clone();
    AdminState {
        stats: stats.clone(),
        config_json: Arc::new(ArcSwap::from_pointee(config.redacted_json.clone())),
        log: Some(log),
        version,
        // Loads the snapshot at each request, so reloads are reflected.
        hosts: Some(Arc::new(move || hosts_json(&state.load()))),
    }
}

/// `{CLUSTER: {ADDRESS: {...}}}`: every cluster's per-host stats, for the admin API.
fn hosts_json(state: &mosn_proxy::ProxyState) -> serde_json::Value {
    serde_json::Value::Object(
        state
            .clusters
            .iter()
            .map(|(name, cluster)| (name.to_string(), cluster.hosts_json()))
            .collect(),
    )
}

enum Signal {
    Terminate,
    Interrupt,
}

/// The process's signal handlers, on a small runtime of the main thread.
struct Signals {
    rt: tokio::runtime::Runtime,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let _guard = rt.enter();
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            quit: signal(SignalKind::quit())?,
            rt,
        })
    }

    /// Blocks until SIGTERM (graceful) or SIGINT/SIGQUIT (immediate).
    fn wait(mut self) -> Signal {
        self.rt.block_on(async {
            tokio::select! {
                _ = self.term.recv() => Signal::Terminate,
                _ = self.int.recv() => Signal::Interrupt,
                _ = self.quit.recv() => Signal::Interrupt,
            }
        })
    }
}
