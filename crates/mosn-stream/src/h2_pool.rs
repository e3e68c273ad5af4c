//! The per-worker pool of multiplexed HTTP/2 upstream connections, keyed by [`PoolKey`]
//! (address and TLS identity, as the HTTP/1 pool), so a stream never rides a connection
//! made under another cluster's SNI or client certificate.
//!
//! Each key gets as few connections as its load needs: a request takes a stream on the
//! first live connection with a free stream (below both the peer's
//! `SETTINGS_MAX_CONCURRENT_STREAMS` and our own cap) and a new connection is opened only
//! when every one is full. A connection leaves the pool when it closes or receives GOAWAY
//! (hyper stops accepting requests on it), or when its host leaves the cluster.

use crate::body::ProxyBody;
use crate::key::PoolKey;
use crate::pool::UpstreamConn;
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use mosn_api::FastMap;
use mosn_upstream::Host;
use parking_lot::Mutex;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Streams one connection carries at most, even when the peer allows more: spreading a
/// busy host over several connections keeps one slow stream's flow-control window from
/// stalling everything.
pub const MAX_STREAMS_PER_CONNECTION: usize = 100;

/// PING interval on upstream connections; an unanswered PING closes the connection.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// The sender of a connection, `None` while its handshake is under way; the opening
/// request drops the watch sender without a value when the connect or handshake fails.
type SenderWatch = watch::Receiver<Option<SendRequest<ProxyBody>>>;

struct H2Conn {
    sender: SenderWatch,
    in_flight: Arc<AtomicUsize>,
    /// The peer's `SETTINGS_MAX_CONCURRENT_STREAMS`, refreshed by the connection's task.
    peer_max_streams: Arc<AtomicUsize>,
    /// Set when a request learned the connection takes no new streams (GOAWAY).
    retired: Arc<AtomicBool>,
    host: Arc<Host>,
}

impl H2Conn {
    fn usable(&self) -> bool {
        if self.host.is_removed() || self.retired.load(Relaxed) {
            return false;
        }
        match &*self.sender.borrow() {
            Some(sender) => !sender.is_closed(),
            // Still connecting unless the opener gave up.
            None => self.sender.has_changed().is_ok(),
        }
    }

    fn has_free_stream(&self) -> bool {
        let cap = self
            .peer_max_streams
            .load(Relaxed)
            .min(MAX_STREAMS_PER_CONNECTION);
        self.in_flight.load(Relaxed) < cap
    }
}

/// One request's claim on a stream of a pooled connection; dropping it frees the slot.
/// Requests that find no connection with room get a claim on a new one that they must
/// open themselves ([`H2Pool::open`]); requests arriving meanwhile wait for that
/// handshake instead of opening connections of their own.
pub struct H2Stream {
    sender: SenderWatch,
    opener: Option<watch::Sender<Option<SendRequest<ProxyBody>>>>,
    slot: StreamSlot,
    retired: Arc<AtomicBool>,
}

impl H2Stream {
    /// Takes the connection out of rotation: the upstream refused new streams on it
    /// (GOAWAY). Streams already open on it finish; the connection closes after them.
    pub fn retire_connection(&self) {
        self.retired.store(true, Relaxed);
    }

    /// True when this request must open the connection ([`H2Pool::open`]).
    pub fn must_open(&self) -> bool {
        self.opener.is_some()
    }

    /// The connection's sender once its handshake is done; `None` if it failed.
    pub async fn ready(&mut self) -> Option<SendRequest<ProxyBody>> {
        loop {
            if let Some(sender) = self.sender.borrow_and_update().clone() {
                return Some(sender);
            }
            self.sender.changed().await.ok()?;
        }
    }

    /// The slot, to be kept alive with the response body.
    pub fn into_slot(self) -> StreamSlot {
        self.slot
    }
}

/// A taken stream slot on a pooled connection.
pub struct StreamSlot(Arc<AtomicUsize>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        // Never below zero: every slot was counted by `take_slot`.
        self.0.fetch_sub(1, Relaxed);
    }
}

