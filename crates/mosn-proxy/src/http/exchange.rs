//! The protocol-neutral request path. A request as `http::Request<ProxyBody>` — from an
//! HTTP/2 client, or from an HTTP/1 client whose upstream speaks HTTP/2 — is filtered,
//! routed and forwarded to an HTTP/1 or HTTP/2 upstream with the same retries, breakers,
//! balancing and stats as the HTTP/1 fast path; the answer comes back as a `Response`.

use super::attempt::{
    before_retry, choose_other_host, connect, count_failure, outcome_of, AttemptError,
};
use super::envoy_headers;
use super::local_reply::{self, LocalReply};
use super::replay::RequestBody;
use super::retry::{route_policy, Failure, RetryState, ATTEMPT_COUNT};
use super::DEFAULT_ROUTE_TIMEOUT;
use super::{
    forwarding_headers, grpc, upstream_bolt, upstream_h1, upstream_h2, websocket, HttpProxyFilter,
};
use crate::state::ProxyState;
use http::header::HOST;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{request, HeaderMap, HeaderValue, Request, Response, Uri};
use mosn_api::error::ProxyErrorKind;
use mosn_config::EnvoyHeaders;
use mosn_config::{ForwardAction, Protocol, RouteAction};
use mosn_net::ConnectionInfo;
use mosn_router::{apply_header_edits, hash_key, pick_cluster, Matched};
use mosn_stream::{full_body, PoolKey, ProxyBody};
use mosn_upstream::{Cluster, Host, LbContext, Outcome};
use std::sync::Arc;
use tokio::time::Instant;

/// The protocol requests go upstream in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Upstream {
    /// HTTP/1.1 over the worker's ping-pong pool.
    Http1,
    /// HTTP/2 over the worker's multiplexed pool.
    Http2,
    /// Bolt over the worker's multiplexed RPC connections (the `transcoder`).
    Bolt,
}

/// Handles one request from an HTTP/2 client end to end: stream filters, routing, local
/// replies, forwarding.
pub(super) async fn handle(
    filter: &Arc<HttpProxyFilter>,
    info: &ConnectionInfo,
    req: Request<ProxyBody>,
) -> Response<ProxyBody> {
    if grpc::is_grpc(req.headers()) {
        let call = grpc::GrpcCall::new(filter.stats.clone());
        let resp = route_and_forward(filter, info, req, true).await;
        return call.observe(resp);
    }
    route_and_forward(filter, info, req, false).await
}

async fn route_and_forward(
    filter: &Arc<HttpProxyFilter>,
    info: &ConnectionInfo,
    mut req: Request<ProxyBody>,
    grpc: bool,
) -> Response<ProxyBody> {
    let path = req.uri().path().to_owned();
    if !filter.stream_filters.is_empty() {
        let (parts, body) = req.into_parts();
        let mut parts = parts;
        let refused =
            filter.run_request_filters(info.remote, &parts.method, &path, &mut parts.headers);
        if let Some((status, reason)) = refused {
            return local(filter, status, &reason, grpc);
        }
        req = Request::from_parts(parts, body);
    }
    let state = filter.state.load_full();
    let Some(table) = state.routers.get(&filter.router_name) else {
        return error_reply(filter, ProxyErrorKind::NoRoute, grpc);
    };
    let host = host_of(req.uri(), req.headers());
    let Some(matched) = table.route_with_query(&host, &path, req.uri().query(), req.headers())
    else {
        return error_reply(filter, ProxyErrorKind::NoRoute, grpc);
    };
    let mut reply = match &matched.route.action {
        RouteAction::DirectResponse { status, body } => {
            local_reply::direct(*status, body.as_deref().unwrap_or(""))
        }
        RouteAction::Redirect(redirect) => local_reply::redirect(
            redirect,
            &host,
            &path,
            req.uri().query(),
            info.tls.is_some(),
        ),
        RouteAction::Forward(action) => {
            let mut target = Target {
                state: &state,
                matched: &matched,
                action,
                upstream: filter.upstream_for(Protocol::Http2, action, &state),
                grpc,
            };
            if websocket::is_extended_connect(&req) {
                if target.upstream == Upstream::Bolt {
                    return error_reply(filter, ProxyErrorKind::NotImplemented, grpc);
                }
                target.upstream = Upstream::Http1;
                return websocket::tunnel_h2(filter, info, &target, req).await;
            }
            return forward(filter, info, &target, req).await;
        }
    };
    // The route's levels edit the replies it makes itself too, as Envoy's do.
    apply_header_edits(matched.response_edits(), &mut reply.headers);
    finish_local(filter, reply)
}

