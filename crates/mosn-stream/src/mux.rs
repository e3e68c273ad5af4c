//! Multiplexed upstream connections for the RPC protocols (xprotocol) and the per-worker
//! pool they come from.
//!
//! One connection per worker, key and protocol carries every request of that worker to
//! the host. The key is a [`PoolKey`] (address and TLS identity), so clusters reaching
//! one address under different SNI or client certificates each get their own. Each
//! request gets a fresh id on that connection (the caller restores the client's id on
//! the response), responses are matched back by id in any order. The connection's
//! task also expires requests past their deadline, answers the upstream's heartbeats,
//! and sends heartbeats of its own after `heartbeat_interval` without traffic; a missed
//! heartbeat reply closes it, and so does going idle after its host left the cluster.
//! When the connection dies, every request still pending on it is failed at once with
//! [`ProxyErrorKind::UpstreamReset`].

use crate::key::PoolKey;
use crate::pool::{open, ConnTracker};
use crate::LastActivity;
use bytes::BytesMut;
use mosn_api::error::ProxyErrorKind;
use mosn_api::FastMap;
use mosn_net::{ConnectError, Socket};
use mosn_protocol::xprotocol::{Frame, FrameKind, XCodec};
use mosn_upstream::{Cluster, Host};
use parking_lot::Mutex;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// MOSN's default Bolt heartbeat interval.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);

/// What one pending request's outcome is handed to: the response frame (id still the
/// upstream connection's), or why there is none.
pub type Responder = Box<dyn FnOnce(Result<Frame, ProxyErrorKind>) + Send>;

/// Settings every multiplexed connection of a worker shares.
#[derive(Debug, Clone, Copy)]
pub struct MuxSettings {
    /// Idle time after which a heartbeat is sent; a heartbeat unanswered for as long
    /// closes the connection.
    pub heartbeat_interval: Duration,
    /// Largest frame accepted from an upstream.
    pub max_frame: usize,
}

/// Why a multiplexed connection could not be had.
#[derive(Debug, thiserror::Error)]
pub enum MuxError {
    /// The cluster's `max_connections` breaker is open.
    #[error("connection overflow")]
    Overflow,
    /// Connecting failed.
    #[error(transparent)]
    Connect(#[from] ConnectError),
}

struct Pending {
    deadline: Instant,
    responder: Responder,
}

/// One multiplexed upstream connection, shared by every request using it.
pub struct MuxConn {
    codec: &'static dyn XCodec,
    settings: MuxSettings,
    pending: Mutex<HashMap<u64, Pending>>,
    deadlines: Mutex<BTreeSet<(Instant, u64)>>,
    out: Mutex<BytesMut>,
    write_wake: Notify,
    timer_wake: Notify,
    last_id: AtomicU64,
    last_read: LastActivity,
    heartbeat: Mutex<Option<u64>>,
    closed: AtomicBool,
    host: Arc<Host>,
    /// Counts the connection as open; dropped when it closes, even while requests still
    /// hold the `MuxConn`.
    tracker: Mutex<Option<ConnTracker>>,
    cluster: Arc<Cluster>,
}

impl std::fmt::Debug for MuxConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MuxConn")
            .field("codec", &self.codec.name())
            .field("host", &self.host.address)
            .field("pending", &self.pending.lock().len())
            .field("closed", &self.closed.load(Relaxed))
            .finish()
    }
}

impl MuxConn {
    /// True once the connection has died; it takes no more requests.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    /// Sends a request under a fresh id of this connection. A two-way request's outcome
    /// goes to `responder` (by `deadline` at the latest); a oneway request has none.
    /// On a closed connection the request fails at once with `UpstreamReset` (callers
    /// that can pick another connection check [`MuxConn::is_closed`] first).
    pub fn send(&self, mut frame: Frame, deadline: Instant, responder: Option<Responder>) {
        if self.closed.load(Relaxed) {
            if let Some(responder) = responder {
                responder(Err(ProxyErrorKind::UpstreamReset));
            }
            return;
        }
        let id = self.next_id();
        self.codec.set_request_id(&mut frame, id);
        if let Some(responder) = responder {
            self.pending.lock().insert(
                id,
                Pending {
                    deadline,
                    responder,
                },
            );
            let mut deadlines = self.deadlines.lock();
            let earliest = deadlines.first().is_none_or(|&(d, _)| deadline < d);
            deadlines.insert((deadline, id));
            if earliest {
                self.timer_wake.notify_one();
            }
        }
        self.write(&frame.bytes);
    }

