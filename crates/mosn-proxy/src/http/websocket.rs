//! WebSocket through the proxy, from HTTP/1.1 clients (`Upgrade: websocket`) and from
//! HTTP/2 clients (RFC 8441 extended CONNECT with `:protocol websocket`), to HTTP/1.1
//! upstreams. The upgrade request is routed like any other and sent on a fresh upstream
//! connection; once the upstream answers `101 Switching Protocols` the client's connection
//! (or HTTP/2 stream) and the upstream connection are relayed byte for byte until either
//! side closes or nothing moves for the listener's idle timeout. An upstream that refuses
//! the upgrade has its answer relayed as a normal response.

use super::attempt::{
    before_retry, choose_other_host, connect, connect_error_kind, count_failure, outcome_of,
    AttemptError,
};
use super::connection::{Flow, Http1Connection};
use super::exchange::{self, Target};
use super::retry::{route_policy, Failure, RetryState};
use super::upstream_h1::{self, read_head, Upgrade};
use super::{h1_bridge, HttpProxyFilter, DEFAULT_ROUTE_TIMEOUT};
use crate::relay::relay;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{request, HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version};
use hyper_util::rt::TokioIo;
use mosn_api::error::ProxyErrorKind;
use mosn_protocol::http1::{
    encode_request_head, encode_response_head, BodyKind, RequestHead, ResponseHead,
};
use mosn_router::pick_cluster;
use mosn_stream::{empty_body, ProxyBody, UpstreamConn};
use mosn_upstream::{Cluster, LbContext, Outcome};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

/// Read size for the upstream's answer to the upgrade request.
const HEAD_BUF: usize = 16 * 1024;

/// True when an HTTP/1.1 request asks to upgrade to WebSocket.
pub(super) fn is_websocket(upgrade: &str) -> bool {
    upgrade.eq_ignore_ascii_case("websocket")
}

/// True when an HTTP/2 request is an RFC 8441 WebSocket extended CONNECT.
pub(super) fn is_extended_connect<B>(req: &Request<B>) -> bool {
    req.method() == Method::CONNECT
        && req
            .extensions()
            .get::<hyper::ext::Protocol>()
            .is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket"))
}

/// What the upstream made of the upgrade request.
enum Upgraded {
    /// It switched protocols: its 101 head (already through the route's edits), the
    /// connection, and bytes it sent after the head.
    Switched {
        head: Response<()>,
        conn: UpstreamConn,
        leftover: BytesMut,
    },
    /// It answered otherwise (or the proxy failed the request): relay this.
    Answered(Response<ProxyBody>),
    /// The proxy failed the request before any answer.
    Failed(ProxyErrorKind),
}

/// Routes an HTTP/1.1 upgrade request and relays the connection once the upstream
/// switched; the client connection always closes afterwards.
pub(super) async fn tunnel_h1(
    conn: &mut Http1Connection,
    target: &Target<'_>,
    head: RequestHead,
) -> Flow {
    let filter = conn.filter.clone();
    let method = head.method.clone();
    let mut req = Request::new(());
    *req.method_mut() = head.method;
    *req.uri_mut() = std::str::from_utf8(&head.target)
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| http::Uri::from_static("/"));
    *req.headers_mut() = head.headers;
    let (mut parts, ()) = req.into_parts();
    exchange::prepare_request(&mut parts, &conn.info, target, filter.envoy_headers);
    // Bytes the client sent after its request head belong to the new protocol.
    let early = conn.rbuf.split().freeze();
    let info = conn.info.clone();
    match upgrade_upstream(&filter, &info, target, parts, early).await {
        Upgraded::Failed(kind) => conn.reply_error(kind, true).await,
        Upgraded::Answered(resp) => {
            h1_bridge::write_response(conn, resp, &method, Version::HTTP_11, false).await
        }
        Upgraded::Switched {
            head: switched,
            conn: mut upstream,
            leftover,
        } => {
            let (parts, ()) = switched.into_parts();
            let mut headers = parts.headers;
            headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
            headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
            let head = ResponseHead {
                version: Version::HTTP_11,
                status: StatusCode::SWITCHING_PROTOCOLS,
                reason: Bytes::from_static(b"Switching Protocols"),
                headers,
            };
            conn.wbuf.clear();
            encode_response_head(&head, &BodyKind::Empty, &mut conn.wbuf);
            conn.wbuf.extend_from_slice(&leftover);
            if conn.flush().await.is_ok() {
                let cluster_stats = upstream.stats().clone();
                let idle = Some(filter.idle_timeout);
                relay(
                    &mut conn.io,
                    &mut upstream.socket,
                    idle,
                    &filter.stats,
                    &cluster_stats,
                )
                .await;
            }
            Flow::Close
        }
    }
}

