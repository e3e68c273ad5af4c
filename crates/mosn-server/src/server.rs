//! Process lifecycle: start everything, wait for a signal, stop gracefully or at once.

use crate::plane::{ConfigPlane, FileError, FileSource, PlaneParts};
use crate::worker::{self, ListenerCommand, WorkerSpec};
use arc_swap::ArcSwap;
use mosn_admin::{AdminState, HostStatsFn, JsonFn, ReloadFn};
use mosn_api::stats::StatsRegistry;
use mosn_config::resources::Batch;
use mosn_config::{Config, IoModel, LogLevel};
use mosn_proxy::Drain;
use mosn_proxy::ProxyState;
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
    /// The config file, re-read by `mosn reload` and `POST /api/v1/reload`; `None` when
    /// the config did not come from a file (reloads are then refused).
    pub config_path: Option<std::path::PathBuf>,
    /// What an Envoy bootstrap adds: its static resources and the control plane to
    /// follow.
    pub xds: Option<XdsStart>,
}

/// The start of a process configured by an Envoy bootstrap: `config` then carries only
/// process settings, and this the resources and the ADS client's settings.
#[derive(Debug, Clone)]
pub struct XdsStart {
    /// The bootstrap's `static_resources`, converted.
    pub batch: Batch,
    /// `dynamic_resources`: the ADS stream to follow, if any.
    pub ads: Option<mosn_xds::ads::AdsSettings>,
    /// The SDS stream beside it (Istio's agent), if any.
    pub sds: Option<mosn_xds::ads::SdsSource>,
    /// The bootstrap as loaded, for Envoy's `/config_dump`.
    pub bootstrap: mosn_xds::dump::DumpSource,
    /// Envoy's `CommandLineOptions` as JSON, for `/server_info`.
    pub command_line_options: serde_json::Value,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
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
    let state: mosn_proxy::SharedState = Arc::new(ArcSwap::from_pointee(ProxyState::default()));
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

    // Each worker's listener commands, sent by the configuration plane; the start-up
    // config is its first batch, so its listeners are bound (and a bind error ends the
    // start) before any worker runs, and are the workers' first commands.
    let (listener_commands, command_queues): (Vec<_>, Vec<_>) = (0..runtimes)
        .map(|_| tokio::sync::mpsc::unbounded_channel::<ListenerCommand>())
        .unzip();
    let plane = Arc::new(ConfigPlane::new(PlaneParts {
        state: state.clone(),
        stats: stats.clone(),
        workers: listener_commands,
    }));
    let mut first_batch = Batch::from_config(&config);
    let (static_xds, ads_settings, sds_source) = opts
        .xds
        .clone()
        .map_or((None, None, None), |x| (Some(x.batch), x.ads, x.sds));
    if let Some(batch) = static_xds {
        first_batch.upserts.extend(batch.upserts);
    }
    let first_batch = plane.apply(first_batch);
    if !first_batch.rejected.is_empty() {
        let reasons: Vec<String> = first_batch
            .rejected
            .iter()
            .map(ToString::to_string)
            .collect();
        return Err(ServerError::State(reasons.join("; ")));
    }
    // The control plane's changes go through the same plane, from the client's thread.
    let ads = match ads_settings {
        Some(settings) => {
            let sink: Arc<dyn mosn_xds::ads::ConfigSink> = plane.clone();
            Some(mosn_xds::ads::spawn(settings, sds_source, sink).map_err(ServerError::Runtime)?)
        }
        None => None,
    };
    let (quit_tx, quit_rx) = tokio::sync::watch::channel(false);
    let envoy_admin = opts.xds.as_ref().map(|start| {
        crate::envoy_admin::envoy_admin(crate::envoy_admin::EnvoyParts {
            start,
            ads: ads.as_ref(),
            plane: plane.clone(),
            workers: workers as u64,
            quit: quit_tx.clone(),
        })
    });
    let config_json = Arc::new(ArcSwap::from_pointee(config.redacted_json.clone()));
    let source = opts.config_path.clone().map(|path| {
        Arc::new(FileSource::new(
            path,
            &config,
            plane.clone(),
            config_json.clone(),
        ))
    });

    let admin = match config.admin {
        Some(addr) => Some(
            mosn_admin::spawn(
                addr,
                AdminState {
                    stats: stats.clone(),
                    config_json,
                    versions: Some(versions_fn(&plane)),
                    log: Some(log.clone()),
                    version: opts.version,
                    hosts: Some(hosts_fn(&state)),
                    reload: source.map(reload_fn),
                    envoy: envoy_admin,
                },
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

    match signals.wait(quit_rx) {
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
    // No more changes from the control plane once stopping.
    if let Some(ads) = ads {
        ads.shutdown();
    }
    // After the drain: requests finishing during it still avoid unhealthy hosts.
    plane.shutdown();
    if let Some(admin) = admin {
        admin.shutdown();
    }
    if let Some(pid) = &config.pid_file {
        let _ = std::fs::remove_file(pid);
    }
    Ok(())
}

/// The admin API's reload: re-reads the file; 200 with what changed, or 400 with why the
/// file was refused (the running configuration stays).
fn reload_fn(source: Arc<FileSource>) -> ReloadFn {
    Arc::new(move || match source.reload() {
        Ok(report) => (report.rejected.is_empty(), report.to_json()),
        Err(FileError::Invalid(lines)) => (false, serde_json::json!({ "refused": lines })),
    })
}

/// The live resources' versions, for the config dump.
fn versions_fn(plane: &Arc<ConfigPlane>) -> JsonFn {
    let plane = plane.clone();
    Arc::new(move || plane.versions_json())
}

/// Each cluster's per-host stats, read from the snapshot at each request so changes
/// show.
fn hosts_fn(state: &mosn_proxy::SharedState) -> HostStatsFn {
    let state = state.clone();
    Arc::new(move || hosts_json(&state.load()))
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

    /// Blocks until SIGTERM or `quit` (Envoy's `POST /quitquitquit`) (graceful) or
    /// SIGINT/SIGQUIT (immediate).
    fn wait(mut self, mut quit: tokio::sync::watch::Receiver<bool>) -> Signal {
        self.rt.block_on(async {
            tokio::select! {
                _ = self.term.recv() => Signal::Terminate,
                Ok(_) = quit.wait_for(|q| *q) => Signal::Terminate,
                _ = self.int.recv() => Signal::Interrupt,
                _ = self.quit.recv() => Signal::Interrupt,
            }
        })
    }
}
