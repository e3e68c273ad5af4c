//! One downstream RPC connection: a read loop decoding frames and a write loop sending
//! whatever replies are ready, in completion order (RPC responses carry their ids).

use super::exchange;
use super::XProxyFilter;
use bytes::BytesMut;
use mosn_api::stats::ListenerStats;
use mosn_net::ConnectionInfo;
use mosn_protocol::xprotocol::{Frame, FrameKind, DEFAULT_MAX_FRAME};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::Notify;

/// Read size from clients.
const READ_BUF: usize = 16 * 1024;

/// Replies queued for a client beyond which mosn stops reading its requests until the
/// client reads: a client that pipelines without reading cannot grow the queue unbounded.
const MAX_QUEUED_REPLIES: usize = 4 * 1024 * 1024;

/// The write side of a downstream connection, shared by the requests in flight on it.
pub(super) struct Downstream {
    out: Mutex<BytesMut>,
    wake: Notify,
    /// Signalled when the write loop has sent what was queued.
    written: Notify,
    in_flight: AtomicUsize,
    reading_done: AtomicBool,
    pub(super) stats: Arc<ListenerStats>,
}

impl Downstream {
    /// Queues a frame for the client; a reply to a request is counted by its HTTP-like
    /// status (heartbeat replies are not requests).
    pub(super) fn reply(&self, bytes: &[u8], http_status: Option<u16>) {
        if let Some(status) = http_status {
            self.stats.count_response(status);
        }
        let mut out = self.out.lock();
        let was_empty = out.is_empty();
        out.extend_from_slice(bytes);
        if was_empty {
            self.wake.notify_one();
        }
    }

    /// Counts a request in flight until [`Downstream::finish`].
    pub(super) fn start(&self) {
        self.in_flight.fetch_add(1, Relaxed);
        self.stats.downstream_rq_active.inc();
    }

    /// A request in flight is done (answered, failed, or oneway).
    pub(super) fn finish(&self) {
        let was = self.in_flight.fetch_sub(1, Relaxed);
        self.stats.downstream_rq_active.dec();
        if was == 1 && self.reading_done.load(Relaxed) {
            self.wake.notify_one();
        }
    }

    fn done(&self) -> bool {
        self.reading_done.load(Relaxed)
            && self.in_flight.load(Relaxed) == 0
            && self.out.lock().is_empty()
    }
}

/// Serves one connection until the client leaves (then answers what is in flight), an
/// error closes it, the connection idles out, or its scope drains.
pub(super) async fn serve<S>(filter: Arc<XProxyFilter>, socket: S, info: ConnectionInfo)
where
    S: AsyncRead + AsyncWrite,
{
    let stats = filter.stats.clone();
    stats.downstream_cx_total.inc();
    let _active = stats.downstream_cx_active.track();
    let (rd, wr) = tokio::io::split(socket);
    let down = Arc::new(Downstream {
        out: Mutex::default(),
        wake: Notify::new(),
        written: Notify::new(),
        in_flight: AtomicUsize::new(0),
        reading_done: AtomicBool::new(false),
        stats: stats.clone(),
    });
    let writer = write_loop(&down, wr);
    tokio::pin!(writer);
    tokio::select! {
        () = read_loop(&filter, &down, rd, &info) => {
            down.reading_done.store(true, Relaxed);
            down.wake.notify_one();
            writer.await;
        }
        () = &mut writer => {}
    }
}

async fn write_loop<S: AsyncWrite>(down: &Downstream, mut wr: WriteHalf<S>) {
    loop {
        let out = std::mem::take(&mut *down.out.lock());
        if out.is_empty() {
            if down.done() {
                let _ = wr.shutdown().await;
                return;
            }
            down.wake.notified().await;
            continue;
        }
        down.stats
            .downstream_cx_tx_bytes_total
            .add(out.len() as u64);
        if wr.write_all(&out).await.is_err() {
            return;
        }
        down.written.notify_one();
    }
}

async fn read_loop<S: AsyncRead>(
    filter: &Arc<XProxyFilter>,
    down: &Arc<Downstream>,
    mut rd: ReadHalf<S>,
    info: &ConnectionInfo,
) {
    let mut buf = BytesMut::new();
    let drain = filter.scope.drain.clone();
    loop {
        loop {
            match filter.downstream.decode(&mut buf, DEFAULT_MAX_FRAME) {
                Ok(Some(frame)) => on_frame(filter, down, frame, info),
                Ok(None) => break,
                Err(e) => {
                    down.stats.downstream_rq_protocol_error.inc();
                    tracing::warn!(listener = %info.listener, remote = ?info.remote, error = %e, "bad frame from client; closing");
                    return;
                }
            }
        }
        if drain.is_closing() {
            return;
        }
        while down.out.lock().len() > MAX_QUEUED_REPLIES {
            down.written.notified().await;
        }
        buf.reserve(READ_BUF);
        let idle = down.in_flight.load(Relaxed) == 0 && buf.is_empty();
        // Draining: stop taking requests; the write loop still sends every reply in
        // flight, then closes.
        let read = tokio::select! {
            r = tokio::time::timeout(filter.idle_timeout, rd.read_buf(&mut buf)) => r,
            () = drain.wait_closing() => return,
        };
        match read {
            // Only an idle connection times out; one with requests in flight waits.
            Err(_) if idle => return,
            Err(_) => {}
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(n)) => down.stats.downstream_cx_rx_bytes_total.add(n as u64),
        }
    }
}

fn on_frame(
    filter: &Arc<XProxyFilter>,
    down: &Arc<Downstream>,
    frame: Frame,
    info: &ConnectionInfo,
) {
    match frame.head.kind {
        FrameKind::HeartbeatRequest => {
            let reply = filter.downstream.heartbeat_reply(&frame.head);
            down.reply(&reply.bytes, None);
        }
        FrameKind::Request | FrameKind::Oneway => {
            down.stats.downstream_rq_total.inc();
            exchange::start(filter, down, frame, info);
        }
        FrameKind::Response | FrameKind::HeartbeatResponse => {
            down.stats.downstream_rq_protocol_error.inc();
            tracing::debug!(listener = %info.listener, "response frame from a client ignored");
        }
    }
}
