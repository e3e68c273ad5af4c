//! The `proxy` network filter for the RPC protocols (bolt, boltv2, dubbo): decodes
//! downstream frames with the listener's [`XCodec`], routes each request by its headers,
//! and sends it over the worker's multiplexed connection to the chosen host, restoring
//! the client's request id on the way back.
//!
//! Heartbeats are answered here, never forwarded (MOSN's xprotocol does the same; its
//! `healthcheck` stream filter asks for exactly that). Every failure a client could wait
//! on becomes the protocol's own error frame: no route, no host, overflow, connect
//! failure, upstream reset, timeout. Oneway requests are forwarded without a reply.

mod downstream;
mod exchange;

use crate::state::{ConnectionScope, SharedState, WorkerContext};
use mosn_api::stats::ListenerStats;
use mosn_config::ProxyConfig;
use mosn_net::{spawn_guarded, ConnectionGuard, ConnectionInfo, NetworkFilter, Rewind, Socket};
use mosn_protocol::xprotocol::{codec, XCodec};
use std::sync::Arc;
use std::time::Duration;

/// The RPC `proxy` filter of one listener on one worker.
pub struct XProxyFilter {
    downstream: &'static dyn XCodec,
    upstream: &'static dyn XCodec,
    router_name: String,
    idle_timeout: Duration,
    state: SharedState,
    worker: Arc<WorkerContext>,
    /// The listener generation this filter serves: its connections drain with it.
    scope: Arc<ConnectionScope>,
    stats: Arc<ListenerStats>,
}

impl XProxyFilter {
    /// A filter for one listener generation whose `downstream_protocol` is an RPC
    /// protocol; `idle_timeout` is the listener's `connection_idle_timeout`, `scope` the
    /// generation's connections.
    pub fn new(
        cfg: &ProxyConfig,
        idle_timeout: Option<Duration>,
        state: SharedState,
        worker: Arc<WorkerContext>,
        scope: Arc<ConnectionScope>,
        stats: Arc<ListenerStats>,
    ) -> Option<Self> {
        Some(Self {
            downstream: codec(cfg.downstream_protocol.rpc_name()?)?,
            upstream: codec(cfg.upstream_protocol.rpc_name()?)?,
            router_name: cfg.router_config_name.clone(),
            idle_timeout: idle_timeout.unwrap_or(crate::http::DEFAULT_IDLE_TIMEOUT),
            state,
            worker,
            scope,
            stats,
        })
    }

    /// A filter for one connection of an `Auto` listener whose first bytes `codec`
    /// recognised; requests go upstream in the same protocol (MOSN's `Auto` upstream).
    pub(crate) fn detected(
        codec: &'static dyn XCodec,
        router_name: String,
        idle_timeout: Duration,
        state: SharedState,
        worker: Arc<WorkerContext>,
        scope: Arc<ConnectionScope>,
        stats: Arc<ListenerStats>,
    ) -> Self {
        Self {
            downstream: codec,
            upstream: codec,
            router_name,
            idle_timeout,
            state,
            worker,
            scope,
            stats,
        }
    }

    /// Serves a connection whose first bytes were already read (by `Auto` detection).
    pub(crate) async fn serve_rewound(self: Arc<Self>, io: Rewind<Socket>, info: ConnectionInfo) {
        downstream::serve(self, io, info).await;
    }
}

impl NetworkFilter for XProxyFilter {
    fn spawn(self: Arc<Self>, socket: Socket, info: ConnectionInfo, guard: ConnectionGuard) {
        spawn_guarded(downstream::serve(self, socket, info), guard);
    }
}
