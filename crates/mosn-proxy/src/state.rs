//! What the proxy filters read: the shared config snapshot and per-worker context.

use crate::idle_clock::IdleClock;
use arc_swap::ArcSwap;
use bytes::BytesMut;
use mosn_protocol::xprotocol::DEFAULT_MAX_FRAME;
use mosn_router::RouteTable;
use mosn_stream::{ConnPool, H2Pool, MuxPool, MuxSettings, DEFAULT_HEARTBEAT_INTERVAL};
use mosn_upstream::ClusterManager;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use tokio::sync::{watch, Notify};

/// Routes and clusters of one config version; built off the hot path, swapped in whole.
#[derive(Debug, Default)]
pub struct ProxyState {
    /// Route tables by `router_config_name`.
    pub routers: HashMap<String, Arc<RouteTable>>,
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

/// One worker's view of [`Drain`]: every idle connection of the worker waits on it, so
/// its wait is a bare `Notify` registration (64 B) rather than a `watch` receiver's
/// (~180 B with its clone). The worker starts it when the process-wide [`Drain`] fires.
#[derive(Debug, Clone, Default)]
pub struct WorkerDrain(Arc<WorkerDrainState>);

#[derive(Debug, Default)]
struct WorkerDrainState {
    draining: AtomicBool,
    notify: Notify,
}

impl WorkerDrain {
    /// Marks the worker as draining and wakes every connection waiting.
    pub fn start(&self) {
        self.0.draining.store(true, Relaxed);
        self.0.notify.notify_waiters();
    }

    /// True once draining has started.
    pub fn is_draining(&self) -> bool {
        self.0.draining.load(Relaxed)
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

/// One worker's own things: its upstream pools, its spare read buffers and the drain
/// signal.
#[derive(Debug)]
pub struct WorkerContext {
    /// Idle HTTP/1 upstream connections of this worker.
    pub pool: ConnPool,
    /// Multiplexed HTTP/2 upstream connections of this worker.
    pub h2_pool: H2Pool,
    /// Multiplexed RPC connections of this worker, one per host and protocol.
    pub mux: MuxPool,
    /// Shutdown signal.
    pub drain: WorkerDrain,
    /// Idle deadlines of this worker's keep-alive connections (ended by `drain` too).
    pub idle: IdleClock,
    /// Large read buffers returned by finished requests, reused by the next ones so that
    /// a request does not allocate (and the allocator does not trim) one each time.
    spare_buffers: Mutex<Vec<BytesMut>>,
}

/// Spare buffers kept per worker; more concurrent requests allocate their own.
const MAX_SPARE_BUFFERS: usize = 32;

/// Buffers larger than this (grown by an unusual message) are freed, not kept.
const MAX_SPARE_CAPACITY: usize = 128 * 1024;

impl Default for WorkerContext {
    /// A context with empty pools, no spare buffers, not draining.
    fn default() -> Self {
        let drain = WorkerDrain::default();
        Self {
            pool: ConnPool::default(),
            h2_pool: H2Pool::default(),
            mux: MuxPool::new(MuxSettings {
                heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
                max_frame: DEFAULT_MAX_FRAME,
            }),
            idle: IdleClock::new(drain.clone()),
            drain,
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
