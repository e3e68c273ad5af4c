//! The `proxy` network filter for HTTP: reads requests off a downstream connection,
//! routes them, forwards them upstream over pooled connections, and relays responses back,
//! streaming bodies in both directions.
//!
//! One [`HttpProxyFilter`] serves every connection of one listener on one worker. An
//! HTTP/1.1 connection runs [`connection::Http1Connection`]: HTTP/1 upstreams take the
//! hand-tuned fast path (`forward`), HTTP/2 upstreams the converted one (`h1_bridge`).
//! An HTTP/2 connection runs [`h2_connection`], each stream through the protocol-neutral
//! [`exchange`] to either upstream protocol. `Auto` listeners pick one by the first bytes
//! (`detect`).

pub(crate) mod attempt;
mod connection;
mod detect;
mod envoy_headers;
mod exchange;
mod forward;
mod forwarding_headers;
mod grpc;
mod h1_body;
mod h1_bridge;
mod h2_connection;
mod local_reply;
mod parked;
mod replay;
mod retry;
mod upstream_bolt;
mod upstream_h1;
mod upstream_h2;
mod websocket;

use crate::state::{ConnectionScope, ProxyState, SharedState, WorkerContext};
use crate::tcp::TcpProxyFilter;
use bytes::BytesMut;
use connection::Http1Connection;
use exchange::Upstream;
use http::{HeaderMap, Method};
use local_reply::error_status;
use mosn_api::error::ProxyErrorKind;
use mosn_api::filter::{FilterStatus, RequestInfo, StreamFilter};
use mosn_api::stats::ListenerStats;
use mosn_config::{ClusterTarget, ForwardAction, Protocol, ProxyConfig, TranscoderConfig};
use mosn_net::{spawn_guarded, ConnectionGuard, ConnectionInfo, NetworkFilter, Socket};
use mosn_protocol::http1::Limits;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use upstream_bolt::BoltTranscoder;

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
    worker: Arc<WorkerContext>,
    /// The listener generation this filter serves: its connections drain with it.
    scope: Arc<ConnectionScope>,
    stats: Arc<ListenerStats>,
    stream_filters: Vec<Box<dyn StreamFilter>>,
    downstream: Protocol,
    upstream: Protocol,
    h2: H2Limits,
    /// Where `Auto` connections no codec recognises go (`fallback_for_unknown_protocol`).
    fallback: Option<Arc<TcpProxyFilter>>,
    /// The listener's `transcoder`: every request goes upstream as Bolt.
    transcoder: Option<BoltTranscoder>,
    /// `upstream_failure_status`: replaces the status of connect failures and resets.
    upstream_failure_status: Option<u16>,
    /// `free_reset_retry`: a reset before any response byte is retried once for free.
    free_reset_retry: bool,
    /// `envoy_headers`: Envoy's handling of its `x-envoy-*` request headers.
    envoy_headers: mosn_config::EnvoyHeaders,
    /// `server_name`: the `server` header of every response.
    server: Option<http::HeaderValue>,
}

/// Limits offered to HTTP/2 clients in SETTINGS.
#[derive(Debug, Clone, Copy)]
struct H2Limits {
    max_concurrent_streams: u32,
    max_header_list_size: u32,
}

