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
//! State-changing (POST) endpoints refuse GET with 405, as Envoy, and refuse with 403
//! what a browser page could send cross-site: a POST with an `Origin` header or a form
//! or `text/plain` content type. `curl -XPOST` and pilot-agent (no content type, no
//! body) pass.

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
            chosen = requested_level(key, value)?.or(chosen);
        }
    }
    match chosen {
        Some(Some(level)) => log.set_level(level).and_then(|()| log.set_enabled(true)),
        Some(None) => log.set_enabled(false),
        None => Ok(()),
    }
}

/// The level one `key=value` of the query asks for: `level=L`, `paths=mosn:L,...` (the
/// last entry) or `<logger>=L`; `None` for an empty `paths`.
fn requested_level(key: &str, value: &str) -> Result<Option<EnvoyLevel>, String> {
    match key {
        "level" => envoy_level(value).map(Some),
        "paths" => value
            .split(',')
            .filter(|p| !p.is_empty())
            .try_fold(None, |_, pair| {
                let (name, level) = pair
                    .split_once(':')
                    .ok_or_else(|| format!("paths entry without a level: {pair}"))?;
                logger_level(name, level).map(Some)
            }),
        name => logger_level(name, value).map(Some),
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use http::Request;
    use http_body_util::BodyExt;
    use mosn_api::stats::StatsRegistry;

    use super::*;
    use crate::logging;

    /// What the closures were asked to do, and the state they report.
    #[derive(Default)]
    struct Probe {
        state: Mutex<Option<ServerState>>,
        calls: Mutex<Vec<String>>,
    }

    impl Probe {
        fn set(&self, state: ServerState) {
            *self.state.lock().unwrap() = Some(state);
        }

        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }

        fn record(&self, call: String) {
            self.calls.lock().unwrap().push(call);
        }
    }

    struct Fixture {
        state: AdminState,
        envoy: EnvoyAdmin,
        probe: Arc<Probe>,
        _dispatch: tracing::Dispatch,
    }

    fn envoy_admin(probe: &Arc<Probe>) -> EnvoyAdmin {
        let (p1, p2, p3, p4) = (probe.clone(), probe.clone(), probe.clone(), probe.clone());
        EnvoyAdmin {
            config_dump: Arc::new(move |include_eds| {
                p1.record(format!("config_dump({include_eds})"));
                json!({"configs": [{
                    "@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
                    "dynamic_active_clusters": [{"cluster": {"name": "backend", "lb_policy": "RANDOM"}}]
                }]})
            }),
            extra_stats: Arc::new(|| {
                vec![
                    ("control_plane.connected_state".to_string(), 1),
                    ("cluster_manager.cds.update_rejected".to_string(), 0),
                    ("server.concurrency".to_string(), 99),
                ]
            }),
            state: Arc::new(move || p2.state.lock().unwrap().unwrap_or(ServerState::Live)),
            started: Instant::now(),
            concurrency: 2,
            command_line_options: json!({"concurrency": 2, "drain_time": "600s"}),
            node: json!({"id": "sidecar~1.2.3.4~pod.ns~ns.svc.cluster.local", "cluster": "pod"}),
            quit: Arc::new(move || p3.record("quit".to_string())),
            drain_listeners: Arc::new(move |r| p4.record(format!("{r:?}"))),
            listeners: Arc::new(|| {
                vec![
                    EnvoyListener {
                        name: "ingress".to_string(),
                        address: "127.0.0.1:2045".to_string(),
                        http_stat_prefix: Some("ingress_http".to_string()),
                    },
                    EnvoyListener {
                        name: "tcp".to_string(),
                        address: "[::1]:9000".to_string(),
                        http_stat_prefix: None,
                    },
                ]
            }),
            health_check_failed: Arc::default(),
        }
    }

    fn fixture() -> Fixture {
        let (log, dispatch) = logging::build(Some(logging::STDERR), LogLevel::Info).unwrap();
        let stats = Arc::new(StatsRegistry::default());
        let c = stats.cluster("backend");
        c.upstream_rq_total.add(5);
        c.count_response(200);
        c.upstream_rq_reset.inc();
        c.upstream_cx_active.dec();
        let l = stats.listener("ingress");
        l.downstream_cx_total.add(3);
        l.count_response(200);
        l.downstream_rq_no_route.inc();
        stats.listener("tcp").downstream_cx_total.inc();
        stats.listener("removed").downstream_cx_total.inc();
        let probe = Arc::new(Probe::default());
        let envoy = envoy_admin(&probe);
        let state = AdminState {
            stats,
            config_json: Arc::new(arc_swap::ArcSwap::from_pointee(json!({}))),
            versions: None,
            log: Some(log),
            version: "1.2.3-test",
            hosts: Some(Arc::new(|| {
                json!({"backend": {
                    "127.0.0.1:8080": {"rq_total": 5, "rq_error": 2, "rq_active": 1, "cx_total": 2,
                        "cx_active": 1, "healthy": true, "health_flags": [], "weight": 3},
                    "127.0.0.1:8081": {"rq_total": 0, "healthy": false,
                        "health_flags": ["failed_active_hc", "failed_outlier_check"], "weight": 1}
                }})
            })),
            reload: None,
            envoy: Some(envoy.clone()),
        };
        Fixture {
            state,
            envoy,
            probe,
            _dispatch: dispatch,
        }
    }

    fn parts(method: &str, target: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = Request::builder().method(method).uri(target);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn body(resp: Resp) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = runtime
            .block_on(resp.into_body().collect())
            .unwrap()
            .to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    impl Fixture {
        /// Status, content type and body of `method target` with `headers`.
        fn call(
            &self,
            method: &str,
            target: &str,
            headers: &[(&str, &str)],
        ) -> (u16, String, String) {
            let req = parts(method, target, headers);
            let route = EnvoyRoute::from_path(req.uri.path()).expect("an Envoy path");
            let resp = handle(route, &self.state, &self.envoy, &req);
            let content_type = resp.headers()[CONTENT_TYPE].to_str().unwrap().to_string();
            (resp.status().as_u16(), content_type, body(resp))
        }

        fn get(&self, target: &str) -> (u16, String) {
            let (status, _, body) = self.call("GET", target, &[]);
            (status, body)
        }

        fn post(&self, target: &str) -> (u16, String) {
            let (status, _, body) = self.call("POST", target, &[]);
            (status, body)
        }

        fn get_json(&self, target: &str) -> Value {
            let (status, content_type, body) = self.call("GET", target, &[]);
            assert_eq!(
                (status, content_type.as_str()),
                (200, "application/json"),
                "{body}"
            );
            assert!(body.contains("\n  "), "not indented: {body}");
            serde_json::from_str(&body).unwrap()
        }
    }

    #[test]
    fn ready_is_live_or_503_with_the_state_name() {
        let f = fixture();
        assert_eq!(f.get("/ready"), (200, "LIVE\n".to_string()));
        for (state, name) in [
            (ServerState::Draining, "DRAINING\n"),
            (ServerState::PreInitializing, "PRE_INITIALIZING\n"),
            (ServerState::Initializing, "INITIALIZING\n"),
        ] {
            f.probe.set(state);
            assert_eq!(f.get("/ready"), (503, name.to_string()));
        }
    }

    #[test]
    fn healthz_is_ok_only_when_live() {
        let f = fixture();
        assert_eq!(f.get("/healthz"), (200, "OK\n".to_string()));
        f.probe.set(ServerState::Initializing);
        assert_eq!(f.get("/healthz"), (503, "INITIALIZING\n".to_string()));
        f.probe.set(ServerState::Draining);
        assert_eq!(f.get("/healthz"), (503, "DRAINING\n".to_string()));
    }

    #[test]
    fn healthcheck_fail_makes_the_server_draining_and_ok_restores_it() {
        let f = fixture();
        assert_eq!(f.post("/healthcheck/fail"), (200, "OK\n".to_string()));
        assert!(f.envoy.health_check_failed.load(Ordering::Relaxed));
        assert_eq!(f.get("/ready"), (503, "DRAINING\n".to_string()));
        assert_eq!(f.get("/healthz"), (503, "DRAINING\n".to_string()));
        assert!(f.get("/stats").1.contains("server.state: 1\n"));
        assert_eq!(f.get_json("/server_info")["state"], "DRAINING");
        assert_eq!(f.post("/healthcheck/ok"), (200, "OK\n".to_string()));
        assert_eq!(f.get("/ready"), (200, "LIVE\n".to_string()));
    }

    #[test]
    fn stats_text_is_sorted_envoy_names_with_extra_and_server_stats() {
        let f = fixture();
        let (status, text) = f.get("/stats");
        assert_eq!(status, 200);
        let lines: Vec<&str> = text.lines().collect();
        let mut sorted = lines.clone();
        sorted.sort_unstable();
        assert_eq!(lines, sorted);
        for line in [
            "cluster.backend.upstream_rq_total: 5",
            "cluster.backend.upstream_rq_2xx: 1",
            "cluster.backend.upstream_cx_active: 0",
            "cluster.backend.health_check.attempt: 0",
            "listener.127.0.0.1_2045.downstream_cx_total: 3",
            "listener.[__1]_9000.downstream_cx_total: 1",
            "http.ingress_http.downstream_rq_2xx: 1",
            "http.ingress_http.no_route: 1",
            "control_plane.connected_state: 1",
            "cluster_manager.cds.update_rejected: 0",
            "server.state: 0",
            "server.live: 1",
            "server.concurrency: 2",
            "listener_manager.workers_started: 1",
        ] {
            assert!(lines.contains(&line), "{line} missing from\n{text}");
        }
        for absent in [
            "upstream_rq_reset",
            "removed",
            "http.tcp",
            "downstream_rq_grpc",
        ] {
            assert!(!text.contains(absent), "{absent} shown in\n{text}");
        }
    }

    #[test]
    fn stats_usedonly_keeps_only_non_zero() {
        let f = fixture();
        let (status, text) = f.get("/stats?usedonly");
        assert_eq!(status, 200);
        assert!(
            text.contains("cluster.backend.upstream_rq_total: 5\n"),
            "{text}"
        );
        assert!(!text.lines().any(|l| l.ends_with(": 0")), "{text}");
    }

    #[test]
    fn stats_filter_keeps_names_the_regex_matches() {
        let f = fixture();
        let (status, text) = f.get("/stats?filter=upstream_rq_%5B0-9%5Dxx");
        assert_eq!(status, 200);
        let names: Vec<&str> = text.lines().filter_map(|l| l.split(": ").next()).collect();
        assert_eq!(names.len(), 5, "{text}");
        assert!(names
            .iter()
            .all(|n| n.starts_with("cluster.backend.upstream_rq_")));
        let (_, both) = f.get("/stats?usedonly&filter=%5Ehttp%5C.");
        assert_eq!(
            both,
            "http.ingress_http.downstream_cx_total: 3\nhttp.ingress_http.downstream_rq_2xx: 1\nhttp.ingress_http.no_route: 1\n"
        );
    }

    #[test]
    fn stats_bad_regex_is_400_with_the_error() {
        let f = fixture();
        let (status, text) = f.get("/stats?filter=(unclosed");
        assert_eq!(status, 400);
        assert!(text.starts_with("invalid filter: "), "{text}");
        assert!(text.contains("unclosed group"), "{text}");
        let (status, text) = f.get("/stats?filter=a%7B1000%7D%7B1000%7D");
        assert_eq!(status, 400, "{text}");
    }

    #[test]
    fn stats_json_is_envoys_name_value_list() {
        let f = fixture();
        let stats = f.get_json("/stats?format=json&filter=server%5C.%5B%5Eu%5D");
        assert_eq!(
            stats,
            json!({"stats": [
                {"name": "server.concurrency", "value": 2},
                {"name": "server.live", "value": 1},
                {"name": "server.state", "value": 0}
            ]})
        );
    }

    #[test]
    fn unknown_output_formats_are_400() {
        let f = fixture();
        for target in [
            "/stats?format=xml",
            "/clusters?format=yaml",
            "/listeners?format=",
        ] {
            let (status, text) = f.get(target);
            assert_eq!(status, 400, "{target}");
            assert!(text.starts_with("unsupported format: "), "{text}");
        }
    }

    #[test]
    fn server_state_stat_and_workers_follow_the_state() {
        let f = fixture();
        for (state, code, live, workers) in [
            (ServerState::Draining, 1, 0, 1),
            (ServerState::PreInitializing, 2, 0, 0),
            (ServerState::Initializing, 3, 0, 0),
        ] {
            f.probe.set(state);
            let (_, text) = f.get("/stats?filter=%5E(server%5C.(state%7Clive)%7Clistener_manager)");
            assert_eq!(
                text,
                format!("listener_manager.workers_started: {workers}\nserver.live: {live}\nserver.state: {code}\n")
            );
        }
    }

    #[test]
    fn config_dump_is_the_closures_json_indented_and_include_eds_is_passed() {
        let f = fixture();
        let dump = f.get_json("/config_dump");
        assert_eq!(
            dump["configs"][0]["dynamic_active_clusters"][0]["cluster"]["name"],
            "backend"
        );
        f.get_json("/config_dump?include_eds");
        assert_eq!(f.probe.calls(), ["config_dump(false)", "config_dump(true)"]);
    }

    #[test]
    fn config_dump_resource_and_mask_select_like_envoy() {
        let f = fixture();
        let dump = f.get_json("/config_dump?resource=dynamic_active_clusters&mask=cluster.name");
        assert_eq!(
            dump,
            json!({"configs": [{
                "@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump.DynamicCluster",
                "cluster": {"name": "backend"}
            }]})
        );
        let (status, text) = f.get("/config_dump?resource=nonsense");
        assert_eq!(
            (status, text.as_str()),
            (404, "no resource field nonsense in the config dump\n")
        );
    }

    #[test]
    fn server_info_has_envoys_fields() {
        let f = fixture();
        let mut info = f.get_json("/server_info");
        let uptime = info["uptime_current_epoch"].take();
        assert!(
            uptime.as_str().is_some_and(|u| u.ends_with('s')),
            "{uptime}"
        );
        assert_eq!(info["uptime_all_epochs"].take(), uptime);
        assert_eq!(
            info,
            json!({
                "version": "1.2.3-test",
                "state": "LIVE",
                "hot_restart_version": "disabled",
                "command_line_options": {"concurrency": 2, "drain_time": "600s"},
                "node": {"id": "sidecar~1.2.3.4~pod.ns~ns.svc.cluster.local", "cluster": "pod"},
                "uptime_current_epoch": null,
                "uptime_all_epochs": null
            })
        );
    }

    #[test]
    fn clusters_text_is_envoys_cluster_host_stat_lines() {
        let f = fixture();
        let (status, text) = f.get("/clusters");
        assert_eq!(status, 200);
        let host = "backend::127.0.0.1:8080::";
        let expected: String = [
            "backend::observability_name::backend\n".to_string(),
            format!("{host}cx_active::1\n{host}cx_connect_fail::0\n{host}cx_total::2\n"),
            format!("{host}rq_active::1\n{host}rq_error::2\n{host}rq_success::3\n"),
            format!("{host}rq_timeout::0\n{host}rq_total::5\n"),
            format!("{host}health_flags::healthy\n{host}weight::3\n"),
        ]
        .concat();
        assert!(text.starts_with(&expected), "{text}");
        assert!(
            text.contains(
                "backend::127.0.0.1:8081::health_flags::/failed_active_hc/failed_outlier_check\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn clusters_json_is_envoys_cluster_statuses() {
        let f = fixture();
        let clusters = f.get_json("/clusters?format=json");
        let cluster = &clusters["cluster_statuses"][0];
        assert_eq!(cluster["name"], "backend");
        let healthy = &cluster["host_statuses"][0];
        assert_eq!(
            healthy["address"],
            json!({"socket_address": {"address": "127.0.0.1", "port_value": 8080}})
        );
        assert_eq!(
            healthy["stats"][0],
            json!({"name": "cx_active", "value": "1", "type": "GAUGE"})
        );
        assert_eq!(
            healthy["stats"][5],
            json!({"name": "rq_success", "value": "3"})
        );
        assert_eq!(healthy["health_status"], json!({}));
        assert_eq!(healthy["weight"], 3);
        assert_eq!(
            cluster["host_statuses"][1]["health_status"],
            json!({"failed_active_health_check": true, "failed_outlier_check": true})
        );
    }

    #[test]
    fn listeners_are_name_address_lines_or_envoys_json() {
        let f = fixture();
        assert_eq!(
            f.get("/listeners"),
            (
                200,
                "ingress::127.0.0.1:2045\ntcp::[::1]:9000\n".to_string()
            )
        );
        assert_eq!(
            f.get_json("/listeners?format=json"),
            json!({"listener_statuses": [
                {"name": "ingress", "local_address": {"socket_address": {"address": "127.0.0.1", "port_value": 2045}}},
                {"name": "tcp", "local_address": {"socket_address": {"address": "::1", "port_value": 9000}}}
            ]})
        );
    }

    #[test]
    fn logging_lists_and_sets_the_one_logger() {
        let f = fixture();
        assert_eq!(
            f.get("/logging"),
            (200, "active loggers:\n  mosn: info\n".to_string())
        );
        assert_eq!(
            f.post("/logging?level=debug"),
            (200, "active loggers:\n  mosn: debug\n".to_string())
        );
        assert_eq!(
            f.post("/logging?mosn=warning").1,
            "active loggers:\n  mosn: warning\n"
        );
        assert_eq!(
            f.post("/logging?paths=mosn:critical").1,
            "active loggers:\n  mosn: error\n"
        );
        assert_eq!(
            f.post("/logging?level=off").1,
            "active loggers:\n  mosn: off\n"
        );
        assert_eq!(
            f.post("/logging?level=trace").1,
            "active loggers:\n  mosn: trace\n"
        );
    }

    #[test]
    fn logging_refuses_unknown_levels_and_loggers_naming_them_and_changes_nothing() {
        let f = fixture();
        assert_eq!(
            f.post("/logging?level=loud"),
            (400, "unknown log level: loud\n".to_string())
        );
        let (status, text) = f.post("/logging?http=debug");
        assert_eq!(status, 400);
        assert!(text.starts_with("unknown logger: http"), "{text}");
        let (status, text) = f.post("/logging?level=debug&paths=mosn:nope");
        assert_eq!((status, text.as_str()), (400, "unknown log level: nope\n"));
        let (status, text) = f.post("/logging?paths=mosn");
        assert_eq!(
            (status, text.as_str()),
            (400, "paths entry without a level: mosn\n")
        );
        assert_eq!(f.get("/logging").1, "active loggers:\n  mosn: info\n");
    }

    #[test]
    fn logging_changes_need_post() {
        let f = fixture();
        let (status, _, _) = f.call("GET", "/logging?level=debug", &[]);
        assert_eq!(status, 405);
        assert_eq!(f.get("/logging").1, "active loggers:\n  mosn: info\n");
    }

    #[test]
    fn state_changing_endpoints_refuse_get_with_405_and_do_nothing() {
        let f = fixture();
        for target in [
            "/healthcheck/fail",
            "/healthcheck/ok",
            "/drain_listeners",
            "/quitquitquit",
        ] {
            let req = parts("GET", target, &[]);
            let route = EnvoyRoute::from_path(target).unwrap();
            let resp = handle(route, &f.state, &f.envoy, &req);
            assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{target}");
            assert_eq!(resp.headers()[http::header::ALLOW], "POST", "{target}");
        }
        assert!(f.probe.calls().is_empty());
        assert!(!f.envoy.health_check_failed.load(Ordering::Relaxed));
    }

    #[test]
    fn read_only_endpoints_refuse_other_methods_with_405() {
        let f = fixture();
        for target in [
            "/config_dump",
            "/stats",
            "/ready",
            "/healthz",
            "/server_info",
            "/clusters",
            "/listeners",
        ] {
            let (status, _, _) = f.call("POST", target, &[]);
            assert_eq!(status, 405, "{target}");
        }
        assert_eq!(f.call("PUT", "/logging", &[]).0, 405);
    }

    #[test]
    fn drain_listeners_passes_the_flags() {
        let f = fixture();
        assert_eq!(f.post("/drain_listeners"), (200, "OK\n".to_string()));
        assert_eq!(
            f.post("/drain_listeners?inboundonly&graceful=false").1,
            "OK\n"
        );
        assert_eq!(
            f.probe.calls(),
            [
                format!("{:?}", DrainRequest::default()),
                format!(
                    "{:?}",
                    DrainRequest {
                        inbound_only: true,
                        graceful: true
                    }
                ),
            ]
        );
    }

    #[test]
    fn quitquitquit_calls_quit_and_answers_ok() {
        let f = fixture();
        assert_eq!(f.post("/quitquitquit"), (200, "OK\n".to_string()));
        assert_eq!(f.probe.calls(), ["quit"]);
    }

    #[test]
    fn cross_site_posts_are_refused_and_tool_posts_pass() {
        let f = fixture();
        for headers in [
            [("origin", "https://evil.example")].as_slice(),
            &[("content-type", "text/plain;charset=UTF-8")],
            &[("content-type", "application/x-www-form-urlencoded")],
            &[("content-type", "Multipart/Form-Data; boundary=x")],
        ] {
            let (status, _, text) = f.call("POST", "/quitquitquit", headers);
            assert_eq!(status, 403, "{headers:?}: {text}");
        }
        assert!(f.probe.calls().is_empty());
        for headers in [
            [].as_slice(),
            &[("content-type", "")],
            &[("content-type", "application/json")],
        ] {
            assert_eq!(
                f.call("POST", "/quitquitquit", headers).0,
                200,
                "{headers:?}"
            );
        }
        assert_eq!(f.probe.calls().len(), 3);
    }
}