/// Where a routed request goes.
pub(super) struct Target<'a> {
    /// The config snapshot the route came from.
    pub(super) state: &'a ProxyState,
    /// The matched route.
    pub(super) matched: &'a Matched<'a>,
    /// Its forward action.
    pub(super) action: &'a ForwardAction,
    /// The upstream protocol.
    pub(super) upstream: Upstream,
    /// Whether the request is a gRPC call (errors become gRPC statuses).
    pub(super) grpc: bool,
}

/// Forwards a routed request with retries and returns the upstream's response (its body
/// still streaming) or the proxy's error reply.
pub(super) async fn forward(
    filter: &Arc<HttpProxyFilter>,
    info: &ConnectionInfo,
    target: &Target<'_>,
    req: Request<ProxyBody>,
) -> Response<ProxyBody> {
    let grpc = target.grpc;
    let Some(cluster) = target.state.clusters.get(pick_cluster(target.action)) else {
        return routed_error(filter, target, ProxyErrorKind::NoCluster, grpc);
    };
    let (mut parts, body) = req.into_parts();
    let lb_ctx = LbContext {
        downstream_addr: info.remote,
        hash_key: cluster
            .uses_hash_key()
            .then(|| hash_key(&target.action.hash_policy, &parts.headers, info.remote))
            .flatten(),
        original_dst: crate::original_dst::destination(cluster, Some(&parts.headers), info),
    };
    let mut timeout = target.action.timeout.unwrap_or(DEFAULT_ROUTE_TIMEOUT);
    if grpc {
        if let Some(t) = grpc::timeout(&parts.headers) {
            timeout = timeout.min(t);
        }
    }
    prepare_request(&mut parts, info, target, filter.envoy_headers);
    if target.upstream == Upstream::Http2 && cluster.tls.is_some() {
        // HTTP/2's `:scheme` names the upstream connection's security.
        let mut uri = std::mem::take(&mut parts.uri).into_parts();
        uri.scheme = Some(Scheme::HTTPS);
        parts.uri = Uri::from_parts(uri).unwrap_or_default();
    }

    let request_start = Instant::now();
    let deadline = request_start + timeout;
    // A Bolt frame carries the body whole: read it before the request counts upstream (its
    // failures are the client's), and it can be sent again on a retry.
    let body = if target.upstream == Upstream::Bolt {
        match upstream_bolt::buffer_body(body, deadline).await {
            Ok(bytes) => full_body(bytes),
            Err(kind) => return routed_error(filter, target, kind, grpc),
        }
    } else {
        body
    };
    let stats = &cluster.stats;
    let Some(_request_slot) = cluster.circuit_breakers.requests.try_acquire() else {
        stats.upstream_rq_pending_overflow.inc();
        return routed_error(filter, target, ProxyErrorKind::Overflow, grpc);
    };
    stats.upstream_rq_total.inc();
    let _active = stats.upstream_rq_active.track();
    let policy = route_policy(target.action);
    let mut retry = RetryState::new(policy);
    let mut retry_slot = None;
    let mut body = RequestBody::new(body, retry.retries_after_sending());
    let count_attempts = target.matched.vhost.include_request_attempt_count;
    let mut attempt = 0u32;
    let mut sent_attempts = 0u32;
    let mut previous: Option<Arc<Host>> = None;
    let mut free_retry_used = false;

    loop {
        let Some(host) = choose_other_host(
            cluster,
            &lb_ctx,
            &target.action.metadata_match,
            attempt,
            previous.as_ref(),
            policy.host_reselect_attempts,
        ) else {
            return routed_error(filter, target, ProxyErrorKind::NoHealthyUpstream, grpc);
        };
        let _host_active = host.track_request();
        let Some(attempt_body) = body.take() else {
            count_failure(cluster, ProxyErrorKind::UpstreamReset);
            return routed_error(filter, target, ProxyErrorKind::UpstreamReset, grpc);
        };
        sent_attempts += 1;
        if count_attempts {
            parts
                .headers
                .insert(ATTEMPT_COUNT, HeaderValue::from(sent_attempts));
        }
        if filter.envoy_headers.add {
            let elapsed = request_start.elapsed();
            let per_try = policy.per_try_timeout;
            if let Some(v) = envoy_headers::expected_timeout(timeout, per_try, elapsed) {
                parts
                    .headers
                    .insert(envoy_headers::EXPECTED_TIMEOUT.clone(), v);
            }
        }
        let try_deadline = policy
            .per_try_timeout
            .map_or(deadline, |t| (Instant::now() + t).min(deadline));
        let started = Instant::now();
        let result = match target.upstream {
            Upstream::Http2 => {
                upstream_h2::exchange(
                    &filter.worker,
                    cluster,
                    &host,
                    &parts,
                    attempt_body,
                    try_deadline,
                )
                .await
            }
            Upstream::Http1 => {
                h1_attempt(filter, cluster, &host, &parts, attempt_body, try_deadline).await
            }
            Upstream::Bolt => match &filter.transcoder {
                Some(transcoder) => {
                    upstream_bolt::exchange(
                        &filter.worker,
                        transcoder,
                        cluster,
                        &host,
                        &parts,
                        attempt_body,
                        try_deadline,
                    )
                    .await
                }
                None => Err((AttemptError::Fatal(ProxyErrorKind::NotImplemented), None)),
            },
        };
        host.record_latency(started.elapsed());
        let (error, unsent) = match result {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                stats.count_response(status);
                cluster.report_outcome(&host, Outcome::Status(status));
                if !body.available() {
                    retry.body_sent();
                }
                if retry.should_retry(retry.response(status, resp.headers()))
                    && before_retry(cluster, &retry, &mut retry_slot).await
                {
                    previous = Some(host.clone());
                    attempt += 1;
                    continue;
                }
                if filter.envoy_headers.add {
                    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    resp.headers_mut().insert(
                        envoy_headers::UPSTREAM_SERVICE_TIME.clone(),
                        HeaderValue::from(ms),
                    );
                }
                return finish_response(filter, target, resp);
            }
            Err(e) => e,
        };
        body.unsent(unsent);
        if !body.available() {
            retry.body_sent();
        }
        let (failure, kind) = match error {
            AttemptError::Downstream => {
                return routed_error(filter, target, ProxyErrorKind::BadRequest, grpc);
            }
            AttemptError::Retryable(
                kind @ (ProxyErrorKind::ConnectFailure | ProxyErrorKind::ConnectTimeout),
            ) => {
                cluster.report_outcome(&host, Outcome::ConnectFailure);
                (Failure::Connect, kind)
            }
            AttemptError::Retryable(kind) => (Failure::Reset, kind),
            AttemptError::Refused(kind) => (Failure::RefusedStream, kind),
            AttemptError::Fatal(ProxyErrorKind::UpstreamTimeout) if Instant::now() < deadline => {
                cluster.report_outcome(&host, Outcome::Timeout);
                (Failure::PerTryTimeout, ProxyErrorKind::UpstreamTimeout)
            }
            AttemptError::Fatal(kind) => {
                if kind != ProxyErrorKind::Overflow {
                    cluster.report_outcome(&host, outcome_of(kind));
                    count_failure(cluster, kind);
                }
                return routed_error(filter, target, kind, grpc);
            }
        };
        if matches!(failure, Failure::Reset | Failure::RefusedStream) {
            // A pooled connection the upstream had closed, or a stream it refused
            // unprocessed, is not the host's failure: one free retry. A refused stream
            // may resend the kept copy of its body; another reset only a body it never
            // sent (or an empty one), as the proxy always has.
            let resendable = match failure {
                Failure::RefusedStream => body.available(),
                _ => filter.free_reset_retry && body.unsent_or_empty(),
            };
            if !free_retry_used && resendable {
                free_retry_used = true;
                stats.upstream_rq_retry.inc();
                previous = None;
                continue;
            }
            cluster.report_outcome(&host, Outcome::Reset);
        }
        if retry.should_retry(failure) && before_retry(cluster, &retry, &mut retry_slot).await {
            previous = Some(host.clone());
            attempt += 1;
            continue;
        }
        count_failure(cluster, kind);
        return routed_error(filter, target, kind, grpc);
    }
}

