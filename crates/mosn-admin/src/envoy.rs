//! Envoy's admin API, served beside MOSN's `/api/v1/*` when the process was started from
//! an Envoy bootstrap, so the tools written for Envoy (pilot-agent, istioctl, curl
//! scripts) work against mosn unchanged.
//!
//! The admin crate knows neither the xDS client nor the server: everything live comes
//! through the closures and data of [`EnvoyAdmin`], which the server builds. Paths,
//! parameters and output formats follow Envoy's admin documentation; where we differ, the
//! handler's comment says how and why.
//!
//! | path | method | answer |
//! |------|--------|--------|
//! | `/config_dump` | GET | Envoy's `ConfigDump` JSON (`?include_eds`, `?resource=`, `?mask=`) |
//! | `/stats` | GET | `name: value` lines (`?usedonly`, `?filter=REGEX`, `?format=json`) |
//! | `/ready` | GET | 200 `LIVE`, else 503 and the state's name |
//! | `/healthz` | GET | 200 `OK` when LIVE (health checks not failed), else 503 and the state |
//! | `/server_info` | GET | Envoy's `ServerInfo` JSON |
//! | `/clusters` | GET | `cluster::host::stat::value` lines (`?format=json`) |
//! | `/listeners` | GET | `name::address` lines (`?format=json`) |
//! | `/logging` | GET, POST | lists the loggers; POST `?level=`, `?paths=`, `?mosn=` sets them |
//! | `/healthcheck/fail`, `/healthcheck/ok` | POST | fail / pass health checks: state DRAINING / LIVE |
//! | `/drain_listeners` | POST | `?inboundonly`, `?graceful`: drains the listeners |
//! | `/quitquitquit` | POST | starts the graceful stop, as SIGTERM |
//!
//! State-changing (POST) endpoints refuse GET with 405, as Envoy, and refuse what a
//! browser page could send cross-site (see [`cross_site_refusal`]).

mod clusters;
mod config_dump;
mod stats;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use http::header::{CONTENT_TYPE, ORIGIN};
use http::request::Parts;
use http::{HeaderMap, Method, StatusCode};
use mosn_config::LogLevel;
use serde_json::{json, Value};

use crate::handlers::{self, method_not_allowed, one_line, parse_form, text, Resp};
use crate::logging::{parse_level, LogHandle};
use crate::server::AdminState;

/// A parsed query string: keys in first-seen order with all their values.
type Form = [(String, Vec<String>)];

/// The server's lifecycle state as Envoy reports it (`server.state`, `/ready`,
/// `/server_info`), so load balancers and pilot-agent can tell when mosn may take traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    /// Serving traffic.
    Live,
    /// Stopping: draining listeners, or health checks failed on purpose.
    Draining,
    /// Before the configuration is being fetched.
    PreInitializing,
    /// Waiting for the first configuration (xDS warming).
    Initializing,
}

impl ServerState {
    /// Envoy's numeric value of `server.state`.
    pub fn code(self) -> u64 {
        match self {
            ServerState::Live => 0,
            ServerState::Draining => 1,
            ServerState::PreInitializing => 2,
            ServerState::Initializing => 3,
        }
    }

    /// Envoy's name (`envoy.admin.v3.ServerInfo.State`).
    pub fn name(self) -> &'static str {
        match self {
            ServerState::Live => "LIVE",
            ServerState::Draining => "DRAINING",
            ServerState::PreInitializing => "PRE_INITIALIZING",
            ServerState::Initializing => "INITIALIZING",
        }
    }
}

/// What `POST /drain_listeners` asked for, handed to [`EnvoyAdmin::drain_listeners`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DrainRequest {
    /// `?inboundonly`: only listeners whose `traffic_direction` is `INBOUND`.
    pub inbound_only: bool,
    /// `?graceful`: drain over the drain time (stop accepting, let requests finish)
    /// instead of closing the listeners at once.
    pub graceful: bool,
}

