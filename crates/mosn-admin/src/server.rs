//! The admin HTTP server: its own OS thread and current-thread runtime, so a busy or stuck
//! data plane never delays the admin API (and the other way round).

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};

use crate::envoy::{self, EnvoyAdmin, EnvoyRoute};
use crate::handlers::{self, Resp, Route};
use crate::logging::LogHandle;

/// Largest request body accepted (bigger is 413); the only bodies are small JSON or a path.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most connections served at once; more are closed on accept so a flood of idle clients
/// cannot pin memory in the admin thread.
pub const MAX_CONNECTIONS: usize = 64;
/// How long a client may take to send a request head, and then its body.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads live state as JSON at request time. Provided by the server (which knows the
/// clusters and the configuration plane), so the admin crate depends on neither.
pub type JsonFn = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// Reads the live per-host stats: `{CLUSTER: {ADDRESS: {...}}}`.
pub type HostStatsFn = JsonFn;

/// Re-reads the configuration source and applies the differences (`POST
/// /api/v1/reload`): whether everything applied, and the report (what changed, what was
/// refused and why). Provided by the server, which owns the configuration plane.
pub type ReloadFn = Arc<dyn Fn() -> (bool, serde_json::Value) + Send + Sync>;

/// Everything the admin API reports on or changes, shared with the rest of the process.
#[derive(Clone)]
pub struct AdminState {
    /// Listener and cluster counters, for `/api/v1/stats`.
    pub stats: Arc<mosn_api::stats::StatsRegistry>,
    /// Effective config as JSON with private keys already redacted; the server swaps it on
    /// reload, and `/api/v1/config_dump` reads whatever is current.
    pub config_json: Arc<arc_swap::ArcSwap<serde_json::Value>>,
    /// Each live resource's version and last update time (`{"listeners": {NAME:
    /// {"version", "last_updated"}}, ...}`), shown by `/api/v1/config_dump` as
    /// `resource_versions`; read at request time. `None`: not shown.
    pub versions: Option<JsonFn>,
    /// The process logger, for the log-level endpoints; `None` if logging is not ours to
    /// control (then no logger path is known and updates are 400).
    pub log: Option<LogHandle>,
    /// Reported by `/api/v1/version`.
    pub version: &'static str,
    /// Per-host stats, merged into `/api/v1/stats` as each cluster's `hosts`; called at
    /// request time so reloads and DNS updates are reflected. `None`: no `hosts` keys.
    pub hosts: Option<HostStatsFn>,
    /// `POST /api/v1/reload`; `None`: the process has no file to re-read (404).
    pub reload: Option<ReloadFn>,
    /// Envoy's admin endpoints (`/config_dump`, `/stats`, `/ready`, ...) beside MOSN's,
    /// for a process started from an Envoy bootstrap; `None`: those paths are 404.
    pub envoy: Option<EnvoyAdmin>,
}

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState")
            .field("stats", &self.stats)
            .field("log", &self.log)
            .field("version", &self.version)
            .field("hosts", &self.hosts.is_some())
            .field("reload", &self.reload.is_some())
            .field("envoy", &self.envoy)
            .finish_non_exhaustive()
    }
}

/// A running admin server; [`AdminHandle::shutdown`] stops it. Dropping the handle
/// without calling `shutdown` leaves the server running for the rest of the process.
#[must_use = "dropping the handle leaves the admin server running with no way to stop it"]
#[derive(Debug)]
pub struct AdminHandle {
    /// The address actually bound (the real port when port 0 was asked for).
    pub local_addr: SocketAddr,
    stop: Arc<Notify>,
    thread: JoinHandle<()>,
}

impl AdminHandle {
    /// Stops accepting, drops open admin connections and joins the admin thread.
    pub fn shutdown(self) {
        self.stop.notify_one();
        if self.thread.join().is_err() {
            tracing::error!("[admin] admin server thread panicked");
        }
    }
}

/// Binds `addr` now (so the caller sees bind errors synchronously) and serves the admin
/// API on a dedicated OS thread named `mosn-admin` with its own current-thread tokio
/// runtime, until [`AdminHandle::shutdown`]. Returns the bound address and the handle.
pub fn spawn(addr: SocketAddr, state: AdminState) -> io::Result<AdminHandle> {
    let std_listener = std::net::TcpListener::bind(addr)?;
    std_listener.set_nonblocking(true)?;
    let local_addr = std_listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listener = {
        let _guard = runtime.enter();
        TcpListener::from_std(std_listener)?
    };
    let stop = Arc::new(Notify::new());
    let thread = {
        let stop = stop.clone();
        let state = Arc::new(state);
        std::thread::Builder::new()
            .name("mosn-admin".to_string())
            .spawn(move || {
                runtime.block_on(serve(listener, state, stop));
                // Dropping the runtime here cancels the connection tasks still open.
            })?
    };
    tracing::info!("[admin] admin api listening on {local_addr}");
    Ok(AdminHandle {
        local_addr,
        stop,
        thread,
    })
}

/// Accepts until told to stop; each connection runs in its own task so one bad client
/// cannot hold up the others.
async fn serve(listener: TcpListener, state: Arc<AdminState>, stop: Arc<Notify>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            _ = stop.notified() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!("[admin] accept failed: {e}");
                tokio::select! {
                    _ = stop.notified() => break,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                }
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!("[admin] too many admin connections, closing the one from {peer}");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle_request(req, &state).await) }
            });
            let result = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = result {
                tracing::debug!("[admin] connection from {peer} ended: {e}");
            }
        });
    }
}

/// Routes one request: unknown path 404, wrong method 405, then the body (POST only) and
/// the handler. MOSN's paths first, then Envoy's when they are served.
async fn handle_request(req: Request<Incoming>, state: &AdminState) -> Resp {
    let Some(route) = Route::from_path(req.uri().path()) else {
        return envoy_request(req, state);
    };
    let allowed = route.method();
    if *req.method() != allowed {
        return handlers::method_not_allowed(&allowed);
    }
    tracing::debug!("[admin api] {} {}", req.method(), req.uri());
    let query = req.uri().query().map(str::to_owned);
    let body = if allowed == http::Method::POST {
        match read_body(req).await {
            Ok(body) => body,
            Err(resp) => return resp,
        }
    } else {
        Bytes::new()
    };
    handlers::handle(route, state, query.as_deref(), &body)
}

/// An Envoy admin request, or 404 when the path is not one or Envoy's API is not served.
fn envoy_request(req: Request<Incoming>, state: &AdminState) -> Resp {
    let route = state
        .envoy
        .as_ref()
        .zip(EnvoyRoute::from_path(req.uri().path()));
    let Some((envoy_admin, route)) = route else {
        return handlers::not_found();
    };
    tracing::debug!("[admin api] {} {}", req.method(), req.uri());
    let (parts, _body) = req.into_parts();
    envoy::handle(route, state, envoy_admin, &parts)
}

/// The whole body, at most [`MAX_BODY_BYTES`] (413 beyond) within [`READ_TIMEOUT`] (408).
async fn read_body(req: Request<Incoming>) -> Result<Bytes, Resp> {
    let too_large = || {
        handlers::body_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body larger than {MAX_BODY_BYTES} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let collect = Limited::new(req.into_body(), MAX_BODY_BYTES).collect();
    match tokio::time::timeout(READ_TIMEOUT, collect).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(e)) => Err(handlers::body_error(
            StatusCode::BAD_REQUEST,
            &format!("read body error: {e}"),
        )),
        Err(_) => Err(handlers::body_error(
            StatusCode::REQUEST_TIMEOUT,
            "timed out reading the request body",
        )),
    }
}
