//! What the proxy filters read: the shared config snapshot and per-worker context.

use crate::idle_clock::IdleClock;
use arc_swap::ArcSwap;
use bytes::BytesMut;
use mosn_api::FastMap;
use mosn_net::OpenConnections;
use mosn_protocol::xprotocol::DEFAULT_MAX_FRAME;
use mosn_router::RouteTable;
use mosn_stream::{ConnPool, H2Pool, MuxPool, MuxSettings, DEFAULT_HEARTBEAT_INTERVAL};
use mosn_upstream::ClusterManager;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// Routes and clusters of one config version; built off the hot path, swapped in whole.
#[derive(Debug, Default)]
pub struct ProxyState {
    /// Route tables by `router_config_name`.
    pub routers: FastMap<String, Arc<RouteTable>>,
    /// Clusters by name.
    pub clusters: ClusterManager,
}

/// The snapshot every worker reads lock-free; a reload stores a new one.
pub type SharedState = Arc<ArcSwap<ProxyState>>;

/// Tells connections the process is shutting down: finish the request in flight, then
/// close instead of waiting for another.
#[derive(Debug, Clone)]
pub struct Drain(watch::Receiver<bool>);

impl Drain {
    /// A drain signal and the sender that starts draining.
    pub fn new() -> (watch::Sender<bool>, Self) {
        let (tx, rx) = watch::channel(false);
        (tx, Self(rx))
    }

    /// Resolves when draining starts (or the sender is gone).
    pub async fn wait(&self) {
        let mut rx = self.0.clone();
        let _ = rx.wait_for(|d| *d).await;
    }
}

/// One [`ConnectionScope`]'s drain signal, in two steps. *Closing* (a listener
/// generation retired by a configuration change): each connection closes at its next
/// clean point — HTTP/1 after its next response (`Connection: close`), HTTP/2 by GOAWAY,
/// RPC when idle — but an idle HTTP/1 keep-alive connection is not cut, since its client
/// may be sending a request on it at that very moment. *Draining* (the process stops, or
/// a closing generation's time is up): idle and parked connections close at once too.
/// Every idle connection of the scope waits on the draining `Notify`, so its wait is a
/// bare registration (64 B) rather than a `watch` receiver's (~180 B with its clone).
#[derive(Debug, Clone, Default)]
pub struct WorkerDrain(Arc<WorkerDrainState>);

#[derive(Debug, Default)]
struct WorkerDrainState {
    draining: AtomicBool,
    notify: Notify,
    closing: AtomicBool,
    closing_notify: Notify,
}

impl WorkerDrain {
    /// Marks the scope as draining (and closing) and wakes every connection waiting.
    pub fn start(&self) {
        self.0.draining.store(true, Relaxed);
        self.start_closing();
        self.0.notify.notify_waiters();
    }

    /// Marks the scope as closing: connections close at their next clean point, idle
    /// HTTP/1 ones when they next answer a request (see the type's doc).
    pub fn start_closing(&self) {
        self.0.closing.store(true, Relaxed);
        self.0.closing_notify.notify_waiters();
    }

    /// True once draining has started.
    pub fn is_draining(&self) -> bool {
        self.0.draining.load(Relaxed)
    }

    /// True once closing (or draining) has started: no connection should be kept alive
    /// after its current exchange.
    pub fn is_closing(&self) -> bool {
        self.0.closing.load(Relaxed)
    }

    /// Resolves when closing (or draining) starts.
    pub async fn wait_closing(&self) {
        let notified = self.0.closing_notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if !self.is_closing() {
            notified.await;
        }
    }

    /// Resolves when draining starts.
    pub async fn wait(&self) {
        let notified = self.0.notify.notified();
        tokio::pin!(notified);
        // Registered before the flag is read, so a `start` in between is not missed.
        notified.as_mut().enable();
        if !self.is_draining() {
            notified.await;
        }
    }
}

/// The connections of one generation of one listener on one worker, drained together:
/// when the listener is removed, when a change of its filter chains starts a new
/// generation (which takes the new connections), or when the process drains. The
/// listener's filters of that generation hold it; nothing is added per connection but
/// its slot in `open`.
#[derive(Debug)]
pub struct ConnectionScope {
    /// Tells the scope's connections to finish what is in flight and close.
    pub drain: WorkerDrain,
    /// Idle deadlines of the scope's keep-alive connections; every slot fires when
    /// `drain` starts, which closes the idle and parked connections.
    pub idle: IdleClock,
    /// The scope's open connections and their tasks: what draining waits for, and what
    /// the forced close at the end of the graceful timeout aborts.
    pub open: Arc<OpenConnections>,
}

impl Default for ConnectionScope {
    /// A scope with no connections, not draining.
    fn default() -> Self {
        let drain = WorkerDrain::default();
        Self {
            idle: IdleClock::new(drain.clone()),
            drain,
            open: Arc::default(),
        }
    }
}

impl ConnectionScope {
    /// Starts draining: in-flight requests finish, then each connection closes (idle and
    /// parked ones at once, HTTP/1 after its current response, HTTP/2 by GOAWAY, RPC when
    /// idle); tcp_proxy relays run on until [`ConnectionScope::drain_within`] ends them.
    pub fn start_drain(&self) {
        self.drain.start();
    }

    /// How many connections of the scope are open.
    pub fn open_connections(&self) -> usize {
        self.open.count()
    }