/// One HTTP/1.1 attempt: a pooled or new connection, then the exchange.
async fn h1_attempt(
    filter: &Arc<HttpProxyFilter>,
    cluster: &Cluster,
    host: &Arc<Host>,
    parts: &request::Parts,
    body: ProxyBody,
    deadline: Instant,
) -> upstream_h2::AttemptResult {
    let worker = &filter.worker;
    let conn = match worker.pool.checkout(&PoolKey::new(cluster, host)) {
        Some(c) => c,
        None => match connect(worker, cluster, host).await {
            Ok(c) => c,
            Err(None) => return Err((AttemptError::Fatal(ProxyErrorKind::Overflow), Some(body))),
            Err(Some(e)) => {
                let kind = super::attempt::connect_error_kind(&e);
                return Err((AttemptError::Retryable(kind), Some(body)));
            }
        },
    };
    let read_timeout = deadline.saturating_duration_since(Instant::now());
    upstream_h1::exchange(worker, cluster, conn, parts, body, deadline, read_timeout)
        .await
        .map_err(|e| (e, None))
}

/// Applies forwarding headers, the route's header edits and rewrites, and shapes the
/// target for the upstream protocol (an absolute URI for HTTP/2, `Host` for HTTP/1).
pub(super) fn prepare_request(
    parts: &mut request::Parts,
    info: &ConnectionInfo,
    target: &Target<'_>,
    envoy: EnvoyHeaders,
) {
    forwarding_headers::add(&mut parts.headers, info);
    if envoy.strip_internal {
        envoy_headers::strip_internal(&mut parts.headers);
    }
    apply_header_edits(target.matched.request_edits(), &mut parts.headers);
    let new_host = target.action.host_rewrite.clone().or_else(|| {
        let name = target.action.host_rewrite_header.as_deref()?;
        let value = parts.headers.get(name)?.to_str().ok()?;
        Some(value.to_owned()).filter(|v| !v.is_empty())
    });
    if envoy.add && new_host.is_some() {
        let original = host_of(&parts.uri, &parts.headers);
        if let Ok(v) = HeaderValue::from_str(&original) {
            parts
                .headers
                .insert(envoy_headers::ORIGINAL_HOST.clone(), v);
        }
    }
    let mut authority = new_host.unwrap_or_else(|| host_of(&parts.uri, &parts.headers));
    if authority.is_empty() {
        authority = "localhost".to_owned();
    }
    let path = parts.uri.path();
    let rewritten = target.matched.rewritten_path(path);
    if envoy.add && rewritten.is_some() {
        let original = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        if let Ok(v) = HeaderValue::from_str(original) {
            parts
                .headers
                .insert(envoy_headers::ORIGINAL_PATH.clone(), v);
        }
    }
    let path_and_query = match (rewritten, parts.uri.query()) {
        (Some(p), Some(q)) => format!("{p}?{q}"),
        (Some(p), None) => p,
        (None, _) => parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned()),
    };
    match target.upstream {
        Upstream::Http1 | Upstream::Bolt => {
            if let Ok(v) = HeaderValue::from_str(&authority) {
                parts.headers.insert(HOST, v);
            }
            if let Ok(pq) = PathAndQuery::try_from(path_and_query) {
                parts.uri = Uri::from(pq);
            }
        }
        Upstream::Http2 => {
            parts.headers.remove(HOST);
            let mut uri = Uri::builder().scheme(Scheme::HTTP);
            if let Ok(a) = Authority::try_from(authority) {
                uri = uri.authority(a);
            }
            if let Ok(uri) = uri.path_and_query(path_and_query).build() {
                parts.uri = uri;
            }
            // HTTP/2 allows `te` only as `trailers`.
            if parts
                .headers
                .get(http::header::TE)
                .is_some_and(|v| v.as_bytes() != b"trailers")
            {
                parts.headers.remove(http::header::TE);
            }
        }
    }
}