/// One live listener, for `/listeners` and the `listener.*` / `http.*` stats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvoyListener {
    /// The listener's name (the key of its stats in the registry).
    pub name: String,
    /// Where it listens: `IP:PORT`, `[IPv6]:PORT` or `unix:/path`.
    pub address: String,
    /// The `stat_prefix` of its HTTP connection manager, if it has one: its request stats
    /// are shown as `http.<stat_prefix>.*`. `None`: no `http.*` stats for it.
    pub http_stat_prefix: Option<String>,
}

/// Reads Envoy's `ConfigDump` JSON; the argument is `?include_eds`.
pub type ConfigDumpFn = Arc<dyn Fn(bool) -> Value + Send + Sync>;
/// Stats the admin crate cannot see, as Envoy names them.
pub type ExtraStatsFn = Arc<dyn Fn() -> Vec<(String, u64)> + Send + Sync>;
/// Reads the server's lifecycle state.
pub type StateFn = Arc<dyn Fn() -> ServerState + Send + Sync>;
/// Starts an action and returns at once.
pub type ActionFn = Arc<dyn Fn() + Send + Sync>;
/// Starts draining the listeners and returns at once.
pub type DrainFn = Arc<dyn Fn(DrainRequest) + Send + Sync>;
/// Reads the live listeners.
pub type ListenersFn = Arc<dyn Fn() -> Vec<EnvoyListener> + Send + Sync>;

/// The inputs of Envoy's admin API; set as [`AdminState::envoy`] by a process started
/// from an Envoy bootstrap. Closures are called on the admin thread at request time and
/// must not block for long.
#[derive(Clone)]
pub struct EnvoyAdmin {
    /// `/config_dump`: Envoy's `ConfigDump` (`{"configs": [{"@type": ...}, ...]}`), with
    /// endpoint configs when the argument (`?include_eds`) is true. Served as returned;
    /// secrets must be redacted already.
    pub config_dump: ConfigDumpFn,
    /// `/stats`: counters mosn's registry does not hold, under Envoy's names (the xDS
    /// client's `control_plane.connected_state`, `cluster_manager.cds.update_success`,
    /// `listener_manager.lds.update_rejected`, ...). A name we compute ourselves (see
    /// `envoy/stats.rs`) wins over the same name here.
    pub extra_stats: ExtraStatsFn,
    /// The server's lifecycle state; `/healthcheck/fail` turns `Live` into `Draining` on
    /// top of it, as Envoy's health-check failure does.
    pub state: StateFn,
    /// When the process started, for `server.uptime` and `/server_info`'s uptimes.
    pub started: Instant,
    /// Worker threads (Envoy's `--concurrency`), for `server.concurrency`.
    pub concurrency: u64,
    /// `/server_info`'s `command_line_options`: Envoy's `CommandLineOptions` JSON (at
    /// least `concurrency`, `drain_time` as `"600s"`, `config_path`, `log_level`).
    pub command_line_options: Value,
    /// `/server_info`'s `node`: the bootstrap's node as Envoy's `Node` JSON.
    pub node: Value,
    /// `POST /quitquitquit`: start the graceful stop SIGTERM starts. Called before the
    /// `OK` is written, so it must only start the stop (the admin server must keep
    /// serving until the stop shuts it down).
    pub quit: ActionFn,
    /// `POST /drain_listeners`: start draining the listeners as asked.
    pub drain_listeners: DrainFn,
    /// `/listeners` and the per-listener stats: the live listeners.
    pub listeners: ListenersFn,
    /// Set by `POST /healthcheck/fail`, cleared by `/healthcheck/ok`: while set the state
    /// is `Draining` and `/ready`, `/healthz` answer 503. Shared so the data plane (a
    /// health-check filter) can read it too; `Arc::default()` when nothing else does.
    pub health_check_failed: Arc<AtomicBool>,
}

impl std::fmt::Debug for EnvoyAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvoyAdmin")
            .field("started", &self.started)
            .field("concurrency", &self.concurrency)
            .field("health_check_failed", &self.health_check_failed)
            .finish_non_exhaustive()
    }
}

impl EnvoyAdmin {
    /// The state as reported: `Live` becomes `Draining` while health checks are failed.
    pub fn current_state(&self) -> ServerState {
        match (self.state)() {
            ServerState::Live if self.health_check_failed.load(Ordering::Relaxed) => {
                ServerState::Draining
            }
            state => state,
        }
    }

    fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }
}

/// Envoy's admin endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EnvoyRoute {
    ConfigDump,
    Stats,
    Ready,
    Healthz,
    ServerInfo,
    Clusters,
    Listeners,
    Logging,
    HealthcheckFail,
    HealthcheckOk,
    DrainListeners,
    Quit,
}

const ENVOY_ROUTES: &[(&str, EnvoyRoute)] = &[
    ("/config_dump", EnvoyRoute::ConfigDump),
    ("/stats", EnvoyRoute::Stats),
    ("/ready", EnvoyRoute::Ready),
    ("/healthz", EnvoyRoute::Healthz),
    ("/server_info", EnvoyRoute::ServerInfo),
    ("/clusters", EnvoyRoute::Clusters),
    ("/listeners", EnvoyRoute::Listeners),
    ("/logging", EnvoyRoute::Logging),
    ("/healthcheck/fail", EnvoyRoute::HealthcheckFail),
    ("/healthcheck/ok", EnvoyRoute::HealthcheckOk),
    ("/drain_listeners", EnvoyRoute::DrainListeners),
    ("/quitquitquit", EnvoyRoute::Quit),
];

impl EnvoyRoute {
    /// The route for an exact request path.
    pub(crate) fn from_path(path: &str) -> Option<EnvoyRoute> {
        ENVOY_ROUTES
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, r)| *r)
    }

    /// Whether the endpoint changes state: POST only, and guarded against cross-site use.
    fn mutating(self) -> bool {
        matches!(
            self,
            EnvoyRoute::HealthcheckFail
                | EnvoyRoute::HealthcheckOk
                | EnvoyRoute::DrainListeners
                | EnvoyRoute::Quit
        )
    }
}

/// Checks the method (and the cross-site guard for POST), then runs the handler. The body
/// is never read: no Envoy endpoint here takes one.
pub(crate) fn handle(
    route: EnvoyRoute,
    state: &AdminState,
    envoy: &EnvoyAdmin,
    req: &Parts,
) -> Resp {
    let post_allowed = route.mutating() || route == EnvoyRoute::Logging;
    match req.method {
        Method::POST if post_allowed => {
            if let Some(refusal) = cross_site_refusal(&req.headers) {
                return refusal;
            }
        }
        Method::GET if !route.mutating() => {}
        _ if post_allowed => return method_not_allowed(&Method::POST),
        _ => return method_not_allowed(&Method::GET),
    }
    let form = parse_form(req.uri.query());
    match route {
        EnvoyRoute::ConfigDump => config_dump::config_dump(envoy, &form),
        EnvoyRoute::Stats => stats::stats(state, envoy, &form),
        EnvoyRoute::Ready => ready(envoy),
        EnvoyRoute::Healthz => healthz(envoy),
        EnvoyRoute::ServerInfo => server_info(state, envoy),
        EnvoyRoute::Clusters => clusters::clusters(state, &form),
        EnvoyRoute::Listeners => clusters::listeners(envoy, &form),
        EnvoyRoute::Logging => logging(state.log.as_ref(), &req.method, &form),
        EnvoyRoute::HealthcheckFail => set_health_check_failed(envoy, true),
        EnvoyRoute::HealthcheckOk => set_health_check_failed(envoy, false),
        EnvoyRoute::DrainListeners => drain_listeners(envoy, &form),
        EnvoyRoute::Quit => quit(envoy),
    }
}

/// Content types a browser may send cross-site without a CORS preflight (HTML forms and
/// "simple" fetches).
const SIMPLE_CONTENT_TYPES: &[&str] = &[
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
];

