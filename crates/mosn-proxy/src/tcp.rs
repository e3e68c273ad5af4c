//! `tcp_proxy`: picks a cluster by source/destination, connects, and relays bytes both
//! ways with half-close and an idle timeout.

use crate::relay::{relay_sockets, Downstream};
use crate::state::{SharedState, WorkerContext};
use mosn_api::stats::ListenerStats;
use mosn_config::{CidrRange, PortRange, TcpProxyConfig, TcpRouteConfig};
use mosn_net::{spawn_guarded, ConnectionGuard, ConnectionInfo, NetworkFilter, Rewind, Socket};
use mosn_upstream::{LbContext, Outcome};
use std::net::SocketAddr;
use std::sync::Arc;

/// The `tcp_proxy` filter of one listener on one worker.
pub struct TcpProxyFilter {
    cfg: TcpProxyConfig,
    state: SharedState,
    worker: Arc<WorkerContext>,
    stats: Arc<ListenerStats>,
}

impl TcpProxyFilter {
    /// A filter for one listener; `stats` are that listener's.
    pub fn new(
        cfg: TcpProxyConfig,
        state: SharedState,
        worker: Arc<WorkerContext>,
        stats: Arc<ListenerStats>,
    ) -> Self {
        Self {
            cfg,
            state,
            worker,
            stats,
        }
    }

    /// The cluster for a connection: the first matching route, else `cluster`.
    fn cluster_for(&self, info: &ConnectionInfo) -> Option<&str> {
        self.cfg
            .routes
            .iter()
            .find(|r| route_matches(r, info.remote, info.local))
            .map(|r| r.cluster.as_str())
            .or(self.cfg.cluster.as_deref())
    }

    /// Serves a connection another filter started reading (`Auto` detection that knew no
    /// protocol): the bytes read so far go upstream first.
    pub async fn serve_rewound(self: Arc<Self>, downstream: Rewind<Socket>, info: ConnectionInfo) {
        self.run(downstream, info).await;
    }

    async fn run<D: Downstream>(self: Arc<Self>, downstream: D, info: ConnectionInfo) {
        let Some(name) = self.cluster_for(&info) else {
            tracing::warn!(listener = %info.listener, "tcp_proxy: no route for connection");
            return;
        };
        let state = self.state.load_full();
        let Some(cluster) = state.clusters.get(name) else {
            tracing::warn!(cluster = name, "tcp_proxy: unknown cluster");
            return;
        };
        let ctx = LbContext {
            downstream_addr: info.remote,
            hash_key: cluster
                .uses_hash_key()
                .then(|| info.remote.map(|a| mosn_router::source_ip_hash(a.ip())))
                .flatten(),
            original_dst: crate::original_dst::destination(cluster, None, &info),
        };
        let mut upstream = None;
        for attempt in 0..self.cfg.max_connect_attempts.max(1) {
            let Some(host) = cluster.choose_host_for_attempt(&ctx, attempt) else {
                break;
            };
            let open = u64::try_from(cluster.stats.upstream_cx_active.get()).unwrap_or(0);
            if !cluster.circuit_breakers.max_connections.allows(open) {
                cluster.stats.upstream_cx_overflow.inc();
                tracing::warn!(cluster = name, "tcp_proxy: max_connections reached");
                return;
            }
            match self.worker.pool.connect(cluster, &host).await {
                Ok(conn) => {
                    // A connection is tcp_proxy's success (Envoy's local-origin success).
                    cluster.report_outcome(&host, Outcome::Status(200));
                    upstream = Some(conn);
                    break;
                }
                Err(e) => {
                    cluster.report_outcome(&host, Outcome::ConnectFailure);
                    tracing::warn!(cluster = name, error = %e, "tcp_proxy: connect failed");
                }
            }
        }
        let Some(mut upstream) = upstream else {
            return;
        };
        let idle = self.cfg.idle_timeout;
        relay_sockets(
            downstream,
            &mut upstream.socket,
            idle,
            &self.stats,
            &cluster.stats,
        )
        .await;
    }
}

impl NetworkFilter for TcpProxyFilter {
    fn spawn(self: Arc<Self>, socket: Socket, info: ConnectionInfo, guard: ConnectionGuard) {
        spawn_guarded(self.run(socket, info), guard);
    }
}

fn route_matches(r: &TcpRouteConfig, src: Option<SocketAddr>, dst: Option<SocketAddr>) -> bool {
    side_matches(&r.source_addrs, r.source_port, src)
        && side_matches(&r.destination_addrs, r.destination_port, dst)
}

fn side_matches(cidrs: &[CidrRange], port: Option<PortRange>, addr: Option<SocketAddr>) -> bool {
    if cidrs.is_empty() && port.is_none() {
        return true;
    }
    let Some(addr) = addr else { return false };
    let ip_ok = cidrs.is_empty() || cidrs.iter().any(|c| c.contains(addr.ip()));
    let port_ok = port.is_none_or(|p| (p.start..=p.end).contains(&addr.port()));
    ip_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str, len: u8) -> CidrRange {
        CidrRange {
            address: s.parse().unwrap(),
            prefix_len: len,
        }
    }

    #[test]
    fn routes_match_on_every_criterion() {
        let r = TcpRouteConfig {
            cluster: "c".into(),
            source_addrs: vec![cidr("127.0.0.0", 8)],
            destination_addrs: vec![],
            source_port: None,
            destination_port: Some(PortRange { start: 80, end: 90 }),
        };
        let src: SocketAddr = "127.0.0.5:5555".parse().unwrap();
        assert!(route_matches(
            &r,
            Some(src),
            Some("1.1.1.1:85".parse().unwrap())
        ));
        assert!(!route_matches(
            &r,
            Some(src),
            Some("1.1.1.1:91".parse().unwrap())
        ));
        assert!(!route_matches(
            &r,
            Some("10.0.0.1:1".parse().unwrap()),
            Some("1.1.1.1:85".parse().unwrap())
        ));
        assert!(!route_matches(&r, None, None));
    }
}
