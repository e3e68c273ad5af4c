//! Forwarding one request upstream and relaying the response, bodies streamed both ways.

use super::attempt::{
    before_retry, choose_other_host, connect, connect_error_kind, count_failure, outcome_of,
    AttemptError,
};
use super::connection::{Flow, Http1Connection};
use super::retry::{route_policy, Failure, RetryState, ATTEMPT_COUNT};
use super::upstream_h1::{read_head, Upgrade};
use super::DEFAULT_ROUTE_TIMEOUT;
use super::{envoy_headers, forwarding_headers};
use crate::state::ProxyState;
use bytes::BytesMut;
use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, HOST};
use http::{HeaderValue, Method, Version};
use mosn_api::error::ProxyErrorKind;
use mosn_config::ForwardAction;
use mosn_protocol::http1::{
    encode_request_head, encode_response_head, response_body_kind, strip_hop_by_hop,
    wants_keep_alive, BodyDecoder, BodyEncoder, BodyEvent, BodyKind, RequestHead, ResponseHead,
};
use mosn_router::{apply_header_edits, hash_key, pick_cluster, Matched};
use mosn_stream::{PoolKey, UpstreamConn};
use mosn_upstream::{Cluster, Host, LbContext, Outcome};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// Writes are batched up to this many bytes before going to the socket.
const FLUSH_AT: usize = 64 * 1024;

/// Body pieces at least this large go to the client by vectored write, not by copy.
const ZERO_COPY_MIN: usize = 4 * 1024;

/// Read size while streaming a response body: large bodies take fewer syscalls.
const BODY_READ_BUF: usize = 64 * 1024;