/// 403 for a POST a web page could have made the operator's browser send: one with an
/// `Origin` header (browsers add it to every cross-origin POST, forms included) or with a
/// form or `text/plain` content type. `curl -XPOST` and pilot-agent send neither (no
/// content type, or an empty one, and no body), so they pass; so do API clients that
/// declare `application/json`.
fn cross_site_refusal(headers: &HeaderMap) -> Option<Resp> {
    if headers.contains_key(ORIGIN) {
        return Some(text(
            StatusCode::FORBIDDEN,
            "refused: requests from web pages (with an Origin header) cannot change state\n",
        ));
    }
    let content_type = headers
        .get_all(CONTENT_TYPE)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).to_ascii_lowercase())
        .find(|v| {
            let essence = v.split(';').next().unwrap_or("").trim();
            SIMPLE_CONTENT_TYPES.contains(&essence)
        })?;
    Some(text(
        StatusCode::FORBIDDEN,
        format!(
            "refused: content type {} can be sent by any web page; send no content type\n",
            one_line(&content_type)
        ),
    ))
}

/// Whether the query has `key`, with or without a value (Envoy's flags: `?usedonly`).
fn has(form: &Form, key: &str) -> bool {
    form.iter().any(|(k, _)| k == key)
}

/// The first value of `key`, if the query has it.
fn first<'a>(form: &'a Form, key: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
}

/// `?format=`: `Ok(true)` for `json`, `Ok(false)` for none or `text`, else the 400.
fn output_format(form: &Form) -> Result<bool, Box<Resp>> {
    match first(form, "format") {
        None | Some("text") => Ok(false),
        Some("json") => Ok(true),
        Some(other) => Err(Box::new(text(
            StatusCode::BAD_REQUEST,
            format!("unsupported format: {}\n", one_line(other)),
        ))),
    }
}

/// `GET /ready`: 200 `LIVE\n` when live, else 503 with the state's name, as Envoy.
fn ready(envoy: &EnvoyAdmin) -> Resp {
    state_answer(envoy.current_state(), "LIVE\n")
}

/// `GET /healthz` (not an Envoy admin path: its `/ready` under the name Kubernetes probes
/// use): 200 `OK\n` when live and health checks are not failed, else 503 with the state's
/// name (`DRAINING` while draining or after `/healthcheck/fail`, `INITIALIZING` before
/// the first configuration).
fn healthz(envoy: &EnvoyAdmin) -> Resp {
    state_answer(envoy.current_state(), "OK\n")
}

/// 200 with `live_body` when `state` is live, else 503 with the state's name.
fn state_answer(state: ServerState, live_body: &'static str) -> Resp {
    match state {
        ServerState::Live => text(StatusCode::OK, live_body),
        other => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{}\n", other.name()),
        ),
    }
}

/// `GET /server_info`: Envoy's `ServerInfo` JSON. Uptimes are proto durations
/// (`"12s"`); both epochs are the same since mosn has no hot restart, whose version is
/// `disabled` as in an Envoy started with `--disable-hot-restart`.
fn server_info(state: &AdminState, envoy: &EnvoyAdmin) -> Resp {
    let uptime = format!("{}s", envoy.uptime_secs());
    let info = json!({
        "version": state.version,
        "state": envoy.current_state().name(),
        "hot_restart_version": "disabled",
        "command_line_options": envoy.command_line_options,
        "node": envoy.node,
        "uptime_current_epoch": uptime,
        "uptime_all_epochs": uptime,
    });
    handlers::json(StatusCode::OK, &info, true)
}

/// `POST /healthcheck/fail` and `/healthcheck/ok`: 200 `OK\n`, as Envoy.
fn set_health_check_failed(envoy: &EnvoyAdmin, failed: bool) -> Resp {
    envoy.health_check_failed.store(failed, Ordering::Relaxed);
    tracing::info!(
        "[admin api] health checks {}",
        if failed { "failed" } else { "passing" }
    );
    text(StatusCode::OK, "OK\n")
}

/// `POST /drain_listeners[?inboundonly][?graceful]`: 200 `OK\n` once the drain started,
/// as Envoy. Flags count when present, whatever their value (Envoy's behaviour).
fn drain_listeners(envoy: &EnvoyAdmin, form: &Form) -> Resp {
    let request = DrainRequest {
        inbound_only: has(form, "inboundonly"),
        graceful: has(form, "graceful"),
    };
    tracing::info!("[admin api] drain listeners: {request:?}");
    (envoy.drain_listeners)(request);
    text(StatusCode::OK, "OK\n")
}