/// Runs the response through the stream filters and the route's header edits and counts
/// it downstream.
pub(super) fn finish_response(
    filter: &HttpProxyFilter,
    target: &Target<'_>,
    mut resp: Response<ProxyBody>,
) -> Response<ProxyBody> {
    let status = resp.status().as_u16();
    for f in &filter.stream_filters {
        f.on_response_headers(status, resp.headers_mut());
    }
    apply_header_edits(target.matched.response_edits(), resp.headers_mut());
    filter.stamp_server(resp.headers_mut());
    filter.stats.count_response(status);
    resp
}

/// The request's host: the URI's authority (HTTP/2 `:authority`), else `Host`.
fn host_of(uri: &Uri, headers: &HeaderMap) -> String {
    match uri.authority() {
        Some(a) => a.as_str().to_owned(),
        None => headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
    }
}

/// The proxy's reply for `kind`: a gRPC status for gRPC calls, else the plain one.
/// The local reply for `kind` to a routed request: the route's levels edit its headers,
/// as Envoy's router does to the replies it makes.
fn routed_error(
    filter: &HttpProxyFilter,
    target: &Target<'_>,
    kind: ProxyErrorKind,
    grpc: bool,
) -> Response<ProxyBody> {
    let mut resp = error_reply(filter, kind, grpc);
    apply_header_edits(target.matched.response_edits(), resp.headers_mut());
    resp
}

pub(super) fn error_reply(
    filter: &HttpProxyFilter,
    kind: ProxyErrorKind,
    grpc: bool,
) -> Response<ProxyBody> {
    filter.stats.count_error(kind);
    if grpc {
        filter.stats.count_response(200);
        let mut resp = grpc::trailers_only(grpc::status_for_error(kind), kind.reason());
        filter.stamp_server(resp.headers_mut());
        return resp;
    }
    let status = filter.error_status(kind);
    finish_local(filter, LocalReply::text(status, kind.reason()))
}

/// A local reply with `status` and `reason` (a stream filter's refusal).
fn local(filter: &HttpProxyFilter, status: u16, reason: &str, grpc: bool) -> Response<ProxyBody> {
    if grpc {
        filter.stats.count_response(200);
        let mut resp = grpc::trailers_only(grpc::status_for_http(status), reason);
        filter.stamp_server(resp.headers_mut());
        return resp;
    }
    finish_local(filter, LocalReply::text(status, reason))
}

fn finish_local(filter: &HttpProxyFilter, mut reply: LocalReply) -> Response<ProxyBody> {
    filter.stamp_server(&mut reply.headers);
    filter.stats.count_response(reply.status);
    reply.into_response()
}
