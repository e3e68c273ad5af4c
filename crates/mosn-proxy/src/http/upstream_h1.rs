//! HTTP/1.1 to the upstream for requests that did not arrive as HTTP/1.1 (HTTP/2 clients
//! of an HTTP/1 cluster): the request is encoded with the HTTP/1 codec, and the response
//! comes back as a streamed body that returns the connection to the pool at its end.

use super::attempt::AttemptError;
use super::h1_body::{body_kind_of, send_body, SendError};
use crate::state::WorkerContext;
use bytes::{Bytes, BytesMut};
use http::header::{HOST, TE};
use http::{request, HeaderValue, Response, Version};
use hyper::body::{Body, Frame, SizeHint};
use mosn_api::error::ProxyErrorKind;
use mosn_api::stats::ClusterStats;
use mosn_protocol::http1::{
    encode_request_head, parse_response_head, response_body_kind, strip_hop_by_hop,
    wants_keep_alive, BodyDecoder, BodyEvent, BodyKind, Limits, RequestHead, ResponseHead,
};
use mosn_stream::{BodyError, ProxyBody, UpstreamConn};
use mosn_upstream::Cluster;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::time::{timeout_at, Instant, Sleep};

/// Read size for upstream response bytes.
const READ_CHUNK: usize = 16 * 1024;

/// How a response head read from an HTTP/1 upstream is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Upgrade {
    /// The request asked for no upgrade: a `101` is a protocol error.
    Refuse,
    /// The request asked to upgrade (WebSocket): a `101` is returned like any head.
    Accept,
}

/// Reads the next response head (interim 1xx ones included) by `deadline`; bytes after it
/// stay in `buf`. `seen_any` tells a reset before any byte (retryable) from a later one.
pub(super) async fn read_head(
    conn: &mut UpstreamConn,
    buf: &mut BytesMut,
    deadline: Instant,
    stats: &ClusterStats,
    seen_any: &mut bool,
    upgrade: Upgrade,
) -> Result<ResponseHead, AttemptError> {
    let limits = Limits::default();
    loop {
        if !buf.is_empty() {
            match parse_response_head(buf, &limits) {
                Ok(Some((head, consumed))) => {
                    let _ = buf.split_to(consumed);
                    if head.status.as_u16() == 101 && upgrade == Upgrade::Refuse {
                        // A 101 the request did not ask for is a protocol error.
                        return Err(AttemptError::Fatal(ProxyErrorKind::UpstreamProtocolError));
                    }
                    return Ok(head);
                }
                Ok(None) => {}
                Err(_) => return Err(AttemptError::Fatal(ProxyErrorKind::UpstreamProtocolError)),
            }
        }
        buf.reserve(READ_CHUNK);
        match timeout_at(deadline, conn.socket.read_buf(buf)).await {
            Err(_) => return Err(AttemptError::Fatal(ProxyErrorKind::UpstreamTimeout)),
            Ok(Ok(0)) | Ok(Err(_)) if !*seen_any => {
                return Err(AttemptError::Retryable(ProxyErrorKind::UpstreamReset))
            }
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Err(AttemptError::Fatal(ProxyErrorKind::UpstreamReset))
            }
            Ok(Ok(n)) => {
                *seen_any = true;
                stats.upstream_cx_rx_bytes_total.add(n as u64);
            }
        }
    }
}

/// Sends `parts` + `body` on `conn` and returns the response, its body streaming from the
/// connection. `deadline` bounds the wait for the response head, `read_timeout` each wait
/// for body bytes.
pub(super) async fn exchange(
    worker: &Arc<WorkerContext>,
    cluster: &Cluster,
    mut conn: UpstreamConn,
    parts: &request::Parts,
    mut body: ProxyBody,
    deadline: Instant,
    read_timeout: Duration,
) -> Result<Response<ProxyBody>, AttemptError> {
    let mut headers = parts.headers.clone();
    headers.remove(TE);
    if !headers.contains_key(HOST) {
        if let Some(v) = parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        {
            headers.insert(HOST, v);
        }
    }
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let head = RequestHead {
        method: parts.method.clone(),
        target: Bytes::copy_from_slice(target.as_bytes()),
        version: Version::HTTP_11,
        headers,
    };
    let kind = body_kind_of(&head.headers, &body);
    let mut out = BytesMut::with_capacity(1024);
    encode_request_head(&head, &kind, &mut out);
    let stats = &cluster.stats;
    match send_body(&mut conn.socket, &mut out, &mut body, kind).await {
        Ok(sent) => stats.upstream_cx_tx_bytes_total.add(sent),
        Err(SendError::Write) if matches!(kind, BodyKind::Empty) => {
            return Err(AttemptError::Retryable(ProxyErrorKind::UpstreamReset))
        }
        Err(SendError::Write) => return Err(AttemptError::Fatal(ProxyErrorKind::UpstreamReset)),
        Err(SendError::Body) => return Err(AttemptError::Downstream),
    }

    let mut buf = worker.take_buffer(READ_CHUNK);
    let mut seen_any = false;
    let resp = loop {
        let head = read_head(
            &mut conn,
            &mut buf,
            deadline,
            stats,
            &mut seen_any,
            Upgrade::Refuse,
        )
        .await?;
        // Interim answers (100 Continue) are not relayed on this path.
        if !head.status.is_informational() {
            break head;
        }
    };
    response_from(
        worker,
        cluster,
        conn,
        buf,
        &parts.method,
        resp,
        read_timeout,
    )
}