/// `POST /quitquitquit`: 200 `OK\n`, and the process stops as on SIGTERM.
fn quit(envoy: &EnvoyAdmin) -> Resp {
    tracing::info!("[admin api] quitquitquit: stopping");
    (envoy.quit)();
    text(StatusCode::OK, "OK\n")
}

/// The one logger mosn has, under the name `/logging` lists it by. Envoy's component
/// loggers (`http`, `upstream`, ...) are not listed: mosn has a single level for the whole
/// process, and naming it after one of them would make `?http=debug` change all.
const LOGGER: &str = "mosn";

/// `GET|POST /logging`.
///
/// GET (no parameters) and POST both answer `active loggers:` then `  mosn: <level>`, as
/// Envoy lists its loggers. POST `?level=L` sets every logger (ours), `?mosn=L` or
/// `?paths=mosn:L` sets it by name. Levels are Envoy's (`trace`, `debug`, `info`,
/// `warning`, `error`, `critical`, `off`; `critical` is mosn's most severe, `error`, and
/// `off` silences the logger) or MOSN's names. An unknown level or logger is 400 naming
/// it (Envoy answers 404 with a usage text), and nothing changes. GET with parameters is
/// 405: changing levels takes POST. Without a logger of ours, POST is 400.
fn logging(log: Option<&LogHandle>, method: &Method, form: &Form) -> Resp {
    if *method == Method::GET && !form.is_empty() {
        return method_not_allowed(&Method::POST);
    }
    if !form.is_empty() {
        let Some(log) = log else {
            return text(
                StatusCode::BAD_REQUEST,
                "logging is not controlled by mosn\n",
            );
        };
        if let Err(e) = apply_log_settings(log, form) {
            return text(StatusCode::BAD_REQUEST, format!("{}\n", one_line(&e)));
        }
    }
    let mut body = String::from("active loggers:\n");
    if let Some(log) = log {
        body.push_str(&format!("  {LOGGER}: {}\n", envoy_level_name(log)));
    }
    text(StatusCode::OK, body)
}

/// A level as `/logging` takes it: `None` is `off`.
type EnvoyLevel = Option<LogLevel>;

/// Validates every setting of the query, then applies the last one (they all name our
/// single logger).
fn apply_log_settings(log: &LogHandle, form: &Form) -> Result<(), String> {
    let mut chosen = None;
    for (key, values) in form {
        for value in values {
            if key == "paths" {
                for pair in value.split(',').filter(|p| !p.is_empty()) {
                    let (name, level) = pair
                        .split_once(':')
                        .ok_or_else(|| format!("paths entry without a level: {pair}"))?;
                    chosen = Some(logger_level(name, level)?);
                }
            } else if key == "level" {
                chosen = Some(envoy_level(value)?);
            } else {
                chosen = Some(logger_level(key, value)?);
            }
        }
    }
    match chosen {
        Some(Some(level)) => log.set_level(level).and_then(|()| log.set_enabled(true)),
        Some(None) => log.set_enabled(false),
        None => Ok(()),
    }
}

/// The level for logger `name`, which must be ours.
fn logger_level(name: &str, level: &str) -> Result<EnvoyLevel, String> {
    if name != LOGGER {
        return Err(format!("unknown logger: {name} (mosn has one: {LOGGER})"));
    }
    envoy_level(level)
}

/// Parses Envoy's level names, and MOSN's.
fn envoy_level(level: &str) -> Result<EnvoyLevel, String> {
    match level.trim().to_ascii_lowercase().as_str() {
        "off" => Ok(None),
        "critical" => Ok(Some(LogLevel::Error)),
        other => parse_level(other)
            .map(Some)
            .ok_or_else(|| format!("unknown log level: {level}")),
    }
}

/// Envoy's name of the logger's level.
fn envoy_level_name(log: &LogHandle) -> &'static str {
    if !log.is_enabled() {
        return "off";
    }
    match log.level() {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warning",
        LogLevel::Error => "error",
    }
}
