//! One downstream HTTP/1.1 connection: the request loop, reading heads with their
//! timeouts and limits, and dispatching each request to its route's action.

use super::exchange::{Target, Upstream};
use super::forward::Forward;
use super::local_reply::{self, LocalReply};
use super::retry::{route_policy, RetryState};
use super::HttpProxyFilter;
use super::{h1_bridge, parked, websocket};
use crate::{IdleClock, IdleWait};
use bytes::BytesMut;
use mosn_api::error::ProxyErrorKind;
use mosn_config::{Protocol, RouteAction};
use mosn_net::{ConnectionGuard, ConnectionInfo, Socket};
use mosn_protocol::http1::{
    parse_request_head, request_body_kind, strip_hop_by_hop, wants_keep_alive, BodyKind,
    ParseError, RequestHead,
};
use mosn_router::{apply_header_edits, Matched};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// Bytes reserved per read; the buffer is released whenever the connection goes idle.
pub(super) const READ_BUF: usize = 16 * 1024;

/// Whether the connection serves another request after this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    /// Read the next request.
    KeepAlive,
    /// Close the connection.
    Close,
}

/// The state of one downstream connection.
pub(super) struct Http1Connection {
    pub(super) filter: Arc<HttpProxyFilter>,
    pub(super) io: Socket,
    pub(super) info: ConnectionInfo,
    /// Bytes read from the client and not yet consumed (pipelined requests stay here).
    pub(super) rbuf: BytesMut,
    /// Bytes to write to the client.
    pub(super) wbuf: BytesMut,
    /// Keeps the connection counted as open for draining, parked or not, and records
    /// its task for the forced close.
    pub(super) guard: ConnectionGuard,
}

impl Http1Connection {
    /// A connection whose first bytes, `read_ahead`, were already read (by protocol
    /// detection; empty otherwise).
    pub(super) fn new(
        filter: Arc<HttpProxyFilter>,
        io: Socket,
        info: ConnectionInfo,
        read_ahead: BytesMut,
        guard: ConnectionGuard,
    ) -> Self {
        // Counted here and in `Drop` rather than by a guard in `run`'s state: every
        // byte of that state is paid by each idle connection.
        filter.stats.downstream_cx_total.inc();
        filter.stats.downstream_cx_active.inc();
        Self {
            filter,
            io,
            info,
            rbuf: read_ahead,
            wbuf: BytesMut::new(),
            guard,
        }
    }

    /// Serves requests until the client leaves, an error closes the connection, or its
    /// scope (listener generation, or the whole process) drains.
    ///
    /// Written as a function returning an `async move` block rather than an `async fn`:
    /// an `async fn` keeps its by-value argument twice in its state (the argument and
    /// the local it is moved into), and this state is what every idle keep-alive
    /// connection costs.
    #[allow(clippy::manual_async_fn)] // deliberately not an `async fn`: see above
    pub(super) fn run(mut self) -> impl std::future::Future<Output = ()> {
        async move {
            loop {
                if self.rbuf.is_empty() {
                    let now = Instant::now();
                    let idle_deadline = now + self.filter.idle_timeout;
                    if !self.next_request_starts(now, idle_deadline).await {
                        if self.filter.scope.idle.passed(idle_deadline) {
                            break; // idle timeout, or draining
                        }
                        parked::park(self, idle_deadline);
                        return;
                    }
                }
                // Boxed: a request's state (reading its head under the header timeout,
                // routing, the upstream exchange) lives on the heap only while it is in
                // flight, so an idle keep-alive connection stays small.
                if Box::pin(self.exchange()).await == Flow::Close {
                    break;
                }
                // Nothing buffered: give the buffers back while the connection idles.
                let worker = &self.filter.worker;
                if self.rbuf.is_empty() {
                    worker.return_buffer(std::mem::take(&mut self.rbuf));
                }
                worker.return_buffer(std::mem::take(&mut self.wbuf));
            }
            let _ = Box::pin(self.io.shutdown()).await;
        }
    }

