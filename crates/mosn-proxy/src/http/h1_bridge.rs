//! HTTP/1.1 clients of an HTTP/2 upstream (MOSN's `httpTohttp2`) or of a Bolt one (the
//! `transcoder`): the request head becomes
//! an `http::Request` whose body the connection feeds through a channel while the
//! protocol-neutral [`exchange`] forwards it, and the response is written back with
//! HTTP/1.1 framing (chunked with trailers when the length is unknown).

use super::connection::{Flow, Http1Connection};
use super::exchange::{self, Target};
use super::grpc;
use super::h1_body::{send_body, SendError};
use crate::state::ProxyState;
use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT};
use http::{HeaderValue, Method, Request, Response, StatusCode, Version};
use hyper::body::Frame;
use mosn_config::{ForwardAction, Protocol};
use mosn_protocol::http1::{
    encode_response_head, BodyDecoder, BodyEvent, BodyKind, RequestHead, ResponseHead,
};
use mosn_router::Matched;
use mosn_stream::{channel_body, empty_body, BodySender, ProxyBody};

/// Frames buffered between the connection and the upstream stream; the rest waits in
/// the socket, so a fast client cannot make the proxy hold its whole body.
const BODY_CHANNEL_FRAMES: usize = 4;

/// A request read from an HTTP/1.1 client, to be sent upstream as HTTP/2.
pub(super) struct Converted {
    /// The request head (hop-by-hop fields already removed).
    pub(super) head: RequestHead,
    /// How its body is framed on the client connection.
    pub(super) body: BodyKind,
    /// Whether the client connection may serve another request afterwards.
    pub(super) keep_alive: bool,
}

impl Converted {
    /// Forwards the request and relays the response; returns whether the connection
    /// stays open.
    pub(super) async fn forward(
        self,
        conn: &mut Http1Connection,
        state: &ProxyState,
        matched: &Matched<'_>,
        action: &ForwardAction,
    ) -> Flow {
        let Converted {
            mut head,
            body: body_kind,
            keep_alive,
        } = self;
        let expects_continue = head.headers.remove(EXPECT).is_some();
        let client_version = head.version;
        let method = head.method.clone();
        let (sender, body) = if matches!(body_kind, BodyKind::Empty) {
            (None, empty_body())
        } else {
            let (tx, body) = channel_body(BODY_CHANNEL_FRAMES);
            (Some(tx), body)
        };
        let mut req = Request::new(body);
        *req.method_mut() = head.method;
        *req.uri_mut() = std::str::from_utf8(&head.target)
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| http::Uri::from_static("/"));
        *req.headers_mut() = head.headers;
        let target = Target {
            state,
            matched,
            action,
            upstream: conn.filter.upstream_for(Protocol::Http1, action, state),
            grpc: grpc::is_grpc(req.headers()),
        };
        let filter = conn.filter.clone();
        let info = conn.info.clone();
        let exchange = exchange::forward(&filter, &info, &target, req);
        let mut exchange = std::pin::pin!(exchange);

        // Feed the body while the upstream works; its answer may come before the end.
        let mut body_read = sender.is_none();
        let mut response = None;
        if let Some(tx) = sender {
            if expects_continue {
                conn.wbuf
                    .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                if conn.flush().await.is_err() {
                    return Flow::Close;
                }
            }
            let feed = feed_body(conn, body_kind, tx);
            let mut feed = std::pin::pin!(feed);
            tokio::select! {
                resp = exchange.as_mut() => response = Some(resp),
                fed = feed.as_mut() => body_read = fed,
            }
            if response.is_none() && !body_read {
                // The client broke off its body; the exchange sees the aborted stream.
                return Flow::Close;
            }
        }
        let response = match response {
            Some(r) => r,
            None => exchange.await,
        };
        let keep_alive = keep_alive && body_read;
        write_response(conn, response, &method, client_version, keep_alive).await
    }
}

/// Reads the request body off the client connection into the channel; true once it was
/// read to its end.
async fn feed_body(conn: &mut Http1Connection, kind: BodyKind, tx: BodySender) -> bool {
    let mut decoder = BodyDecoder::new(kind);
    loop {
        match decoder.decode(&mut conn.rbuf) {
            Ok(Some(BodyEvent::Data(data))) => {
                if tx.send(Ok(Frame::data(data))).await.is_err() {
                    return false;
                }
            }
            Ok(Some(BodyEvent::Trailers(t))) => {
                if tx.send(Ok(Frame::trailers(t))).await.is_err() {
                    return false;
                }
            }
            Ok(Some(BodyEvent::End)) => return true,
            Ok(None) => {
                let idle = conn.filter.idle_timeout;
                match tokio::time::timeout(idle, conn.fill()).await {
                    Ok(Ok(n)) if n > 0 => {}
                    _ => {
                        let _ = tx
                            .send(Err("client closed inside the request body".into()))
                            .await;
                        return false;
                    }
                }
            }
            Err(_) => {
                conn.filter.stats.downstream_rq_protocol_error.inc();
                let _ = tx.send(Err("malformed request body".into())).await;
                return false;
            }
        }
    }
}

/// Writes an upstream (or local) response to the HTTP/1.1 client.
pub(super) async fn write_response(
    conn: &mut Http1Connection,
    response: Response<ProxyBody>,
    method: &Method,
    client_version: Version,
    mut keep_alive: bool,
) -> Flow {
    let (parts, mut body) = response.into_parts();
    let status = parts.status;
    let mut headers = parts.headers;
    let bodiless = *method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let kind = if bodiless {
        BodyKind::Empty
    } else {
        match super::h1_body::body_kind_of(&headers, &body) {
            BodyKind::Chunked if client_version == Version::HTTP_11 => BodyKind::Chunked,
            BodyKind::Chunked => {
                keep_alive = false;
                BodyKind::CloseDelimited
            }
            k => k,
        }
    };
    if matches!(kind, BodyKind::Chunked | BodyKind::CloseDelimited) {
        headers.remove(CONTENT_LENGTH);
    }
    if !keep_alive {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    } else if client_version != Version::HTTP_11 {
        headers.insert(CONNECTION, HeaderValue::from_static("keep-alive"));
    }
    let head = ResponseHead {
        version: Version::HTTP_11,
        status,
        reason: Bytes::from_static(status.canonical_reason().unwrap_or("").as_bytes()),
        headers,
    };
    encode_response_head(&head, &kind, &mut conn.wbuf);
    let sent = send_body(&mut conn.io, &mut conn.wbuf, &mut body, kind).await;
    conn.wbuf.clear();
    match sent {
        Ok(n) => {
            conn.filter.stats.downstream_cx_tx_bytes_total.add(n);
            if keep_alive {
                Flow::KeepAlive
            } else {
                Flow::Close
            }
        }
        Err(SendError::Write | SendError::Body) => Flow::Close,
    }
}