/// Routes an RFC 8441 extended CONNECT from an HTTP/2 client to an HTTP/1.1 upstream as
/// a WebSocket upgrade; on success answers 200 and relays the stream in a task of its own.
pub(super) async fn tunnel_h2(
    filter: &Arc<HttpProxyFilter>,
    info: &mosn_net::ConnectionInfo,
    target: &Target<'_>,
    mut req: Request<ProxyBody>,
) -> Response<ProxyBody> {
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (mut parts, _) = req.into_parts();
    parts.method = Method::GET;
    parts.version = Version::HTTP_11;
    exchange::prepare_request(&mut parts, info, target, filter.envoy_headers);
    // HTTP/1.1's handshake needs a key; HTTP/2's has none (RFC 8441 §5).
    let key: [u8; 16] = fastrand::u128(..).to_be_bytes();
    let key = base64::engine::general_purpose::STANDARD.encode(key);
    if let Ok(v) = HeaderValue::from_str(&key) {
        parts.headers.insert(SEC_WEBSOCKET_KEY, v);
    }
    if !parts.headers.contains_key(SEC_WEBSOCKET_VERSION) {
        parts
            .headers
            .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
    }
    match upgrade_upstream(filter, info, target, parts, Bytes::new()).await {
        Upgraded::Failed(kind) => exchange::error_reply(filter, kind, false),
        Upgraded::Answered(resp) => resp,
        Upgraded::Switched {
            head,
            mut conn,
            leftover,
        } => {
            let (mut parts, ()) = head.into_parts();
            parts.headers.remove(SEC_WEBSOCKET_ACCEPT);
            parts.headers.remove(CONNECTION);
            parts.headers.remove(UPGRADE);
            let filter = filter.clone();
            tokio::spawn(async move {
                let Ok(upgraded) = on_upgrade.await else {
                    return;
                };
                let mut client = TokioIo::new(upgraded);
                if !leftover.is_empty() && client.write_all(&leftover).await.is_err() {
                    return;
                }
                let cluster_stats = conn.stats().clone();
                let idle = Some(filter.idle_timeout);
                relay(
                    &mut client,
                    &mut conn.socket,
                    idle,
                    &filter.stats,
                    &cluster_stats,
                )
                .await;
            });
            let mut resp = Response::new(empty_body());
            *resp.headers_mut() = parts.headers;
            resp
        }
    }
}

