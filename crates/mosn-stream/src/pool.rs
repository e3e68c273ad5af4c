//! A per-worker pool of idle upstream connections, keyed by [`PoolKey`]: the host's
//! address and the TLS context the connection handshook with (none for plaintext), so a
//! connection is only reused by a cluster that would have made the same one — never
//! under another cluster's SNI or client certificate.
//!
//! One worker owns one pool (its lock is contended only under `work_stealing`): the
//! proxy checks a connection out for one request and puts it back when the response
//! finished cleanly. Idle connections expire after the cluster's `idle_timeout`; ones the
//! upstream closed are dropped on checkout, so a request is never written into a dead
//! socket if we can tell. When a cluster's host list is replaced at runtime (DNS),
//! connections to hosts that stay are untouched (their key does not change), and idle
//! ones to hosts that left are closed at the next checkout, check-in or sweep.

use crate::key::{client_tls, PoolKey};
use mosn_api::stats::ClusterStats;
use mosn_api::FastMap;
use mosn_config::Address;
use mosn_net::{connect_with_keepalive, ConnectError, Socket};
use mosn_upstream::{Cluster, Host};
use parking_lot::Mutex;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An upstream connection checked out for one request.
#[derive(Debug)]
pub struct UpstreamConn {
    /// The socket.
    pub socket: Socket,
    /// Requests already sent on it (before this one).
    pub requests: u32,
    /// True when it came from the pool rather than a fresh connect; a failure on a reused
    /// connection before any response byte may be retried on a new one.
    pub reused: bool,
    /// What the connection is pooled under when it is checked in.
    key: PoolKey,
    tracker: ConnTracker,
}

impl UpstreamConn {
    /// The socket and its accounting, for protocols that multiplex the connection (HTTP/2)
    /// and keep it outside this pool; the counters fall when `ConnTracker` drops.
    pub fn into_parts(self) -> (Socket, ConnTracker) {
        (self.socket, self.tracker)
    }

    /// The host the connection goes to.
    pub fn host(&self) -> &Arc<Host> {
        &self.tracker.host
    }

    /// The stats of the cluster the connection belongs to.
    pub fn stats(&self) -> &Arc<ClusterStats> {
        &self.tracker.stats
    }
}

/// Keeps an open upstream connection counted in its cluster's `upstream_cx_active` and its
/// host's active connections until dropped, whichever pool owns the socket.
#[derive(Debug)]
pub struct ConnTracker {
    /// The host the connection goes to.
    pub host: Arc<Host>,
    stats: Arc<ClusterStats>,
}

