//! One downstream HTTP/2 connection (h2c with prior knowledge, after protocol detection,
//! or h2 negotiated by ALPN): hyper's server drives the framing, flow control, SETTINGS,
//! PING and GOAWAY, and each stream is one request through [`exchange::handle`] on this
//! worker.
//!
//! Memory per stream is bounded by the flow-control windows: a request body is only
//! acknowledged (window released) as the upstream takes it, and a response body is only
//! read from the upstream as the client's window allows.

use super::exchange;
use super::HttpProxyFilter;
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use mosn_api::stats::ListenerStats;
use mosn_net::ConnectionInfo;
use mosn_stream::LastActivity;
use mosn_stream::{boxed_body, guarded_body};
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

/// PING interval on idle-looking downstream connections; an unanswered PING closes them.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// Flow-control windows: large enough for full speed on a fast link, small enough to
/// bound what a stalled stream can make the proxy hold.
const STREAM_WINDOW: u32 = 256 * 1024;
const CONNECTION_WINDOW: u32 = 1024 * 1024;

/// Serves HTTP/2 on `io` until the client goes away, the connection idles past the
/// listener's idle timeout with no stream open, or its scope drains (GOAWAY, then the
/// open streams finish).
pub(super) async fn serve<I>(filter: Arc<HttpProxyFilter>, io: I, info: ConnectionInfo)
where
    I: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let stats = filter.stats.clone();
    stats.downstream_cx_total.inc();
    let _active = stats.downstream_cx_active.track();
    let info = Arc::new(info);
    let open_streams = Arc::new(AtomicUsize::new(0));
    let last_activity = Arc::new(LastActivity::new());
    let service = {
        let filter = filter.clone();
        let open_streams = open_streams.clone();
        let last_activity = last_activity.clone();
        service_fn(move |req: Request<Incoming>| {
            let filter = filter.clone();
            let info = info.clone();
            let stream = StreamGuard::open(&filter.stats, &open_streams, &last_activity);
            async move {
                let resp = exchange::handle(&filter, &info, req.map(boxed_body)).await;
                // The stream counts as open until its response body has been relayed.
                Ok::<_, Infallible>(resp.map(|body| guarded_body(body, stream)))
            }
        })
    };
    let mut builder = http2::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_concurrent_streams(filter.h2.max_concurrent_streams)
        .max_header_list_size(filter.h2.max_header_list_size)
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .enable_connect_protocol();
    let conn = builder.serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    let drain = filter.scope.drain.clone();
    let idle_timeout = filter.idle_timeout;
    let mut shutting_down = false;
    loop {
        let idle_at = last_activity.get() + idle_timeout;
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "downstream HTTP/2 connection ended with an error");
                }
                return;
            }
            () = drain.wait_closing(), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(idle_at), if !shutting_down => {
                if open_streams.load(Relaxed) == 0 && last_activity.get() + idle_timeout <= Instant::now() {
                    shutting_down = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// One request stream as the connection and the listener's stats see it: open (and
/// active) from its headers until its response has been relayed; activity is marked when
/// it opens and when it ends.
struct StreamGuard {
    stats: Arc<ListenerStats>,
    open: Arc<AtomicUsize>,
    last_activity: Arc<LastActivity>,
}

impl StreamGuard {
    fn open(
        stats: &Arc<ListenerStats>,
        open: &Arc<AtomicUsize>,
        last_activity: &Arc<LastActivity>,
    ) -> Self {
        stats.downstream_rq_total.inc();
        stats.downstream_rq_active.inc();
        open.fetch_add(1, Relaxed);
        last_activity.touch();
        Self {
            stats: stats.clone(),
            open: open.clone(),
            last_activity: last_activity.clone(),
        }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.stats.downstream_rq_active.dec();
        self.open.fetch_sub(1, Relaxed);
        self.last_activity.touch();
    }
}
