//! Relaying bytes both ways between a downstream and an upstream connection, for
//! `tcp_proxy` and for upgraded HTTP connections (WebSocket): half-close passes through,
//! and an idle timeout ends both sides. Two plain TCP sockets are relayed with
//! splice(2) (no copy through user space); anything else through a buffer.

use mosn_api::stats::{ClusterStats, ListenerStats};
use mosn_net::{splice_one_way, Rewind, Socket};
use mosn_stream::LastActivity;
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Bytes read per copy step.
const COPY_BUF: usize = 64 * 1024;

/// A downstream connection `tcp_proxy` relays: a socket, or one whose first bytes were
/// read by protocol detection (always copied: those bytes go first).
pub(crate) trait Downstream: AsyncRead + AsyncWrite {
    /// The plain TCP stream to splice from, when there is one.
    fn plain_tcp(&self) -> Option<&TcpStream>;
}

impl Downstream for Socket {
    fn plain_tcp(&self) -> Option<&TcpStream> {
        self.as_tcp()
    }
}

impl Downstream for Rewind<Socket> {
    fn plain_tcp(&self) -> Option<&TcpStream> {
        None
    }
}

/// Relays a downstream connection and an upstream socket: spliced when both are plain
/// TCP, copied otherwise.
pub(crate) async fn relay_sockets<D: Downstream>(
    downstream: D,
    upstream: &mut Socket,
    idle: Option<Duration>,
    listener: &ListenerStats,
    cluster: &ClusterStats,
) {
    if let (Some(d), Some(u)) = (downstream.plain_tcp(), upstream.as_tcp()) {
        let last = LastActivity::new();
        let counters = Counters { listener, cluster };
        let up = splice_one_way(d, u, |n| counters.upstream(n, &last));
        let down = splice_one_way(u, d, |n| counters.downstream(n, &last));
        return drive(up, down, &last, idle).await;
    }
    relay(downstream, upstream, idle, listener, cluster).await;
}

/// Copies both ways until both sides finished, one side failed, or nothing moved for
/// `idle` (when set). EOF on one side half-closes the other.
pub(crate) async fn relay<D, U>(
    downstream: D,
    upstream: U,
    idle: Option<Duration>,
    listener: &ListenerStats,
    cluster: &ClusterStats,
) where
    D: AsyncRead + AsyncWrite,
    U: AsyncRead + AsyncWrite,
{
    let last = LastActivity::new();
    let counters = Counters { listener, cluster };
    let (mut dr, mut dw) = tokio::io::split(downstream);
    let (mut ur, mut uw) = tokio::io::split(upstream);
    let up = copy_half(&mut dr, &mut uw, |n| counters.upstream(n, &last));
    let down = copy_half(&mut ur, &mut dw, |n| counters.downstream(n, &last));
    drive(up, down, &last, idle).await;
}

/// The byte counters both directions feed.
struct Counters<'a> {
    listener: &'a ListenerStats,
    cluster: &'a ClusterStats,
}

impl Counters<'_> {
    /// `n` bytes went from the client to the upstream.
    fn upstream(&self, n: u64, last: &LastActivity) {
        last.touch();
        self.listener.downstream_cx_rx_bytes_total.add(n);
        self.cluster.upstream_cx_tx_bytes_total.add(n);
    }

    /// `n` bytes went from the upstream to the client.
    fn downstream(&self, n: u64, last: &LastActivity) {
        last.touch();
        self.cluster.upstream_cx_rx_bytes_total.add(n);
        self.listener.downstream_cx_tx_bytes_total.add(n);
    }
}

/// Runs both directions until both finished or one failed, or until nothing moved for
/// `idle`.
async fn drive(
    up: impl Future<Output = std::io::Result<()>>,
    down: impl Future<Output = std::io::Result<()>>,
    last: &LastActivity,
    idle: Option<Duration>,
) {
    let both = async {
        let (a, b) = tokio::join!(up, down);
        if let Err(e) = a.and(b) {
            tracing::debug!(error = %e, "relayed connection ended with an error");
        }
    };
    match idle {
        None => both.await,
        Some(idle) => {
            tokio::select! {
                () = both => {}
                () = idle_expired(last, idle) => tracing::debug!("relayed connection idle timeout"),
            }
        }
    }
}

async fn copy_half<R, W>(r: &mut R, w: &mut W, mut moved: impl FnMut(u64)) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; COPY_BUF];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return w.shutdown().await;
        }
        w.write_all(&buf[..n]).await?;
        moved(n as u64);
    }
}

async fn idle_expired(last: &LastActivity, idle: Duration) {
    loop {
        let deadline = last.get() + idle;
        if Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep_until(deadline).await;
    }
}