/// Ends an encoded request head, whose final blank line starts at `head_end`, with
/// this attempt's `x-envoy-attempt-count: n` and `x-envoy-expected-rq-timeout-ms`
/// (replacing the previous attempt's).
fn end_head_for_attempt(
    out: &mut BytesMut,
    head_end: usize,
    n: Option<u32>,
    expected_timeout: Option<&HeaderValue>,
) {
    use std::fmt::Write;
    out.truncate(head_end);
    // Writing into a BytesMut cannot fail.
    if let Some(n) = n {
        let _ = write!(out, "{ATTEMPT_COUNT}: {n}\r\n");
    }
    if let Some(v) = expected_timeout {
        out.extend_from_slice(envoy_headers::EXPECTED_TIMEOUT.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// One request being forwarded.
pub(super) struct Forward<'a, 'c> {
    pub(super) conn: &'c mut Http1Connection,
    pub(super) state: &'a ProxyState,
    pub(super) matched: Matched<'a>,
    pub(super) action: &'a ForwardAction,
    /// Whether the client connection stays open after this response.
    pub(super) keep_alive: bool,
    /// The client's HTTP version (the upstream always gets HTTP/1.1).
    pub(super) client_version: Version,
    /// True once the request body has been read to its end, so the next request on the
    /// connection starts at a known boundary.
    pub(super) body_done: bool,
}

impl Forward<'_, '_> {
    pub(super) async fn run(mut self, mut head: RequestHead, body: BodyKind) -> Flow {
        let cluster_name = pick_cluster(self.action);
        let Some(cluster) = self.state.clusters.get(cluster_name) else {
            return self.fail(ProxyErrorKind::NoCluster).await;
        };
        // The affinity key comes from the request as the client sent it.
        let remote = self.conn.info.remote;
        let lb_ctx = LbContext {
            downstream_addr: remote,
            hash_key: cluster
                .uses_hash_key()
                .then(|| hash_key(&self.action.hash_policy, &head.headers, remote))
                .flatten(),
            original_dst: crate::original_dst::destination(
                cluster,
                Some(&head.headers),
                &self.conn.info,
            ),
        };

        let expect_continue = head
            .headers
            .get(EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        head.headers.remove(EXPECT);
        forwarding_headers::add(&mut head.headers, &self.conn.info);
        let envoy = self.conn.filter.envoy_headers;
        if envoy.strip_internal {
            envoy_headers::strip_internal(&mut head.headers);
        }
        apply_header_edits(self.matched.request_edits(), &mut head.headers);
        let new_host = match (&self.action.host_rewrite, &self.action.host_rewrite_header) {
            (Some(h), _) => HeaderValue::from_str(h).ok(),
            (None, Some(name)) => head.headers.get(&**name).filter(|v| !v.is_empty()).cloned(),
            (None, None) => None,
        };
        if let Some(v) = new_host {
            let old = head.headers.insert(HOST, v);
            if let Some(old) = old.filter(|_| envoy.add) {
                head.headers
                    .insert(envoy_headers::ORIGINAL_HOST.clone(), old);
            }
        }
        if let Some(path) = self.matched.rewritten_path(head.path()) {
            if envoy.add {
                if let Ok(v) = HeaderValue::from_maybe_shared(head.target.clone()) {
                    head.headers.insert(envoy_headers::ORIGINAL_PATH.clone(), v);
                }
            }
            head.set_path(&path);
        }
        let count_attempts = self.matched.vhost.include_request_attempt_count;
        if count_attempts {
            head.headers.remove(ATTEMPT_COUNT);
        }
        let request_start = Instant::now();
        let method = head.method.clone();
        head.version = Version::HTTP_11;
        let mut out = BytesMut::with_capacity(1024);
        encode_request_head(&head, &body, &mut out);
        drop(head);
        // Where the head's final blank line starts: each attempt's count goes there.
        let head_end = out.len().saturating_sub(2);

        let stats = &cluster.stats;
        let breakers = &cluster.circuit_breakers;
        let Some(_request_slot) = breakers.requests.try_acquire() else {
            stats.upstream_rq_pending_overflow.inc();
            return self.fail(ProxyErrorKind::Overflow).await;
        };
        stats.upstream_rq_total.inc();
        let _active = stats.upstream_rq_active.track();
        let mut retry_slot = None;
        let timeout = self.action.timeout.unwrap_or(DEFAULT_ROUTE_TIMEOUT);
        let deadline = Instant::now() + timeout;
        let policy = route_policy(self.action);
        let mut retry = RetryState::new(policy);
        let mut attempt = 0u32;
        let mut sent_attempts = 0u32;
        let mut previous: Option<Arc<Host>> = None;
        // One free retry on a fresh connection when a pooled one turns out dead.
        let mut stale_retry_used = false;

        loop {
            let Some(host) = choose_other_host(
                cluster,
                &lb_ctx,
                &self.action.metadata_match,
                attempt,
                previous.as_ref(),
                policy.host_reselect_attempts,
            ) else {
                return self.fail(ProxyErrorKind::NoHealthyUpstream).await;
            };
            let _host_active = host.track_request();
            let key = PoolKey::new(cluster, &host);
            let pooled = self.conn.filter.worker.pool.checkout(&key);
            let mut upstream = match pooled {
                Some(c) => c,
                None => match connect(&self.conn.filter.worker, cluster, &host).await {
                    Ok(c) => c,
                    Err(None) => return self.fail(ProxyErrorKind::Overflow).await,
                    Err(Some(e)) => {
                        tracing::debug!(cluster = %cluster.name, error = %e, "upstream connect failed");
                        cluster.report_outcome(&host, Outcome::ConnectFailure);
                        if retry.should_retry(Failure::Connect)
                            && before_retry(cluster, &retry, &mut retry_slot).await
                        {
                            previous = Some(host.clone());
                            attempt += 1;
                            continue;
                        }
                        return self.fail(connect_error_kind(&e)).await;
                    }
                },
            };
            let try_deadline = policy
                .per_try_timeout
                .map_or(deadline, |t| (Instant::now() + t).min(deadline));
            if count_attempts || envoy.add {
                sent_attempts += 1;
                let expected = envoy
                    .add
                    .then(|| {
                        envoy_headers::expected_timeout(
                            timeout,
                            policy.per_try_timeout,
                            request_start.elapsed(),
                        )
                    })
                    .flatten();
                let n = count_attempts.then_some(sent_attempts);
                end_head_for_attempt(&mut out, head_end, n, expected.as_ref());
            }
            let started = Instant::now();
            let sent = self
                .send_request(&mut upstream, &out, body, expect_continue, cluster)
                .await;
            if !matches!(body, BodyKind::Empty) {
                retry.body_sent();
            }
            let head = match sent {
                Ok(()) => {
                    self.body_done = true;
                    self.read_response_head(&mut upstream, try_deadline, cluster)
                        .await
                }
                Err(e) => Err(e),
            };
            // Failures count as slow too, so peak-EWMA balancing steers away from them.
            host.record_latency(started.elapsed());
            let failure = match head {
                Ok((mut resp, mut ubuf)) => {
                    let status = resp.status.as_u16();
                    cluster.stats.count_response(status);
                    cluster.report_outcome(&host, Outcome::Status(status));
                    if retry.should_retry(retry.response(status, &resp.headers))
                        && before_retry(cluster, &retry, &mut retry_slot).await
                    {
                        // The body is left unread: the connection cannot be reused.
                        previous = Some(host.clone());
                        attempt += 1;
                        continue;
                    }
                    if envoy.add {
                        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                        resp.headers.insert(
                            envoy_headers::UPSTREAM_SERVICE_TIME.clone(),
                            HeaderValue::from(ms),
                        );
                    }
                    let relayed = self
                        .relay_response(
                            &mut upstream,
                            &mut ubuf,
                            &mut resp,
                            &method,
                            timeout,
                            cluster,
                        )
                        .await;
                    self.conn.filter.worker.return_buffer(ubuf);
                    return match relayed {
                        Ok((flow, reusable)) => {
                            if reusable {
                                self.conn.filter.worker.pool.checkin(
                                    upstream,
                                    cluster.idle_timeout,
                                    cluster.max_request_per_conn,
                                );
                            }
                            flow
                        }
                        Err(AttemptError::Fatal(kind)) => {
                            count_failure(cluster, kind);
                            self.fail(kind).await
                        }
                        Err(_) => Flow::Close,
                    };
                }
                Err(AttemptError::Downstream) => return Flow::Close,
                Err(AttemptError::Retryable(kind) | AttemptError::Refused(kind)) => {
                    // A pooled connection the upstream had closed is not the host's
                    // failure: retried for free and not reported to outlier detection.
                    if upstream.reused
                        && matches!(body, BodyKind::Empty)
                        && !stale_retry_used
                        && self.conn.filter.free_reset_retry
                    {
                        stale_retry_used = true;
                        stats.upstream_rq_retry.inc();
                        previous = None;
                        continue;
                    }
                    cluster.report_outcome(&host, Outcome::Reset);
                    (Failure::Reset, kind)
                }
                Err(AttemptError::Fatal(ProxyErrorKind::UpstreamTimeout))
                    if Instant::now() < deadline =>
                {
                    cluster.report_outcome(&host, Outcome::Timeout);
                    (Failure::PerTryTimeout, ProxyErrorKind::UpstreamTimeout)
                }
                Err(AttemptError::Fatal(kind)) => {
                    cluster.report_outcome(&host, outcome_of(kind));
                    count_failure(cluster, kind);
                    return self.fail(kind).await;
                }
            };
            if retry.should_retry(failure.0) && before_retry(cluster, &retry, &mut retry_slot).await
            {
                previous = Some(host.clone());
                attempt += 1;
                continue;
            }
            count_failure(cluster, failure.1);
            return self.fail(failure.1).await;
        }
    }

    /// Writes the head, then streams the request body from the client.
    async fn send_request(
        &mut self,
        upstream: &mut UpstreamConn,
        head_bytes: &[u8],
        body: BodyKind,
        expect_continue: bool,
        cluster: &Cluster,
    ) -> Result<(), AttemptError> {
        let tx = &cluster.stats.upstream_cx_tx_bytes_total;
        if matches!(body, BodyKind::Empty) {
            tx.add(head_bytes.len() as u64);
            return upstream
                .socket
                .write_all(head_bytes)
                .await
                .map_err(|_| AttemptError::Retryable(ProxyErrorKind::UpstreamReset));
        }
        let mut out = BytesMut::with_capacity(head_bytes.len() + 4096);
        out.extend_from_slice(head_bytes);
        let mut decoder = BodyDecoder::new(body);
        let mut encoder = BodyEncoder::new(body);
        let mut continue_sent = !expect_continue;
        let mut trailers = None;
        loop {
            match decoder.decode(&mut self.conn.rbuf) {
                Ok(Some(BodyEvent::Data(data))) => encoder.data(&data, &mut out),
                Ok(Some(BodyEvent::Trailers(t))) => trailers = Some(t),
                Ok(Some(BodyEvent::End)) => {
                    encoder.end(trailers.as_ref(), &mut out);
                    tx.add(out.len() as u64);
                    return upstream
                        .socket
                        .write_all(&out)
                        .await
                        .map_err(|_| AttemptError::Fatal(ProxyErrorKind::UpstreamReset));
                }
                Ok(None) => {
                    tx.add(out.len() as u64);
                    upstream
                        .socket
                        .write_all(&out)
                        .await
                        .map_err(|_| AttemptError::Fatal(ProxyErrorKind::UpstreamReset))?;
                    out.clear();
                    if !continue_sent {
                        continue_sent = true;
                        self.conn
                            .wbuf
                            .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                        self.conn
                            .flush()
                            .await
                            .map_err(|_| AttemptError::Downstream)?;
                    }
                    let idle = self.conn.filter.idle_timeout;
                    match tokio::time::timeout(idle, self.conn.fill()).await {
                        Ok(Ok(n)) if n > 0 => {}
                        _ => return Err(AttemptError::Downstream),
                    }
                }
                Err(_) => {
                    self.conn.filter.stats.downstream_rq_protocol_error.inc();
                    return Err(AttemptError::Downstream);
                }
            }
            if out.len() >= FLUSH_AT {
                tx.add(out.len() as u64);
                upstream
                    .socket
                    .write_all(&out)
                    .await
                    .map_err(|_| AttemptError::Fatal(ProxyErrorKind::UpstreamReset))?;
                out.clear();
            }
        }
    }

    /// Reads the final response head by `deadline`, relaying interim 1xx responses to the
    /// client; returns the head and the bytes read after it.
    async fn read_response_head(
        &mut self,
        upstream: &mut UpstreamConn,
        deadline: Instant,
        cluster: &Cluster,
    ) -> Result<(ResponseHead, BytesMut), AttemptError> {
        let mut buf = self.conn.filter.worker.take_buffer(BODY_READ_BUF);
        let mut seen_any = false;
        loop {
            let head = read_head(
                upstream,
                &mut buf,
                deadline,
                &cluster.stats,
                &mut seen_any,
                Upgrade::Refuse,
            )
            .await?;
            if head.status.is_informational() {
                self.relay_interim(head).await?;
                continue;
            }
            return Ok((head, buf));
        }
    }

    async fn relay_interim(&mut self, mut head: ResponseHead) -> Result<(), AttemptError> {
        strip_hop_by_hop(&mut head.headers);
        head.version = Version::HTTP_11;
        encode_response_head(&head, &BodyKind::Empty, &mut self.conn.wbuf);
        self.conn.filter.stats.count_response(head.status.as_u16());
        self.conn
            .flush()
            .await
            .map_err(|_| AttemptError::Downstream)
    }

    /// Sends the response head and streams its body to the client.
    async fn relay_response(
        &mut self,
        upstream: &mut UpstreamConn,
        ubuf: &mut BytesMut,
        resp: &mut ResponseHead,
        method: &Method,
        timeout: Duration,
        cluster: &Cluster,
    ) -> Result<(Flow, bool), AttemptError> {
        let status = resp.status.as_u16();
        let up_kind = response_body_kind(method, resp)
            .map_err(|_| AttemptError::Fatal(ProxyErrorKind::UpstreamProtocolError))?;
        // HEAD and 304 responses describe a body they do not carry: keep its length.
        let declared_length = if matches!(up_kind, BodyKind::Empty) {
            resp.headers.get(CONTENT_LENGTH).cloned()
        } else {
            None
        };
        let up_opts = strip_hop_by_hop(&mut resp.headers);
        let mut reusable = wants_keep_alive(resp.version, &up_opts)
            && !matches!(up_kind, BodyKind::CloseDelimited);

        let client_http11 = self.conn_is_http11();
        let mut keep_alive = self.keep_alive;
        let down_kind = match up_kind {
            BodyKind::Chunked | BodyKind::CloseDelimited if client_http11 => BodyKind::Chunked,
            BodyKind::Chunked | BodyKind::CloseDelimited => {
                keep_alive = false;
                BodyKind::CloseDelimited
            }
            k => k,
        };
        for f in &self.conn.filter.stream_filters {
            f.on_response_headers(status, &mut resp.headers);
        }
        apply_header_edits(self.matched.response_edits(), &mut resp.headers);
        self.conn.filter.stamp_server(&mut resp.headers);
        if let Some(len) = declared_length {
            resp.headers.insert(CONTENT_LENGTH, len);
        }
        if !keep_alive {
            resp.headers
                .insert(CONNECTION, HeaderValue::from_static("close"));
        } else if !client_http11 {
            resp.headers
                .insert(CONNECTION, HeaderValue::from_static("keep-alive"));
        }
        resp.version = Version::HTTP_11;
        encode_response_head(resp, &down_kind, &mut self.conn.wbuf);
        self.conn.filter.stats.count_response(status);

        let mut decoder = BodyDecoder::new(up_kind);
        let mut encoder = BodyEncoder::new(down_kind);
        let mut trailers = None;
        loop {
            let event = match decoder.decode(ubuf) {
                Ok(Some(ev)) => ev,
                Ok(None) => {
                    self.conn
                        .flush()
                        .await
                        .map_err(|_| AttemptError::Downstream)?;
                    ubuf.reserve(BODY_READ_BUF);
                    let read = tokio::time::timeout(timeout, upstream.socket.read_buf(ubuf)).await;
                    match read {
                        Ok(Ok(0)) => match decoder.eof() {
                            Ok(ev) => {
                                reusable = false;
                                ev
                            }
                            Err(_) => return Err(AttemptError::Downstream),
                        },
                        Ok(Ok(n)) => {
                            cluster.stats.upstream_cx_rx_bytes_total.add(n as u64);
                            continue;
                        }
                        // The head is gone already: all we can do is cut the client off.
                        _ => return Err(AttemptError::Downstream),
                    }
                }
                Err(_) => return Err(AttemptError::Downstream),
            };
            match event {
                BodyEvent::Data(data) if data.len() >= ZERO_COPY_MIN => {
                    let tail = encoder.data_by_ref(data, &mut self.conn.wbuf);
                    self.conn
                        .flush_with(&tail)
                        .await
                        .map_err(|_| AttemptError::Downstream)?;
                }
                BodyEvent::Data(data) => encoder.data(&data, &mut self.conn.wbuf),
                BodyEvent::Trailers(t) => trailers = Some(t),
                BodyEvent::End => {
                    encoder.end(trailers.as_ref(), &mut self.conn.wbuf);
                    break;
                }
            }
            if self.conn.wbuf.len() >= FLUSH_AT {
                self.conn
                    .flush()
                    .await
                    .map_err(|_| AttemptError::Downstream)?;
            }
        }
        self.conn
            .flush()
            .await
            .map_err(|_| AttemptError::Downstream)?;
        // Stray bytes after the response mean the upstream is out of step: do not reuse.
        reusable &= ubuf.is_empty();
        let flow = if keep_alive {
            Flow::KeepAlive
        } else {
            Flow::Close
        };
        Ok((flow, reusable))
    }

    fn conn_is_http11(&self) -> bool {
        self.client_version == Version::HTTP_11
    }

    async fn fail(&mut self, kind: ProxyErrorKind) -> Flow {
        let close = !self.keep_alive || !self.body_done;
        self.conn
            .reply_routed_error(kind, &self.matched, close)
            .await
    }
}