    /// Waits for the client to send something, holding only the socket's readiness and
    /// a slot of its scope's idle clock; false when `idle_deadline` or the time to park
    /// ([`parked::PARK_AFTER`], or the next slot when the runtime is [`parked::crowded`])
    /// comes first, or the process drains.
    fn next_request_starts(&mut self, now: Instant, idle_deadline: Instant) -> NextRequest<'_> {
        NextRequest {
            idle: IdleWait::Done,
            armed: false,
            clock: &self.filter.scope.idle,
            until: idle_deadline.min(now + parked::PARK_AFTER),
            io: &mut self.io,
        }
    }

    /// Closes a connection whose idle time is up (see [`parked`]).
    pub(super) async fn close(mut self) {
        let _ = self.io.shutdown().await;
    }

    /// Reads one request head and serves the request.
    async fn exchange(&mut self) -> Flow {
        let stats = self.filter.stats.clone();
        let head = match self.read_request_head().await {
            Ok(Some(head)) => head,
            Ok(None) => return Flow::Close,
            Err(kind) => {
                match kind {
                    ProxyErrorKind::RequestHeaderTimeout => {
                        stats.downstream_rq_header_timeout.inc()
                    }
                    _ => stats.downstream_rq_protocol_error.inc(),
                }
                self.reply_error(kind, true).await;
                return Flow::Close;
            }
        };
        stats.downstream_rq_total.inc();
        let _rq = stats.downstream_rq_active.track();
        self.handle(head).await
    }

    /// Reads until a full request head is buffered. `Ok(None)` means the connection
    /// should close quietly (client left, idle timeout, draining between requests).
    async fn read_request_head(&mut self) -> Result<Option<RequestHead>, ProxyErrorKind> {
        let idle_deadline = Instant::now() + self.filter.idle_timeout;
        let mut header_deadline = None;
        loop {
            if !self.rbuf.is_empty() {
                match parse_request_head(&self.rbuf, &self.filter.limits) {
                    Ok(Some((head, consumed))) => {
                        let _ = self.rbuf.split_to(consumed);
                        return Ok(Some(head));
                    }
                    Ok(None) => {}
                    Err(e) => return Err(parse_error_kind(&e)),
                }
                header_deadline.get_or_insert(Instant::now() + self.filter.header_timeout);
            }
            let waiting_for_first_byte = self.rbuf.is_empty();
            let deadline = header_deadline.unwrap_or(idle_deadline);
            let drain = self.filter.scope.drain.clone();
            // Biased: the read first, so a request already there costs no drain
            // registration.
            let read = tokio::select! {
                biased;
                r = tokio::time::timeout_at(deadline, self.fill()) => r,
                () = drain.wait(), if waiting_for_first_byte => return Ok(None),
            };
            match read {
                Err(_) if waiting_for_first_byte => return Ok(None),
                Err(_) => return Err(ProxyErrorKind::RequestHeaderTimeout),
                Ok(Ok(0)) | Ok(Err(_)) => return Ok(None),
                Ok(Ok(_)) => {}
            }
        }
    }

    /// Reads more client bytes into `rbuf`; allocates the buffer only once bytes are ready.
    pub(super) async fn fill(&mut self) -> io::Result<usize> {
        if self.rbuf.capacity() - self.rbuf.len() < 1024 {
            if self.rbuf.is_empty() {
                self.io.readable().await?;
                if self.rbuf.capacity() == 0 {
                    self.rbuf = self.filter.worker.take_buffer(READ_BUF);
                }
            }
            self.rbuf.reserve(READ_BUF);
        }
        let n = self.io.read_buf(&mut self.rbuf).await?;
        self.filter.stats.downstream_cx_rx_bytes_total.add(n as u64);
        Ok(n)
    }

    /// Writes `wbuf` to the client and clears it.
    pub(super) async fn flush(&mut self) -> io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let r = self.io.write_all(&self.wbuf).await;
        self.filter
            .stats
            .downstream_cx_tx_bytes_total
            .add(self.wbuf.len() as u64);
        self.wbuf.clear();
        r
    }

    /// Writes `wbuf` then `tail` to the client with vectored writes (no copy of `tail`),
    /// and clears `wbuf`.
    pub(super) async fn flush_with(&mut self, tail: &[u8]) -> io::Result<()> {
        let total = self.wbuf.len() + tail.len();
        let r = write_all_two(&mut self.io, &self.wbuf, tail).await;
        self.filter
            .stats
            .downstream_cx_tx_bytes_total
            .add(total as u64);
        self.wbuf.clear();
        r
    }

    /// Handles one request whose head has been read.
    async fn handle(&mut self, mut head: RequestHead) -> Flow {
        let body = match request_body_kind(&head) {
            Ok(kind) => kind,
            Err(_) => {
                self.filter.stats.downstream_rq_protocol_error.inc();
                return self.reply_error(ProxyErrorKind::BadRequest, true).await;
            }
        };
        let opts = strip_hop_by_hop(&mut head.headers);
        // Unread body bytes would be taken for the next request: close after a local reply.
        let must_close_after_local_reply = !matches!(body, BodyKind::Empty);
        let keep_alive =
            wants_keep_alive(head.version, &opts) && !self.filter.scope.drain.is_closing();
        let websocket = opts.upgrade.as_deref().is_some_and(websocket::is_websocket);
        if let Some(upgrade) = opts.upgrade.as_deref() {
            // A server may ignore an h2c upgrade and answer in HTTP/1.1; WebSocket is
            // tunnelled; anything else is refused.
            if !websocket && !upgrade.eq_ignore_ascii_case("h2c") {
                let msg = format!("upgrade to {upgrade} is not supported");
                return self.reply(501, &msg, true).await;
            }
        }
        let close_local = must_close_after_local_reply || !keep_alive;
        if let Some((status, reason)) = self.run_request_filters(&mut head) {
            return self.reply(status, &reason, close_local).await;
        }

        let state = self.filter.state.load_full();
        let Some(table) = state.routers.get(&self.filter.router_name) else {
            return self.reply_error(ProxyErrorKind::NoRoute, close_local).await;
        };
        let host = head.host().unwrap_or("").to_string();
        let query = if table.uses_query() {
            head.query()
        } else {
            None
        };
        let Some(matched) = table.route_with_query(&host, head.path(), query, &head.headers) else {
            return self.reply_error(ProxyErrorKind::NoRoute, close_local).await;
        };
        match &matched.route.action {
            RouteAction::DirectResponse { status, body } => {
                let mut reply = local_reply::direct(*status, body.as_deref().unwrap_or(""));
                // The route's levels edit the replies it makes itself too, as Envoy's do.
                apply_header_edits(matched.response_edits(), &mut reply.headers);
                self.send_local(reply, close_local).await
            }
            RouteAction::Redirect(redirect) => {
                let tls = self.info.tls.is_some();
                let mut reply =
                    local_reply::redirect(redirect, &host, head.path(), head.query(), tls);
                apply_header_edits(matched.response_edits(), &mut reply.headers);
                self.send_local(reply, close_local).await
            }
            RouteAction::Forward(action) if websocket => {
                if self.filter.upstream_for(Protocol::Http1, action, &state) != Upstream::Http1 {
                    let msg = "WebSocket to an HTTP/2 or Bolt upstream is not supported";
                    return self.reply(501, msg, true).await;
                }
                let target = Target {
                    state: &state,
                    matched: &matched,
                    action,
                    upstream: Upstream::Http1,
                    grpc: false,
                };
                websocket::tunnel_h1(self, &target, head).await
            }
            // The fast path streams a request body without a copy, so it cannot send it
            // again; a route that retries after sending takes the generic path, which
            // keeps one (as Envoy's router buffers a request for its retries).
            RouteAction::Forward(action)
                if self.filter.upstream_for(Protocol::Http1, action, &state) != Upstream::Http1
                    || (!matches!(body, BodyKind::Empty)
                        && RetryState::new(route_policy(action)).retries_after_sending()) =>
            {
                let request = h1_bridge::Converted {
                    head,
                    body,
                    keep_alive,
                };
                request.forward(self, &state, &matched, action).await
            }
            RouteAction::Forward(action) => {
                Forward {
                    conn: self,
                    state: &state,
                    matched,
                    action,
                    keep_alive,
                    client_version: head.version,
                    body_done: matches!(body, BodyKind::Empty),
                }
                .run(head, body)
                .await
            }
        }
    }

    /// Runs the listener's stream filters on the request head; `Some` is a local reply.
    fn run_request_filters(&self, head: &mut RequestHead) -> Option<(u16, String)> {
        if self.filter.stream_filters.is_empty() {
            return None;
        }
        let path = head.path().to_owned();
        self.filter
            .run_request_filters(self.info.remote, &head.method, &path, &mut head.headers)
    }

    async fn send_local(&mut self, mut reply: LocalReply, close: bool) -> Flow {
        self.filter.stamp_server(&mut reply.headers);
        let status = reply.status;
        self.wbuf.clear();
        reply.encode_h1(close, &mut self.wbuf);
        self.finish_local(status, close).await
    }

    /// Sends the local reply for `kind`.
    pub(super) async fn reply_error(&mut self, kind: ProxyErrorKind, close: bool) -> Flow {
        self.filter.stats.count_error(kind);
        self.reply(self.filter.error_status(kind), kind.reason(), close)
            .await
    }

    /// Sends the local reply for `kind` to a routed request: the route's levels edit its
    /// headers, as Envoy's router does to the replies it makes.
    pub(super) async fn reply_routed_error(
        &mut self,
        kind: ProxyErrorKind,
        matched: &Matched<'_>,
        close: bool,
    ) -> Flow {
        self.filter.stats.count_error(kind);
        let mut reply = LocalReply::text(self.filter.error_status(kind), kind.reason());
        apply_header_edits(matched.response_edits(), &mut reply.headers);
        self.send_local(reply, close).await
    }

    /// Sends a plain-text local reply with a one-line body.
    pub(super) async fn reply(&mut self, status: u16, msg: &str, close: bool) -> Flow {
        if self.filter.server.is_some() {
            return self.send_local(LocalReply::text(status, msg), close).await;
        }
        self.wbuf.clear();
        mosn_protocol::http1::encode_local_reply(status, msg, close, &mut self.wbuf);
        self.finish_local(status, close).await
    }

    async fn finish_local(&mut self, status: u16, close: bool) -> Flow {
        self.filter.stats.count_response(status);
        if self.flush().await.is_err() || close {
            Flow::Close
        } else {
            Flow::KeepAlive
        }
    }
}