impl HttpProxyFilter {
    /// A filter for one listener generation; `idle_timeout` is the listener's
    /// `connection_idle_timeout` (default 90s), `scope` the generation's connections,
    /// `stats` and `stream_filters` are the listener's.
    pub fn new(
        cfg: &ProxyConfig,
        idle_timeout: Option<Duration>,
        state: SharedState,
        worker: Arc<WorkerContext>,
        scope: Arc<ConnectionScope>,
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
            scope,
            stats,
            stream_filters,
            downstream: cfg.downstream_protocol,
            upstream: cfg.upstream_protocol,
            h2: H2Limits {
                max_concurrent_streams: cfg.max_concurrent_streams,
                max_header_list_size: u32::try_from(cfg.max_request_header_bytes)
                    .unwrap_or(u32::MAX),
            },
            fallback: None,
            transcoder: None,
            upstream_failure_status: cfg.upstream_failure_status,
            free_reset_retry: cfg.free_reset_retry,
            envoy_headers: cfg.envoy_headers,
            server: cfg
                .server_name
                .as_deref()
                .and_then(|s| http::HeaderValue::from_str(s).ok()),
        }
    }

    /// Gives a response the listener's `server` header, when it has one.
    fn stamp_server(&self, headers: &mut HeaderMap) {
        if let Some(v) = &self.server {
            headers.insert(http::header::SERVER, v.clone());
        }
    }

    /// The status of the local reply for `kind`.
    fn error_status(&self, kind: ProxyErrorKind) -> u16 {
        error_status(kind, self.upstream_failure_status)
    }

    /// The filter with `fallback` taking connections whose protocol `Auto` does not know.
    pub fn with_fallback(mut self, fallback: Option<Arc<TcpProxyFilter>>) -> Self {
        self.fallback = fallback;
        self
    }

    /// The filter with the listener's `transcoder` (if any) sending requests as Bolt.
    pub fn with_transcoder(mut self, transcoder: Option<&TranscoderConfig>) -> Self {
        self.transcoder = transcoder.map(|t| BoltTranscoder::new(t, self.upstream));
        self
    }
}

impl HttpProxyFilter {
    /// The upstream protocol for requests that arrived as `downstream` on `action`'s
    /// route: the route's `upstream_protocol`, else its cluster's (Envoy's
    /// `HttpProtocolOptions`; for weighted clusters, the first one's), else the filter's;
    /// `Auto` means the same protocol as downstream, as in MOSN. A `transcoder` makes it
    /// Bolt, as in MOSN.
    fn upstream_for(
        &self,
        downstream: Protocol,
        action: &ForwardAction,
        state: &ProxyState,
    ) -> Upstream {
        if self.transcoder.is_some() {
            return Upstream::Bolt;
        }
        let cluster = || {
            let name = match &action.target {
                ClusterTarget::Single(name) => name,
                ClusterTarget::Weighted(clusters) => &clusters.first()?.name,
            };
            state.clusters.http_protocol(name)
        };
        let protocol = action
            .upstream_protocol
            .or_else(cluster)
            .unwrap_or(self.upstream);
        match (protocol, downstream) {
            (Protocol::Http2, _) | (Protocol::Auto, Protocol::Http2) => Upstream::Http2,
            _ => Upstream::Http1,
        }
    }

    /// Runs the listener's stream filters on a request's head, whichever codec read it;
    /// `Some` is the local reply (status, reason) the first refusing filter asked for.
    fn run_request_filters(
        &self,
        remote: Option<SocketAddr>,
        method: &Method,
        path: &str,
        headers: &mut HeaderMap,
    ) -> Option<(u16, String)> {
        let info = RequestInfo {
            remote,
            method,
            path,
        };
        self.stream_filters
            .iter()
            .find_map(|f| match f.on_request_headers(headers, &info) {
                FilterStatus::Continue => None,
                FilterStatus::LocalReply { status, reason } => {
                    tracing::debug!(filter = f.name(), status, "stream filter replied locally");
                    Some((status, reason))
                }
            })
    }
}

impl NetworkFilter for HttpProxyFilter {
    fn spawn(self: Arc<Self>, socket: Socket, info: ConnectionInfo, guard: ConnectionGuard) {
        // Each codec's connection is its own task type, so an idle HTTP/1 connection does
        // not carry the size of the HTTP/2 one. Over TLS the protocol the client and
        // listener agreed on by ALPN decides.
        let protocol = match info.alpn() {
            Some(b"h2") => Protocol::Http2,
            Some(b"http/1.1") | Some(b"http/1.0") => Protocol::Http1,
            _ => self.downstream,
        };
        match protocol {
            Protocol::Http2 => {
                self.stats.downstream_cx_http2_total.inc();
                spawn_guarded(h2_connection::serve(self, socket, info), guard)
            }
            Protocol::Auto => {
                guard
                    .task_slot()
                    .spawn(detect::serve_detected(self, socket, info, guard));
            }
            // The connection holds its guard itself: it outlives its task when it parks.
            _ => {
                let task = guard.task_slot();
                task.spawn(Http1Connection::new(self, socket, info, BytesMut::new(), guard).run());
            }
        }
    }
}