    fn next_id(&self) -> u64 {
        let pending = self.pending.lock();
        let mut id = self.codec.next_request_id(self.last_id.load(Relaxed));
        while pending.contains_key(&id) || *self.heartbeat.lock() == Some(id) {
            id = self.codec.next_request_id(id);
        }
        self.last_id.store(id, Relaxed);
        id
    }

    fn write(&self, bytes: &[u8]) {
        let mut out = self.out.lock();
        let was_empty = out.is_empty();
        out.extend_from_slice(bytes);
        if was_empty {
            self.write_wake.notify_one();
        }
    }

    fn complete(&self, id: u64, result: Result<Frame, ProxyErrorKind>) {
        let Some(p) = self.pending.lock().remove(&id) else {
            return;
        };
        self.deadlines.lock().remove(&(p.deadline, id));
        (p.responder)(result);
    }

    /// Marks the connection dead and fails everything pending on it.
    fn close(&self) {
        self.closed.store(true, Relaxed);
        self.tracker.lock().take();
        let pending: Vec<_> = self.pending.lock().drain().collect();
        self.deadlines.lock().clear();
        for (_, p) in pending {
            (p.responder)(Err(ProxyErrorKind::UpstreamReset));
        }
    }

    fn on_frame(&self, frame: Frame) {
        match frame.head.kind {
            FrameKind::Response => self.complete(frame.head.request_id, Ok(frame)),
            FrameKind::HeartbeatResponse => {
                if *self.heartbeat.lock() == Some(frame.head.request_id) {
                    *self.heartbeat.lock() = None;
                } else {
                    self.complete(frame.head.request_id, Ok(frame));
                }
            }
            FrameKind::HeartbeatRequest => {
                let reply = self.codec.heartbeat_reply(&frame.head);
                self.write(&reply.bytes);
            }
            FrameKind::Request | FrameKind::Oneway => {
                tracing::debug!(host = ?self.host.address, "request from an upstream ignored");
            }
        }
    }

    async fn read_loop(&self, mut rd: ReadHalf<Socket>) {
        let mut buf = BytesMut::with_capacity(16 * 1024);
        loop {
            loop {
                match self.codec.decode(&mut buf, self.settings.max_frame) {
                    Ok(Some(frame)) => self.on_frame(frame),
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(host = ?self.host.address, error = %e, "bad frame from upstream; closing");
                        return;
                    }
                }
            }
            buf.reserve(16 * 1024);
            match rd.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    self.cluster.stats.upstream_cx_rx_bytes_total.add(n as u64);
                    self.last_read.touch();
                }
            }
        }
    }

    async fn write_loop(&self, mut wr: WriteHalf<Socket>) {
        loop {
            let out = std::mem::take(&mut *self.out.lock());
            if out.is_empty() {
                self.write_wake.notified().await;
                // Let the other tasks already runnable queue their requests first, so one
                // write carries them all. The work-stealing runtime runs a woken task
                // next (its LIFO slot), which without this yield sends one write per
                // request.
                tokio::task::yield_now().await;
                continue;
            }
            self.cluster
                .stats
                .upstream_cx_tx_bytes_total
                .add(out.len() as u64);
            if wr.write_all(&out).await.is_err() {
                return;
            }
        }
    }

    /// Expires requests past their deadline and keeps the connection alive with
    /// heartbeats; returns when a heartbeat went unanswered.
    async fn timer_loop(&self) {
        let interval = self.settings.heartbeat_interval;
        loop {
            let now = Instant::now();
            loop {
                let first = self.deadlines.lock().first().copied();
                match first {
                    Some((d, id)) if d <= now => {
                        self.complete(id, Err(ProxyErrorKind::UpstreamTimeout));
                    }
                    _ => break,
                }
            }
            let idle_until = self.last_read.get() + interval;
            if now >= idle_until && self.host.is_removed() && self.pending.lock().is_empty() {
                // The host left its cluster (DNS): no new request will come; close.
                return;
            }
            if now >= idle_until {
                if self.heartbeat.lock().is_some() {
                    tracing::warn!(host = ?self.host.address, "upstream missed a heartbeat; closing");
                    return;
                }
                let id = self.next_id();
                *self.heartbeat.lock() = Some(id);
                self.write(&self.codec.heartbeat(id).bytes);
                // The reply must come within one more interval.
                self.last_read.touch();
                continue;
            }
            let next = self
                .deadlines
                .lock()
                .first()
                .map_or(idle_until, |&(d, _)| d.min(idle_until));
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = self.timer_wake.notified() => {}
            }
        }
    }

    async fn run(self: Arc<Self>, socket: Socket) {
        let (rd, wr) = tokio::io::split(socket);
        tokio::select! {
            () = self.read_loop(rd) => {}
            () = self.write_loop(wr) => {}
            () = self.timer_loop() => {}
        }
        self.close();
    }
}

