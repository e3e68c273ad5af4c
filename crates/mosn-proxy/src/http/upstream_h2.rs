//! One attempt of a request on the worker's multiplexed HTTP/2 pool: a stream on a pooled
//! connection with room, or a new connection when every one is full.

use super::attempt::{connect, connect_error_kind, AttemptError};
use crate::state::WorkerContext;
use http::{request, Request, Response, Version};
use hyper::client::conn::http2::SendRequest;
use mosn_api::error::ProxyErrorKind;
use mosn_stream::{boxed_body, guarded_body, H2Stream, PoolKey, ProxyBody};
use mosn_upstream::{Cluster, Host};
use std::sync::Arc;
use tokio::time::{timeout_at, Instant};

/// What one attempt gave: the response, or the error and the request body when it was
/// never sent (so the request can be tried again as it is).
pub(super) type AttemptResult = Result<Response<ProxyBody>, (AttemptError, Option<ProxyBody>)>;

/// Sends the request on an HTTP/2 stream to `host`, waiting for the response head until
/// `deadline`.
pub(super) async fn exchange(
    worker: &WorkerContext,
    cluster: &Cluster,
    host: &Arc<Host>,
    parts: &request::Parts,
    body: ProxyBody,
    deadline: Instant,
) -> AttemptResult {
    let mut stream = worker.h2_pool.checkout(&PoolKey::new(cluster, host), host);
    let sender = if stream.must_open() {
        open(worker, cluster, host, &mut stream, deadline).await
    } else {
        match timeout_at(deadline, stream.ready()).await {
            Ok(Some(sender)) => Ok(sender),
            // The connection this request waited for failed to open.
            Ok(None) => Err(AttemptError::Retryable(ProxyErrorKind::UpstreamReset)),
            Err(_) => Err(AttemptError::Fatal(ProxyErrorKind::UpstreamTimeout)),
        }
    };
    let mut sender = match sender {
        Ok(s) => s,
        Err(e) => return Err((e, Some(body))),
    };
    let mut req = Request::new(body);
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = parts.uri.clone();
    *req.version_mut() = Version::HTTP_2;
    *req.headers_mut() = parts.headers.clone();
    match timeout_at(deadline, sender.try_send_request(req)).await {
        Err(_) => Err((AttemptError::Fatal(ProxyErrorKind::UpstreamTimeout), None)),
        Ok(Ok(resp)) => {
            let slot = stream.into_slot();
            Ok(resp.map(|incoming| guarded_body(boxed_body(incoming), slot)))
        }
        Ok(Err(mut e)) => {
            let unsent = e.take_message().map(Request::into_body);
            let kind = if unsent.is_some() || was_refused(e.error()) {
                stream.retire_connection();
                AttemptError::Retryable(ProxyErrorKind::UpstreamReset)
            } else {
                AttemptError::Fatal(ProxyErrorKind::UpstreamReset)
            };
            tracing::debug!(error = ?e.error(), "upstream HTTP/2 request failed");
            Err((kind, unsent))
        }
    }
}

/// Opens the new connection `stream` claimed (within the circuit breakers).
async fn open(
    worker: &WorkerContext,
    cluster: &Cluster,
    host: &Arc<Host>,
    stream: &mut H2Stream,
    deadline: Instant,
) -> Result<SendRequest<ProxyBody>, AttemptError> {
    let conn = match connect(worker, cluster, host).await {
        Ok(c) => c,
        Err(None) => return Err(AttemptError::Fatal(ProxyErrorKind::Overflow)),
        Err(Some(e)) => return Err(AttemptError::Retryable(connect_error_kind(&e))),
    };
    match timeout_at(deadline, worker.h2_pool.open(stream, conn)).await {
        Ok(Ok(sender)) => Ok(sender),
        Ok(Err(_)) => Err(AttemptError::Retryable(ProxyErrorKind::UpstreamReset)),
        Err(_) => Err(AttemptError::Fatal(ProxyErrorKind::UpstreamTimeout)),
    }
}

/// True when the upstream refused the stream without processing it: `REFUSED_STREAM`,
/// a graceful GOAWAY that did not include it, or a connection that closed before the
/// stream was dispatched (hyper reports those as canceled). Such a request is safe to
/// send again.
fn was_refused(e: &hyper::Error) -> bool {
    if e.is_canceled() {
        return true;
    }
    let Some(h2) = std::error::Error::source(e).and_then(|s| s.downcast_ref::<h2::Error>()) else {
        return false;
    };
    h2.reason() == Some(h2::Reason::REFUSED_STREAM)
        || (h2.is_go_away() && h2.reason() == Some(h2::Reason::NO_ERROR))
}
