//! One RPC request from routing to its reply: route by headers, pick the cluster and a
//! host, send over the worker's multiplexed connection, and turn the outcome (response,
//! timeout, reset) into the frame the client gets.

use super::downstream::Downstream;
use super::XProxyFilter;
use crate::http::DEFAULT_ROUTE_TIMEOUT;
use mosn_api::error::ProxyErrorKind;
use mosn_config::RouteAction;
use mosn_net::ConnectionInfo;
use mosn_protocol::xprotocol::{Frame, FrameHead, FrameKind};
use mosn_router::{hash_key, pick_cluster};
use mosn_stream::{MuxConn, MuxError, PoolKey};
use mosn_upstream::{Cluster, Host, LbContext, Outcome, RequestSlot};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::time::Instant;

/// Connect failures retried on another host before the client gets an error frame
/// (MOSN's default retry policy: connect failures, 3 times).
const CONNECT_RETRIES: u32 = 3;

/// Starts forwarding one request; its reply (or error frame) reaches the client later.
pub(super) fn start(
    filter: &Arc<XProxyFilter>,
    down: &Arc<Downstream>,
    frame: Frame,
    info: &ConnectionInfo,
) {
    let head = frame.head;
    let local_reply = |kind: ProxyErrorKind| {
        tracing::debug!(listener = %info.listener, error = ?kind, "request answered locally");
        down.stats.count_error(kind);
        if head.kind != FrameKind::Oneway {
            let reply = filter.downstream.local_reply(&head, kind);
            down.reply(&reply.bytes, Some(kind.status()));
        }
    };
    let state = filter.state.load();
    let Some(matched) = state
        .routers
        .get(&filter.router_name)
        .and_then(|t| t.route_rpc(frame.headers.as_slice()))
    else {
        return local_reply(ProxyErrorKind::NoRoute);
    };
    // Direct responses and redirects are HTTP answers: an RPC client has no use for them.
    let RouteAction::Forward(fwd) = &matched.route.action else {
        return local_reply(ProxyErrorKind::NoRoute);
    };
    let Some(cluster) = state.clusters.get(pick_cluster(fwd)) else {
        return local_reply(ProxyErrorKind::NoCluster);
    };
    let Some(slot) = cluster.try_acquire_request() else {
        cluster.stats.upstream_rq_pending_overflow.inc();
        return local_reply(ProxyErrorKind::Overflow);
    };
    let lb = LbContext {
        downstream_addr: info.remote,
        hash_key: cluster
            .uses_hash_key()
            .then(|| hash_key(&fwd.hash_policy, frame.headers.as_slice(), info.remote))
            .flatten(),
        original_dst: crate::original_dst::destination(cluster, None, info),
    };
    let Some(host) = cluster.choose_host(&lb) else {
        return local_reply(ProxyErrorKind::NoHealthyUpstream);
    };
    // The route's timeout, else the one the client put in the request.
    let timeout = fwd
        .timeout
        .or(head.timeout)
        .unwrap_or(DEFAULT_ROUTE_TIMEOUT);
    let exchange = Exchange::new(filter, down, head, cluster.clone(), host, slot, timeout);
    let codec = filter.upstream;
    let key = PoolKey::new(&exchange.cluster, &exchange.host);
    match filter.worker.mux.live(&key, codec) {
        Some(conn) => exchange.send(&conn, frame),
        None => {
            tokio::spawn(exchange.connect_and_send(filter.clone(), lb, frame));
        }
    }
}

/// A request in flight: what its reply needs, and the counters it holds until done.
struct Exchange {
    filter: Arc<XProxyFilter>,
    down: Arc<Downstream>,
    /// The request as the client sent it (its id is the one the reply must carry).
    head: FrameHead,
    cluster: Arc<Cluster>,
    host: Arc<Host>,
    _slot: RequestSlot,
    started: Instant,
    deadline: Instant,
}

impl Exchange {
    fn new(
        filter: &Arc<XProxyFilter>,
        down: &Arc<Downstream>,
        head: FrameHead,
        cluster: Arc<Cluster>,
        host: Arc<Host>,
        slot: RequestSlot,
        timeout: std::time::Duration,
    ) -> Self {
        down.start();
        cluster.stats.upstream_rq_total.inc();
        cluster.stats.upstream_rq_active.inc();
        host.active_requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        Self {
            filter: filter.clone(),
            down: down.clone(),
            head,
            cluster,
            host,
            _slot: slot,
            started,
            deadline: started + timeout,
        }
    }

    fn send(self, conn: &MuxConn, frame: Frame) {
        let deadline = self.deadline;
        if self.head.kind == FrameKind::Oneway {
            conn.send(frame, deadline, None);
            return;
        }
        conn.send(frame, deadline, Some(Box::new(move |r| self.finish(r))));
    }

    /// The cold path: no live connection to the host yet. Connect failures move to
    /// another host, up to [`CONNECT_RETRIES`] times.
    async fn connect_and_send(mut self, filter: Arc<XProxyFilter>, lb: LbContext, frame: Frame) {
        let codec = filter.upstream;
        let mut attempt = 0;
        loop {
            let err = match filter
                .worker
                .mux
                .get(&self.cluster, &self.host, codec)
                .await
            {
                Ok(conn) => return self.send(&conn, frame),
                Err(MuxError::Overflow) => return self.fail(ProxyErrorKind::Overflow),
                Err(MuxError::Connect(e)) => e,
            };
            self.cluster
                .report_outcome(&self.host, Outcome::ConnectFailure);
            tracing::debug!(cluster = %self.cluster.name, error = %err, "upstream connect failed");
            attempt += 1;
            let next = (attempt <= CONNECT_RETRIES && Instant::now() < self.deadline)
                .then(|| self.cluster.choose_host_for_attempt(&lb, attempt))
                .flatten();
            let Some(next) = next else {
                return self.fail(crate::http::attempt::connect_error_kind(&err));
            };
            self.cluster.stats.upstream_rq_retry.inc();
            self.switch_host(next);
        }
    }

    fn switch_host(&mut self, host: Arc<Host>) {
        self.host.active_requests.fetch_sub(1, Ordering::Relaxed);
        host.active_requests.fetch_add(1, Ordering::Relaxed);
        self.host = host;
    }

    fn finish(self, result: Result<Frame, ProxyErrorKind>) {
        let mut resp = match result {
            Ok(resp) => resp,
            Err(kind) => return self.fail(kind),
        };
        self.host.record_latency(self.started.elapsed());
        let status = self.filter.upstream.http_status(&resp.head);
        self.cluster.stats.count_response(status);
        self.cluster
            .report_outcome(&self.host, Outcome::Status(status));
        self.filter
            .upstream
            .set_request_id(&mut resp, self.head.request_id);
        self.down.reply(&resp.bytes, Some(status));
    }

    fn fail(self, kind: ProxyErrorKind) {
        match kind {
            ProxyErrorKind::UpstreamTimeout => {
                self.cluster.stats.upstream_rq_timeout.inc();
                self.cluster.report_outcome(&self.host, Outcome::Timeout);
            }
            ProxyErrorKind::UpstreamReset => {
                self.cluster.stats.upstream_rq_reset.inc();
                self.cluster.report_outcome(&self.host, Outcome::Reset);
            }
            _ => {}
        }
        if self.head.kind != FrameKind::Oneway {
            let reply = self.filter.downstream.local_reply(&self.head, kind);
            self.down.reply(&reply.bytes, Some(kind.status()));
        }
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        self.host.active_requests.fetch_sub(1, Ordering::Relaxed);
        self.cluster.stats.upstream_rq_active.dec();
        self.down.finish();
    }
}