impl Drop for Http1Connection {
    fn drop(&mut self) {
        self.filter.stats.downstream_cx_active.dec();
    }
}

pin_project_lite::pin_project! {
    /// The wait between requests: the socket's readiness or the idle clock, whichever
    /// comes first. A named future rather than `select!` or an `async fn`, which would
    /// keep a copy of each part (and of their borrows) in the connection's idle state.
    struct NextRequest<'a> {
        // Registered on the clock only once the socket has nothing to read (`armed`):
        // a request already waiting costs no registration.
        #[pin]
        idle: IdleWait,
        armed: bool,
        clock: &'a IdleClock,
        until: Instant,
        io: &'a mut Socket,
    }
}

impl Future for NextRequest<'_> {
    /// False when the idle clock fired first.
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let mut this = self.project();
        if let Poll::Ready(ready) = this.io.poll_readable(cx) {
            return Poll::Ready(ready.is_ok());
        }
        if !*this.armed {
            if parked::crowded(this.clock) {
                *this.until = (*this.until).min(Instant::now());
            }
            this.idle.set(this.clock.wait_until(*this.until));
            *this.armed = true;
        }
        this.idle.poll(cx).map(|()| false)
    }
}

/// The local reply a request-head parse error gets.
pub(super) fn parse_error_kind(e: &ParseError) -> ProxyErrorKind {
    match e {
        ParseError::HeadTooLarge | ParseError::TooManyHeaders => ProxyErrorKind::HeadersTooLarge,
        ParseError::UnsupportedVersion => ProxyErrorKind::VersionNotSupported,
        _ => ProxyErrorKind::BadRequest,
    }
}

/// Writes `a` then `b` with as few vectored writes as the socket allows.
pub(super) async fn write_all_two<W: tokio::io::AsyncWrite + Unpin>(
    w: &mut W,
    mut a: &[u8],
    mut b: &[u8],
) -> io::Result<()> {
    while !a.is_empty() || !b.is_empty() {
        let bufs = [io::IoSlice::new(a), io::IoSlice::new(b)];
        let n = w.write_vectored(&bufs).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let from_a = n.min(a.len());
        a = &a[from_a..];
        b = &b[n - from_a..];
    }
    Ok(())
}
