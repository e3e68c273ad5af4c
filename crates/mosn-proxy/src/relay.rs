//! Relaying bytes both ways between a downstream and an upstream connection, for
//! `tcp_proxy` and for upgraded HTTP connections (WebSocket): half-close passes through,
//! and an idle timeout ends both sides.

use mosn_api::stats::{ClusterStats, ListenerStats};
use std::cell::Cell;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// Bytes read per copy step.
const COPY_BUF: usize = 64 * 1024;

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
    let last = Cell::new(Instant::now());
    let (mut dr, mut dw) = tokio::io::split(downstream);
    let (mut ur, mut uw) = tokio::io::split(upstream);
    let up = copy_half(&mut dr, &mut uw, &last, |n| {
        listener.downstream_cx_rx_bytes_total.add(n);
        cluster.upstream_cx_tx_bytes_total.add(n);
    });
    let down = copy_half(&mut ur, &mut dw, &last, |n| {
        cluster.upstream_cx_rx_bytes_total.add(n);
        listener.downstream_cx_tx_bytes_total.add(n);
    });
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
                () = idle_expired(&last, idle) => tracing::debug!("relayed connection idle timeout"),
            }
        }
    }
}

async fn copy_half<R, W>(
    r: &mut R,
    w: &mut W,
    last: &Cell<Instant>,
    count: impl Fn(u64),
) -> std::io::Result<()>
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
        last.set(Instant::now());
        w.write_all(&buf[..n]).await?;
        count(n as u64);
    }
}

async fn idle_expired(last: &Cell<Instant>, idle: Duration) {
    loop {
        let deadline = last.get() + idle;
        if Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep_until(deadline).await;
    }
}