impl Drop for ConnTracker {
    fn drop(&mut self) {
        self.stats.upstream_cx_active.dec();
        self.host.active_connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Opens a connection to `host` of `cluster` within its `connect_timeout` (with the TLS
/// handshake when the cluster has a `tls_context` and the host no `tls_disable`, and its
/// TCP keepalive when it has one), counting it (and a failure) in the cluster's and the
/// host's stats.
pub async fn open(
    cluster: &Cluster,
    host: &Arc<Host>,
) -> Result<(Socket, ConnTracker), ConnectError> {
    let stats = &cluster.stats;
    let tls = client_tls(cluster, host).map(|t| t.load());
    // The SNI when the context names no server_name: the host's name, else its IP.
    let sni = match (&host.hostname, &host.address) {
        (Some(name), _) => name.clone(),
        (None, Address::Tcp(sa)) => sa.ip().to_string(),
        (None, Address::Unix(_)) => String::new(),
    };
    let tls_with_name = tls.as_deref().map(|t| (t, sni.as_str()));
    let keepalive = cluster.tcp_keepalive.as_ref();
    let connected = connect_with_keepalive(
        &host.address,
        cluster.connect_timeout,
        tls_with_name,
        keepalive,
    );
    match connected.await {
        Ok(socket) => {
            if tls.is_some() {
                stats.ssl_handshake.inc();
            }
            stats.upstream_cx_total.inc();
            stats.upstream_cx_active.inc();
            host.stats.cx_total.inc();
            host.active_connections.fetch_add(1, Ordering::Relaxed);
            let tracker = ConnTracker {
                host: host.clone(),
                stats: cluster.stats.clone(),
            };
            Ok((socket, tracker))
        }
        Err(e) => {
            host.stats.cx_connect_fail.inc();
            match e {
                ConnectError::Timeout => stats.upstream_cx_connect_timeout.inc(),
                ConnectError::Failed(_) => stats.upstream_cx_connect_fail.inc(),
                ConnectError::Tls(_) => {
                    stats.upstream_cx_connect_fail.inc();
                    stats.ssl_connection_error.inc();
                }
            }
            Err(e)
        }
    }
}

#[derive(Debug)]
struct Idle {
    conn: UpstreamConn,
    expires: Instant,
}

/// The idle connections of one worker, by address and TLS identity.
#[derive(Debug, Default)]
pub struct ConnPool {
    idle: Mutex<FastMap<PoolKey, Vec<Idle>>>,
}

impl ConnPool {
    /// A reusable idle connection under `key` (see [`PoolKey::new`]), most recently used
    /// first, or `None`.
    pub fn checkout(&self, key: &PoolKey) -> Option<UpstreamConn> {
        let mut idle = self.idle.lock();
        let list = idle.get_mut(key)?;
        let now = Instant::now();
        while let Some(mut entry) = list.pop() {
            if entry.expires > now
                && !entry.conn.host().is_removed()
                && !entry.conn.socket.is_closed_or_dirty()
            {
                let mut conn = entry.conn;
                conn.reused = true;
                return Some(conn);
            }
        }
        None
    }

    /// Opens a new connection to `host` of `cluster` (with TLS when the cluster has a
    /// `tls_context` and the host no `tls_disable`), counting it in the cluster's and the
    /// host's stats. It is checked in under `PoolKey::new(cluster, host)`.
    pub async fn connect(
        &self,
        cluster: &Cluster,
        host: &Arc<Host>,
    ) -> Result<UpstreamConn, ConnectError> {
        let key = PoolKey::new(cluster, host);
        let (socket, tracker) = open(cluster, host).await?;
        Ok(UpstreamConn {
            socket,
            requests: 0,
            reused: false,
            key,
            tracker,
        })
    }

    /// Returns a connection whose last exchange finished cleanly, under the key it was
    /// opened with, unless it has served `max_requests` (0 = unlimited).
    pub fn checkin(&self, mut conn: UpstreamConn, idle_timeout: Duration, max_requests: u32) {
        conn.requests += 1;
        if (max_requests != 0 && conn.requests >= max_requests) || conn.host().is_removed() {
            return;
        }
        let expires = Instant::now() + idle_timeout;
        self.idle
            .lock()
            .entry(conn.key.clone())
            .or_default()
            .push(Idle { conn, expires });
    }

    /// Closes idle connections whose idle timeout passed or whose host left its cluster
    /// (DNS re-resolution: `Host::is_removed`); the worker calls it periodically so idle
    /// sockets do not linger until the next request to that host.
    pub fn evict_expired(&self) {
        let now = Instant::now();
        self.idle.lock().retain(|_, list| {
            list.retain(|e| e.expires > now && !e.conn.host().is_removed());
            !list.is_empty()
        });
    }

    /// Number of idle connections held, for tests and stats.
    pub fn idle_count(&self) -> usize {
        self.idle.lock().values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosn_config::ClusterConfig;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    fn cluster(addr: Address) -> Cluster {
        let cfg = ClusterConfig::static_hosts("c", &[addr]);
        Cluster::from_config(&cfg, Arc::default())
    }

    #[tokio::test]
    async fn upstream_connections_carry_the_clusters_tcp_keepalive() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut cfg =
            ClusterConfig::static_hosts("c", &[Address::Tcp(listener.local_addr().unwrap())]);
        cfg.tcp_keepalive = Some(mosn_config::TcpKeepalive {
            time: Some(Duration::from_secs(300)),
            ..Default::default()
        });
        let c = Cluster::from_config(&cfg, Arc::default());
        let (socket, _tracker) = open(&c, &c.hosts()[0]).await.unwrap();
        let tcp = socket2::SockRef::from(socket.as_tcp().expect("a TCP socket"));
        assert!(tcp.keepalive().unwrap());
        assert_eq!(tcp.keepalive_time().unwrap(), Duration::from_secs(300));
    }

    #[tokio::test]
    async fn reuses_live_connections_and_drops_closed_ones() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = Address::Tcp(listener.local_addr().unwrap());
        let c = cluster(addr.clone());
        let pool = ConnPool::default();

        let key = PoolKey::new(&c, &c.hosts()[0]);
        let conn = pool.connect(&c, &c.hosts()[0]).await.unwrap();
        let (mut server_side, _) = listener.accept().await.unwrap();
        assert_eq!(c.hosts()[0].active_connections.load(Ordering::Relaxed), 1);
        assert!(!conn.reused);
        assert_eq!(c.stats.upstream_cx_active.get(), 1);
        pool.checkin(conn, Duration::from_secs(60), 0);
        let conn = pool.checkout(&key).expect("live connection is reused");
        assert!(conn.reused);
        pool.checkin(conn, Duration::from_secs(60), 0);

        server_side.shutdown().await.unwrap();
        drop(server_side);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            pool.checkout(&key).is_none(),
            "closed connection is not reused"
        );
        assert_eq!(c.stats.upstream_cx_active.get(), 0);
    }

    #[tokio::test]
    async fn retires_connections_after_max_requests_and_idle_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = Address::Tcp(listener.local_addr().unwrap());
        let c = cluster(addr.clone());
        let pool = ConnPool::default();

        let conn = pool.connect(&c, &c.hosts()[0]).await.unwrap();
        pool.checkin(conn, Duration::from_secs(60), 1);
        assert_eq!(pool.idle_count(), 0, "max_request_per_conn=1 retires it");

        let conn = pool.connect(&c, &c.hosts()[0]).await.unwrap();
        pool.checkin(conn, Duration::from_millis(10), 0);
        assert_eq!(pool.idle_count(), 1);
        tokio::time::sleep(Duration::from_millis(30)).await;
        pool.evict_expired();
        assert_eq!(pool.idle_count(), 0);
    }

    #[tokio::test]
    async fn connect_failures_are_counted() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = Address::Tcp(listener.local_addr().unwrap());
        drop(listener);
        let c = cluster(addr.clone());
        let err = ConnPool::default()
            .connect(&c, &c.hosts()[0])
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectError::Failed(_)));
        assert_eq!(c.stats.upstream_cx_connect_fail.get(), 1);
        assert_eq!(c.hosts()[0].stats.cx_connect_fail.get(), 1);
    }
}