    /// Retires the scope without losing a request: starts *closing* (see [`WorkerDrain`]),
    /// waits until its connections have closed or `timeout` has passed, then drains
    /// (idle and parked connections close), gives the connections a moment to do so,
    /// and closes those still open forcibly (their tasks aborted, their sockets dropped).
    /// Returns how many were closed forcibly.
    pub async fn drain_within(&self, timeout: Duration) -> usize {
        self.drain.start_closing();
        self.wait_closed(Instant::now() + timeout).await;
        self.start_drain();
        self.wait_closed(Instant::now() + IDLE_CLOSE_GRACE).await;
        let left = self.open.count();
        if left > 0 {
            self.open.abort_all();
        }
        left
    }

    async fn wait_closed(&self, deadline: Instant) {
        while self.open.count() > 0 && Instant::now() < deadline {
            tokio::time::sleep(DRAIN_POLL).await;
        }
    }
}

/// How often a draining scope checks whether its connections have closed.
const DRAIN_POLL: Duration = Duration::from_millis(20);

/// How long a retired scope's idle connections get to close by themselves once the
/// scope drains, before the forced close.
const IDLE_CLOSE_GRACE: Duration = Duration::from_millis(200);

/// One worker's own things, shared by all its listeners: its upstream pools and its
/// spare read buffers.
#[derive(Debug)]
pub struct WorkerContext {
    /// Idle HTTP/1 upstream connections of this worker.
    pub pool: ConnPool,
    /// Multiplexed HTTP/2 upstream connections of this worker.
    pub h2_pool: H2Pool,
    /// Multiplexed RPC connections of this worker, one per host and protocol.
    pub mux: MuxPool,
    /// Large read buffers returned by finished requests, reused by the next ones so that
    /// a request does not allocate (and the allocator does not trim) one each time.
    spare_buffers: Mutex<Vec<BytesMut>>,
}

/// Spare buffers kept per worker; more concurrent requests allocate their own.
const MAX_SPARE_BUFFERS: usize = 32;

/// Buffers larger than this (grown by an unusual message) are freed, not kept.
const MAX_SPARE_CAPACITY: usize = 128 * 1024;

impl Default for WorkerContext {
    /// A context with empty pools and no spare buffers.
    fn default() -> Self {
        Self {
            pool: ConnPool::default(),
            h2_pool: H2Pool::default(),
            mux: MuxPool::new(MuxSettings {
                heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
                max_frame: DEFAULT_MAX_FRAME,
            }),
            spare_buffers: Mutex::default(),
        }
    }
}

impl WorkerContext {
    /// An empty buffer with at least `capacity` bytes, reused when one is spare.
    pub fn take_buffer(&self, capacity: usize) -> BytesMut {
        let mut buf = self.spare_buffers.lock().pop().unwrap_or_default();
        buf.reserve(capacity);
        buf
    }

    /// Gives a buffer back for reuse (its contents are discarded). Slices still pointing
    /// into it keep their bytes; the next `reserve` reclaims the memory once they are gone.
    pub fn return_buffer(&self, mut buf: BytesMut) {
        buf.clear();
        if buf.capacity() == 0 || buf.capacity() > MAX_SPARE_CAPACITY {
            return;
        }
        let mut spare = self.spare_buffers.lock();
        if spare.len() < MAX_SPARE_BUFFERS {
            spare.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosn_net::spawn_guarded;

    #[tokio::test(start_paused = true)]
    async fn a_drained_scope_waits_for_its_connections_then_closes_those_left() {
        let scope = ConnectionScope::default();
        // One connection that closes when asked, one stuck on a slow upstream.
        let drain = scope.drain.clone();
        spawn_guarded(async move { drain.wait().await }, scope.open.open());
        let (tx, stuck_ended) = tokio::sync::oneshot::channel::<()>();
        spawn_guarded(
            async move {
                let _tx = tx;
                tokio::time::sleep(Duration::from_secs(60)).await;
            },
            scope.open.open(),
        );
        tokio::task::yield_now().await;
        assert_eq!(scope.open_connections(), 2);

        let start = Instant::now();
        let forced = scope.drain_within(Duration::from_secs(5)).await;
        assert_eq!(forced, 1, "the stuck one is closed forcibly");
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(5), "{waited:?}");
        assert!(waited < Duration::from_secs(6), "{waited:?}");
        let _ = stuck_ended.await;
        tokio::task::yield_now().await;
        assert_eq!(scope.open_connections(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_retired_scope_closes_at_clean_points_and_cuts_no_idle_connection_early() {
        let scope = ConnectionScope::default();
        let idle = scope.idle.clone();
        // An idle keep-alive connection: its wait ends only when the scope drains, at the
        // deadline (its client may be sending a request on it right now).
        let (idle_tx, idle_ended) = tokio::sync::oneshot::channel::<Instant>();
        spawn_guarded(
            async move {
                idle.wait_until(Instant::now() + Duration::from_secs(3600))
                    .await;
                let _ = idle_tx.send(Instant::now());
            },
            scope.open.open(),
        );
        // A connection that closes at its next clean point (HTTP/2's GOAWAY).
        let drain = scope.drain.clone();
        let (goaway_tx, goaway_sent) = tokio::sync::oneshot::channel::<Instant>();
        spawn_guarded(
            async move {
                drain.wait_closing().await;
                let _ = goaway_tx.send(Instant::now());
            },
            scope.open.open(),
        );
        tokio::task::yield_now().await;
        let start = Instant::now();
        assert_eq!(scope.drain_within(Duration::from_secs(30)).await, 0);
        let goaway = goaway_sent.await.unwrap() - start;
        assert!(goaway < Duration::from_millis(100), "{goaway:?}");
        let idle = idle_ended.await.unwrap() - start;
        assert!(idle >= Duration::from_secs(30), "{idle:?}");
        assert!(idle < Duration::from_secs(31), "{idle:?}");
    }
}