/// The response whose head `resp` was read from `conn` (with `buf` holding what followed
/// it), its body streaming from the connection and handing it back to the pool at the
/// end.
pub(super) fn response_from(
    worker: &Arc<WorkerContext>,
    cluster: &Cluster,
    conn: UpstreamConn,
    buf: BytesMut,
    method: &http::Method,
    mut resp: ResponseHead,
    read_timeout: Duration,
) -> Result<Response<ProxyBody>, AttemptError> {
    let up_kind = response_body_kind(method, &resp)
        .map_err(|_| AttemptError::Fatal(ProxyErrorKind::UpstreamProtocolError))?;
    let opts = strip_hop_by_hop(&mut resp.headers);
    let reusable =
        wants_keep_alive(resp.version, &opts) && !matches!(up_kind, BodyKind::CloseDelimited);
    let body = H1ResponseBody {
        conn: Some(conn),
        buf,
        decoder: BodyDecoder::new(up_kind),
        reusable,
        worker: worker.clone(),
        stats: cluster.stats.clone(),
        idle_timeout: cluster.idle_timeout,
        max_requests: cluster.max_request_per_conn,
        read_timeout,
        timer: Box::pin(tokio::time::sleep(read_timeout)),
    };
    let mut response = Response::new(Box::pin(body) as ProxyBody);
    *response.status_mut() = resp.status;
    *response.headers_mut() = resp.headers;
    Ok(response)
}

/// A response body read from an HTTP/1.1 upstream connection; the connection goes back to
/// the worker's pool when the body ended cleanly.
struct H1ResponseBody {
    conn: Option<UpstreamConn>,
    buf: BytesMut,
    decoder: BodyDecoder,
    reusable: bool,
    worker: Arc<WorkerContext>,
    stats: Arc<ClusterStats>,
    idle_timeout: Duration,
    max_requests: u32,
    read_timeout: Duration,
    timer: Pin<Box<Sleep>>,
}

/// Why a relayed HTTP/1 response body stopped early.
#[derive(Debug, thiserror::Error)]
enum UpstreamBodyError {
    #[error("upstream response body is malformed")]
    Malformed,
    #[error("upstream closed the connection in the response body")]
    Reset,
    #[error("upstream response body timed out")]
    Timeout,
}

impl H1ResponseBody {
    fn finish(&mut self) {
        if let Some(conn) = self.conn.take() {
            if self.reusable && self.buf.is_empty() {
                self.worker
                    .pool
                    .checkin(conn, self.idle_timeout, self.max_requests);
            }
        }
        self.worker.return_buffer(std::mem::take(&mut self.buf));
    }

    fn event_frame(&mut self, event: BodyEvent) -> Option<Result<Frame<Bytes>, BodyError>> {
        match event {
            BodyEvent::Data(data) => Some(Ok(Frame::data(data))),
            BodyEvent::Trailers(t) => Some(Ok(Frame::trailers(t))),
            BodyEvent::End => {
                self.finish();
                None
            }
        }
    }

    fn fail(&mut self, e: UpstreamBodyError) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.conn = None;
        Poll::Ready(Some(Err(e.into())))
    }
}

impl Body for H1ResponseBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        loop {
            match this.decoder.decode(&mut this.buf) {
                Ok(Some(event)) => return Poll::Ready(this.event_frame(event)),
                Ok(None) => {}
                Err(_) => return this.fail(UpstreamBodyError::Malformed),
            }
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            this.buf.reserve(READ_CHUNK);
            let read = tokio_util::io::poll_read_buf(Pin::new(&mut conn.socket), cx, &mut this.buf);
            match read {
                Poll::Pending => {
                    ready!(this.timer.as_mut().poll(cx));
                    return this.fail(UpstreamBodyError::Timeout);
                }
                Poll::Ready(Ok(0)) => {
                    this.reusable = false;
                    return match this.decoder.eof() {
                        Ok(event) => Poll::Ready(this.event_frame(event)),
                        Err(_) => this.fail(UpstreamBodyError::Reset),
                    };
                }
                Poll::Ready(Ok(n)) => {
                    this.stats.upstream_cx_rx_bytes_total.add(n as u64);
                    let next = Instant::now() + this.read_timeout;
                    this.timer.as_mut().reset(next);
                }
                Poll::Ready(Err(_)) => return this.fail(UpstreamBodyError::Reset),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.conn.is_none() && self.buf.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