/// One key's connection slot: the live connection, and a lock so that concurrent first
/// requests share one connect instead of each opening a connection.
#[derive(Default)]
struct Slot {
    conn: Mutex<Option<Arc<MuxConn>>>,
    connecting: tokio::sync::Mutex<()>,
}

impl Slot {
    fn live(&self) -> Option<Arc<MuxConn>> {
        let conn = self.conn.lock();
        conn.as_ref()
            .filter(|c| !c.is_closed() && !c.host.is_removed())
            .cloned()
    }
}

/// The multiplexed connections of one worker, by address, TLS identity and protocol.
pub struct MuxPool {
    settings: MuxSettings,
    slots: Mutex<FastMap<(PoolKey, &'static str), Arc<Slot>>>,
}

impl std::fmt::Debug for MuxPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MuxPool")
            .field("hosts", &self.slots.lock().len())
            .finish()
    }
}

impl MuxPool {
    /// An empty pool whose connections use `settings`.
    pub fn new(settings: MuxSettings) -> Self {
        Self {
            settings,
            slots: Mutex::default(),
        }
    }

    fn slot(&self, key: PoolKey, codec: &'static dyn XCodec) -> Arc<Slot> {
        self.slots
            .lock()
            .entry((key, codec.name()))
            .or_default()
            .clone()
    }

    /// The live connection under `key` (`PoolKey::new(cluster, host)`) speaking `codec`,
    /// without waiting: the fast path of every request once a connection exists.
    pub fn live(&self, key: &PoolKey, codec: &'static dyn XCodec) -> Option<Arc<MuxConn>> {
        let slots = self.slots.lock();
        slots.get(&(key.clone(), codec.name()))?.live()
    }

    /// The live connection to `host` of `cluster` (under `PoolKey::new(cluster, host)`),
    /// connecting one (within the cluster's `max_connections` breaker) when there is
    /// none; concurrent callers share one connect.
    pub async fn get(
        &self,
        cluster: &Arc<Cluster>,
        host: &Arc<Host>,
        codec: &'static dyn XCodec,
    ) -> Result<Arc<MuxConn>, MuxError> {
        let slot = self.slot(PoolKey::new(cluster, host), codec);
        let _connecting = slot.connecting.lock().await;
        if let Some(conn) = slot.live() {
            return Ok(conn);
        }
        let open_now = u64::try_from(cluster.stats.upstream_cx_active.get()).unwrap_or(0);
        if !cluster.circuit_breakers.max_connections.allows(open_now) {
            cluster.stats.upstream_cx_overflow.inc();
            return Err(MuxError::Overflow);
        }
        let (socket, tracker) = open(cluster, host).await?;
        let conn = Arc::new(MuxConn {
            codec,
            settings: self.settings,
            pending: Mutex::default(),
            deadlines: Mutex::default(),
            out: Mutex::default(),
            write_wake: Notify::new(),
            timer_wake: Notify::new(),
            last_id: AtomicU64::new(0),
            last_read: LastActivity::new(),
            heartbeat: Mutex::new(None),
            closed: AtomicBool::new(false),
            host: host.clone(),
            tracker: Mutex::new(Some(tracker)),
            cluster: cluster.clone(),
        });
        tokio::spawn(conn.clone().run(socket));
        *slot.conn.lock() = Some(conn.clone());
        Ok(conn)
    }

    /// Drops slots whose connection died or whose host left its cluster.
    pub fn evict_closed(&self) {
        self.slots
            .lock()
            .retain(|_, slot| Arc::strong_count(slot) > 1 || slot.live().is_some());
    }
}