fn take_slot(in_flight: &Arc<AtomicUsize>) -> StreamSlot {
    in_flight.fetch_add(1, Relaxed);
    StreamSlot(in_flight.clone())
}

/// The HTTP/2 connections of one worker, by address and TLS identity.
#[derive(Default)]
pub struct H2Pool {
    conns: Mutex<FastMap<PoolKey, Vec<H2Conn>>>,
}

impl std::fmt::Debug for H2Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H2Pool")
            .field("connections", &self.connection_count())
            .finish()
    }
}

impl H2Pool {
    /// A stream on a connection under `key` (`PoolKey::new(cluster, host)`) with room for
    /// one more (open or opening), or a claim on a new connection to `host` that the
    /// caller must open.
    pub fn checkout(&self, key: &PoolKey, host: &Arc<Host>) -> H2Stream {
        let mut conns = self.conns.lock();
        let list = conns.entry(key.clone()).or_default();
        list.retain(H2Conn::usable);
        if let Some(conn) = list.iter().find(|c| c.has_free_stream()) {
            return H2Stream {
                sender: conn.sender.clone(),
                opener: None,
                slot: take_slot(&conn.in_flight),
                retired: conn.retired.clone(),
            };
        }
        let (tx, rx) = watch::channel(None);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let retired = Arc::new(AtomicBool::new(false));
        let stream = H2Stream {
            sender: rx.clone(),
            opener: Some(tx),
            slot: take_slot(&in_flight),
            retired: retired.clone(),
        };
        list.push(H2Conn {
            sender: rx,
            in_flight,
            // Until the peer's SETTINGS arrive, assume the RFC's recommended minimum.
            peer_max_streams: Arc::new(AtomicUsize::new(MAX_STREAMS_PER_CONNECTION)),
            retired,
            host: host.clone(),
        });
        stream
    }

    /// Runs the HTTP/2 handshake on `conn` for the connection `stream` claimed (see
    /// [`H2Stream::must_open`]) and hands its sender to every request waiting on it. The
    /// connection is driven by its own task on this worker until it closes; the
    /// cluster's connection counters fall then. Dropping `stream` without calling this
    /// (a failed connect) fails the waiting requests so they try again.
    pub async fn open(
        &self,
        stream: &mut H2Stream,
        conn: UpstreamConn,
    ) -> Result<SendRequest<ProxyBody>, hyper::Error> {
        let (socket, counted) = conn.into_parts();
        let (sender, connection) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .keep_alive_interval(KEEPALIVE_INTERVAL)
            .keep_alive_timeout(KEEPALIVE_TIMEOUT)
            .handshake(TokioIo::new(socket))
            .await?;
        let peer_max = self.peer_max_cell(&stream.sender);
        if let Some(cell) = &peer_max {
            cell.store(connection.current_max_send_streams(), Relaxed);
        }
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let ended = std::future::poll_fn(|cx| {
                if let Some(cell) = &peer_max {
                    cell.store(connection.current_max_send_streams(), Relaxed);
                }
                connection.as_mut().poll(cx)
            })
            .await;
            if let Err(e) = ended {
                tracing::debug!(error = %e, "upstream HTTP/2 connection ended with an error");
            }
            drop(counted);
        });
        if let Some(tx) = stream.opener.take() {
            let _ = tx.send(Some(sender.clone()));
        }
        Ok(sender)
    }

    fn peer_max_cell(&self, watch: &SenderWatch) -> Option<Arc<AtomicUsize>> {
        self.conns
            .lock()
            .values()
            .flatten()
            .find(|c| c.sender.same_channel(watch))
            .map(|c| c.peer_max_streams.clone())
    }

    /// Forgets connections that closed, failed to open or whose host left; called
    /// periodically by the worker. Dropping the last sender lets an idle connection close.
    pub fn evict_closed(&self) {
        self.conns.lock().retain(|_, list| {
            list.retain(H2Conn::usable);
            !list.is_empty()
        });
    }

    /// Number of connections held (open or opening), for tests and stats.
    pub fn connection_count(&self) -> usize {
        self.conns.lock().values().map(Vec::len).sum()
    }
}