/// Picks a host (retrying connect failures only: once the upgrade request is out, it
/// stays out), sends the upgrade request with `early` bytes after it, and reads the
/// upstream's answer.
async fn upgrade_upstream(
    filter: &Arc<HttpProxyFilter>,
    info: &mosn_net::ConnectionInfo,
    target: &Target<'_>,
    mut parts: request::Parts,
    early: Bytes,
) -> Upgraded {
    let Some(cluster) = target.state.clusters.get(pick_cluster(target.action)) else {
        return Upgraded::Failed(ProxyErrorKind::NoCluster);
    };
    parts
        .headers
        .insert(CONNECTION, HeaderValue::from_static("upgrade"));
    parts
        .headers
        .insert(UPGRADE, HeaderValue::from_static("websocket"));
    let stats = &cluster.stats;
    let Some(_request_slot) = cluster.circuit_breakers.requests.try_acquire() else {
        stats.upstream_rq_pending_overflow.inc();
        return Upgraded::Failed(ProxyErrorKind::Overflow);
    };
    stats.upstream_rq_total.inc();
    let lb_ctx = LbContext {
        downstream_addr: info.remote,
        hash_key: None,
        original_dst: crate::original_dst::destination(cluster, Some(&parts.headers), info),
    };
    let (host, mut upstream) = match connect_with_retries(filter, cluster, target, &lb_ctx).await {
        Ok(pair) => pair,
        Err(kind) => return Upgraded::Failed(kind),
    };
    let _host_active = host.track_request();

    let path = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let request_head = RequestHead {
        method: parts.method.clone(),
        target: Bytes::copy_from_slice(path.as_bytes()),
        version: Version::HTTP_11,
        headers: parts.headers,
    };
    let mut out = BytesMut::with_capacity(1024);
    encode_request_head(&request_head, &BodyKind::Empty, &mut out);
    out.extend_from_slice(&early);
    stats.upstream_cx_tx_bytes_total.add(out.len() as u64);
    if upstream.socket.write_all(&out).await.is_err() {
        cluster.report_outcome(&host, Outcome::Reset);
        count_failure(cluster, ProxyErrorKind::UpstreamReset);
        return Upgraded::Failed(ProxyErrorKind::UpstreamReset);
    }

    let timeout = target.action.timeout.unwrap_or(DEFAULT_ROUTE_TIMEOUT);
    let deadline = Instant::now() + timeout;
    let mut buf = filter.worker.take_buffer(HEAD_BUF);
    let mut seen_any = false;
    let resp = loop {
        let read = read_head(
            &mut upstream,
            &mut buf,
            deadline,
            stats,
            &mut seen_any,
            Upgrade::Accept,
        );
        match read.await {
            Ok(head) if head.status.is_informational() && head.status != 101 => continue,
            Ok(head) => break head,
            Err(
                AttemptError::Retryable(kind)
                | AttemptError::Refused(kind)
                | AttemptError::Fatal(kind),
            ) => {
                cluster.report_outcome(&host, outcome_of(kind));
                count_failure(cluster, kind);
                return Upgraded::Failed(kind);
            }
            Err(AttemptError::Downstream) => return Upgraded::Failed(ProxyErrorKind::BadRequest),
        }
    };
    let status = resp.status.as_u16();
    stats.count_response(status);
    cluster.report_outcome(&host, Outcome::Status(status));
    if status != 101 {
        return match upstream_h1::response_from(
            &filter.worker,
            cluster,
            upstream,
            buf,
            &request_head.method,
            resp,
            timeout,
        ) {
            Ok(r) => Upgraded::Answered(exchange::finish_response(filter, target, r)),
            Err(_) => Upgraded::Failed(ProxyErrorKind::UpstreamProtocolError),
        };
    }
    let mut switched = Response::new(empty_body());
    *switched.status_mut() = resp.status;
    *switched.headers_mut() = strip_connection_fields(resp.headers);
    let (parts, _) = exchange::finish_response(filter, target, switched).into_parts();
    Upgraded::Switched {
        head: Response::from_parts(parts, ()),
        conn: upstream,
        leftover: buf,
    }
}

/// Opens a fresh connection to a host of `cluster`, retrying connect failures on other
/// hosts as the route's retry policy allows.
async fn connect_with_retries(
    filter: &HttpProxyFilter,
    cluster: &Cluster,
    target: &Target<'_>,
    lb_ctx: &LbContext,
) -> Result<(Arc<mosn_upstream::Host>, UpstreamConn), ProxyErrorKind> {
    let policy = route_policy(target.action);
    let mut retry = RetryState::new(policy);
    let mut retry_slot = None;
    let mut previous = None;
    let mut attempt = 0;
    loop {
        let Some(host) = choose_other_host(
            cluster,
            lb_ctx,
            &target.action.metadata_match,
            attempt,
            previous.as_ref(),
            policy.host_reselect_attempts,
        ) else {
            return Err(ProxyErrorKind::NoHealthyUpstream);
        };
        match connect(&filter.worker, cluster, &host).await {
            Ok(c) => return Ok((host, c)),
            Err(None) => return Err(ProxyErrorKind::Overflow),
            Err(Some(e)) => {
                cluster.report_outcome(&host, Outcome::ConnectFailure);
                if retry.should_retry(Failure::Connect)
                    && before_retry(cluster, &retry, &mut retry_slot).await
                {
                    previous = Some(host);
                    attempt += 1;
                    continue;
                }
                return Err(connect_error_kind(&e));
            }
        }
    }
}

/// The 101's fields without `Connection`/`Upgrade` (each side's codec sets its own).
fn strip_connection_fields(mut headers: HeaderMap) -> HeaderMap {
    headers.remove(CONNECTION);
    headers.remove(UPGRADE);
    headers
}
