//! What every upstream attempt shares, whichever codec carries it: choosing a host other
//! than the one that just failed, opening a connection within the circuit breakers,
//! waiting out a retry's backoff, and counting failures.

use super::retry::RetryState;
use crate::state::WorkerContext;
use mosn_api::error::ProxyErrorKind;
use mosn_config::Metadata;
use mosn_net::ConnectError;
use mosn_stream::UpstreamConn;
use mosn_upstream::{Cluster, Host, LbContext, Outcome, ResourceGuard};
use std::sync::Arc;

/// How an upstream attempt failed.
pub(super) enum AttemptError {
    /// Failed before the upstream could have seen the request (or sent any response byte):
    /// safe to retry on a fresh connection when the request has no body.
    Retryable(ProxyErrorKind),
    /// The HTTP/2 upstream refused the stream (`REFUSED_STREAM`): it did not process the
    /// request, whatever of its body was sent. Answered as the kind when not retried.
    Refused(ProxyErrorKind),
    /// Failed in a way that must be answered, not retried.
    Fatal(ProxyErrorKind),
    /// The client went away or sent a bad body: close without a reply.
    Downstream,
}

/// A host for the next attempt of a request to the route's subset (`labels`, its
/// `metadata_match`), avoiding the one that just failed when the cluster has another
/// (Envoy's `previous_hosts` predicate): up to `reselects` more picks.
pub(super) fn choose_other_host(
    cluster: &Cluster,
    ctx: &LbContext,
    labels: &Metadata,
    attempt: u32,
    previous: Option<&Arc<Host>>,
    reselects: u32,
) -> Option<Arc<Host>> {
    let mut host = cluster.choose_host_in_subset(ctx, attempt, labels)?;
    if let Some(prev) = previous {
        for _ in 0..reselects {
            if !Arc::ptr_eq(&host, prev) {
                break;
            }
            host = cluster.choose_host_in_subset(ctx, attempt, labels)?;
        }
    }
    Some(host)
}

/// Takes a retry slot from the cluster's `max_retries` breaker (or its retry budget),
/// counts the retry and waits its backoff; false (counted as an overflow) when no slot
/// is free.
pub(super) async fn before_retry<'c>(
    cluster: &'c Cluster,
    retry: &RetryState<'_>,
    slot: &mut Option<ResourceGuard<'c>>,
) -> bool {
    if slot.is_none() {
        let active = u64::try_from(cluster.stats.upstream_rq_active.get()).unwrap_or(0);
        match cluster.circuit_breakers.try_acquire_retry(active) {
            Some(guard) => *slot = Some(guard),
            None => {
                cluster.stats.upstream_rq_retry_overflow.inc();
                return false;
            }
        }
    }
    cluster.stats.upstream_rq_retry.inc();
    tokio::time::sleep(retry.backoff()).await;
    true
}

/// Opens a connection to `host` within the cluster's `max_connections` and
/// `max_pending_requests` breakers; `Err(None)` is an overflow (counted).
pub(super) async fn connect(
    worker: &WorkerContext,
    cluster: &Cluster,
    host: &Arc<Host>,
) -> Result<UpstreamConn, Option<ConnectError>> {
    let breakers = &cluster.circuit_breakers;
    let open = u64::try_from(cluster.stats.upstream_cx_active.get()).unwrap_or(0);
    if !breakers.max_connections.allows(open) {
        cluster.stats.upstream_cx_overflow.inc();
        return Err(None);
    }
    let Some(_pending) = breakers.pending_requests.try_acquire() else {
        cluster.stats.upstream_rq_pending_overflow.inc();
        return Err(None);
    };
    worker.pool.connect(cluster, host).await.map_err(Some)
}

/// The error a failed connect is answered with.
pub(crate) fn connect_error_kind(e: &ConnectError) -> ProxyErrorKind {
    match e {
        ConnectError::Timeout => ProxyErrorKind::ConnectTimeout,
        ConnectError::Failed(_) | ConnectError::Tls(_) => ProxyErrorKind::ConnectFailure,
    }
}

/// How a failed attempt counts for outlier detection: timeouts as timeouts, the rest
/// (resets, protocol errors) as resets.
pub(super) fn outcome_of(kind: ProxyErrorKind) -> Outcome {
    if kind == ProxyErrorKind::UpstreamTimeout {
        Outcome::Timeout
    } else {
        Outcome::Reset
    }
}

/// Counts a failed request in the cluster's stats by its kind.
pub(super) fn count_failure(cluster: &Cluster, kind: ProxyErrorKind) {
    if kind == ProxyErrorKind::UpstreamTimeout {
        cluster.stats.upstream_rq_timeout.inc();
    } else {
        cluster.stats.upstream_rq_reset.inc();
    }
}
