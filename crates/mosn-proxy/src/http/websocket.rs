//! WebSocket (and any HTTP/1.1 `Upgrade: websocket`) through the proxy: the upgrade
//! request is routed like any other, sent on a fresh upstream connection, and once the
//! upstream answers `101 Switching Protocols` the two connections are relayed byte for
//! byte until either side closes or nothing moves for the listener's idle timeout. An
//! upstream that refuses the upgrade has its answer relayed as a normal response.

use super::attempt::{before_retry, choose_other_host, connect, connect_error_kind, AttemptError};
use super::connection::{Flow, Http1Connection};
use super::exchange::{self, Target, Upstream};
use super::retry::{default_policy, Failure, RetryState};
use super::upstream_h1::{self, read_head, Upgrade};
use super::{h1_bridge, DEFAULT_ROUTE_TIMEOUT};
use crate::relay::relay;
use crate::state::ProxyState;
use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, UPGRADE};
use http::{HeaderValue, Request, Response, Version};
use mosn_api::error::ProxyErrorKind;
use mosn_config::ForwardAction;
use mosn_protocol::http1::{
    encode_request_head, encode_response_head, BodyKind, RequestHead, ResponseHead,
};
use mosn_router::{pick_cluster, Matched};
use mosn_stream::empty_body;
use mosn_upstream::{LbContext, Outcome};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

/// Read size for the upstream's answer to the upgrade request.
const HEAD_BUF: usize = 16 * 1024;

/// True when the request asks to upgrade to WebSocket.
pub(super) fn is_websocket(upgrade: &str) -> bool {
    upgrade.eq_ignore_ascii_case("websocket")
}

/// Forwards the upgrade request and, if the upstream switches protocols, relays the
/// connection; the client connection always closes afterwards.
pub(super) async fn tunnel(
    conn: &mut Http1Connection,
    state: &ProxyState,
    matched: &Matched<'_>,
    action: &ForwardAction,
    head: RequestHead,
) -> Flow {
    let filter = conn.filter.clone();
    let Some(cluster) = state.clusters.get(pick_cluster(action)) else {
        return conn.reply_error(ProxyErrorKind::NoCluster, true).await;
    };
    let method = head.method.clone();
    let mut req = Request::new(());
    *req.method_mut() = head.method;
    *req.uri_mut() = std::str::from_utf8(&head.target)
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| http::Uri::from_static("/"));
    *req.headers_mut() = head.headers;
    let (mut parts, ()) = req.into_parts();
    let target = Target {
        state,
        matched,
        action,
        upstream: Upstream::Http1,
        grpc: false,
    };
    exchange::prepare_request(&mut parts, &conn.info, &target);
    parts
        .headers
        .insert(CONNECTION, HeaderValue::from_static("upgrade"));
    parts
        .headers
        .insert(UPGRADE, HeaderValue::from_static("websocket"));

    let stats = &cluster.stats;
    let Some(_request_slot) = cluster.circuit_breakers.requests.try_acquire() else {
        stats.upstream_rq_pending_overflow.inc();
        return conn.reply_error(ProxyErrorKind::Overflow, true).await;
    };
    stats.upstream_rq_total.inc();
    let _active = stats.upstream_rq_active.track();
    let lb_ctx = LbContext {
        downstream_addr: conn.info.remote,
        hash_key: None,
    };
    // Only connect failures are retried: once the upgrade request is out, it stays out.
    let policy = action.retry_policy.as_ref().unwrap_or(default_policy());
    let mut retry = RetryState::new(policy);
    let mut retry_slot = None;
    let mut previous = None;
    let mut attempt = 0;
    let (host, mut upstream) = loop {
        let Some(host) = choose_other_host(cluster, &lb_ctx, attempt, previous.as_ref()) else {
            return conn
                .reply_error(ProxyErrorKind::NoHealthyUpstream, true)
                .await;
        };
        match connect(&filter.worker, cluster, &host).await {
            Ok(c) => break (host, c),
            Err(None) => return conn.reply_error(ProxyErrorKind::Overflow, true).await,
            Err(Some(e)) => {
                cluster.report_outcome(&host, Outcome::ConnectFailure);
                if retry.should_retry(Failure::Connect)
                    && before_retry(cluster, &retry, &mut retry_slot).await
                {
                    previous = Some(Arc::clone(&host));
                    attempt += 1;
                    continue;
                }
                return conn.reply_error(connect_error_kind(&e), true).await;
            }
        }
    };
    let _host_active = host.track_request();

    let target_bytes = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let request_head = RequestHead {
        method: parts.method.clone(),
        target: Bytes::copy_from_slice(target_bytes.as_bytes()),
        version: Version::HTTP_11,
        headers: parts.headers,
    };
    let mut out = BytesMut::with_capacity(1024);
    encode_request_head(&request_head, &BodyKind::Empty, &mut out);
    // Bytes the client sent after its request head belong to the new protocol.
    out.extend_from_slice(&conn.rbuf);
    conn.rbuf.clear();
    stats.upstream_cx_tx_bytes_total.add(out.len() as u64);
    if upstream.socket.write_all(&out).await.is_err() {
        cluster.report_outcome(&host, Outcome::Reset);
        return conn.reply_error(ProxyErrorKind::UpstreamReset, true).await;
    }

    let timeout = action.timeout.unwrap_or(DEFAULT_ROUTE_TIMEOUT);
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
            Err(AttemptError::Retryable(kind) | AttemptError::Fatal(kind)) => {
                cluster.report_outcome(&host, super::attempt::outcome_of(kind));
                super::attempt::count_failure(cluster, kind);
                return conn.reply_error(kind, true).await;
            }
            Err(AttemptError::Downstream) => return Flow::Close,
        }
    };
    let status = resp.status.as_u16();
    stats.count_response(status);
    cluster.report_outcome(&host, Outcome::Status(status));
    if status != 101 {
        // Refused: relay the answer as an ordinary response, then close.
        let response = match upstream_h1::response_from(
            &filter.worker,
            cluster,
            upstream,
            buf,
            &method,
            resp,
            timeout,
        ) {
            Ok(r) => exchange::finish_response(&filter, &target, r),
            Err(_) => {
                return conn
                    .reply_error(ProxyErrorKind::UpstreamProtocolError, true)
                    .await
            }
        };
        return h1_bridge::write_response(conn, response, &method, Version::HTTP_11, false).await;
    }

    let mut switched = Response::new(empty_body());
    *switched.status_mut() = resp.status;
    *switched.headers_mut() = resp.headers;
    let switched = exchange::finish_response(&filter, &target, switched);
    let (parts, _) = switched.into_parts();
    let mut headers = parts.headers;
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    let head = ResponseHead {
        version: Version::HTTP_11,
        status: parts.status,
        reason: Bytes::from_static(b"Switching Protocols"),
        headers,
    };
    conn.wbuf.clear();
    encode_response_head(&head, &BodyKind::Empty, &mut conn.wbuf);
    // Bytes the upstream sent right after its 101 belong to the new protocol.
    conn.wbuf.extend_from_slice(&buf);
    if conn.flush().await.is_err() {
        return Flow::Close;
    }
    let idle = Some(filter.idle_timeout);
    relay(
        &mut conn.io,
        &mut upstream.socket,
        idle,
        &filter.stats,
        stats,
    )
    .await;
    Flow::Close
}
