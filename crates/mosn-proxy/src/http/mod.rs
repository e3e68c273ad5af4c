//! The `proxy` network filter for HTTP/1.1: reads requests off a downstream connection,
//! routes them, forwards them upstream over pooled connections, and relays responses back,
//! streaming bodies in both directions.
//!
//! One [`HttpProxyFilter`] serves every connection of one listener on one worker; each
//! connection runs [`connection::Http1Connection`] to its end.

mod connection;
mod forward;
mod forwarding_headers;
mod local_reply;
mod retry;

use crate::state::{SharedState, WorkerContext};
use mosn_api::filter::StreamFilter;
use mosn_api::stats::ListenerStats;
use mosn_config::ProxyConfig;
use mosn_net::{ConnectionInfo, NetworkFilter, Socket};
use mosn_protocol::http1::Limits;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// MOSN's default idle timeout for downstream connections.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// MOSN's default route timeout (`types.GlobalTimeout`).
pub const DEFAULT_ROUTE_TIMEOUT: Duration = Duration::from_secs(60);

/// The HTTP `proxy` filter of one listener on one worker.
pub struct HttpProxyFilter {
    router_name: String,
    header_timeout: Duration,
    idle_timeout: Duration,
    limits: Limits,
    state: SharedState,
    worker: Rc<WorkerContext>,
    stats: Arc<ListenerStats>,
    stream_filters: Vec<Box<dyn StreamFilter>>,
}

impl HttpProxyFilter {
    /// A filter for one listener; `idle_timeout` is the listener's
    /// `connection_idle_timeout` (default 90s), `stats` and `stream_filters` are the
    /// listener's.
    pub fn new(
        cfg: &ProxyConfig,
        idle_timeout: Option<Duration>,
        state: SharedState,
        worker: Rc<WorkerContext>,
        stats: Arc<ListenerStats>,
        stream_filters: Vec<Box<dyn StreamFilter>>,
    ) -> Self {
        Self {
            router_name: cfg.router_config_name.clone(),
            header_timeout: cfg.request_header_timeout,
            idle_timeout: idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT),
            limits: Limits {
                max_head_bytes: cfg.max_request_header_bytes,
                max_headers: cfg.max_request_headers,
            },
            state,
            worker,
            stats,
            stream_filters,
        }
    }
}

impl NetworkFilter for HttpProxyFilter {
    fn serve(
        self: Rc<Self>,
        socket: Socket,
        info: ConnectionInfo,
    ) -> Pin<Box<dyn Future<Output = ()>>> {
        Box::pin(connection::Http1Connection::new(self, socket, info).run())
    }
}
