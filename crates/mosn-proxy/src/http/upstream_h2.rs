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
            let kind = if is_refused_stream(e.error()) {
                stream.retire_connection();
                AttemptError::Refused(ProxyErrorKind::UpstreamReset)
            } else if unsent.is_some() || was_dropped_unprocessed(e.error()) {
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

/// The HTTP/2 error behind a request error, found along its source chain (hyper wraps
/// the `h2::Error`).
fn h2_error<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e h2::Error> {
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(h2) = s.downcast_ref::<h2::Error>() {
            return Some(h2);
        }
        source = s.source();
    }
    None
}

/// True when the upstream reset the stream with `REFUSED_STREAM`: by HTTP/2's rules it
/// did not process the request (RFC 9113 §8.7), so sending it again is safe.
fn is_refused_stream(e: &hyper::Error) -> bool {
    h2_error(e).is_some_and(|h2| h2.is_reset() && h2.reason() == Some(h2::Reason::REFUSED_STREAM))
}

/// True when the upstream dropped the stream unprocessed otherwise: a graceful GOAWAY
/// that did not include it, or a connection that closed before the stream was
/// dispatched (hyper reports those as canceled). Such a request is safe to send again.
fn was_dropped_unprocessed(e: &hyper::Error) -> bool {
    e.is_canceled()
        || h2_error(e)
            .is_some_and(|h2| h2.is_go_away() && h2.reason() == Some(h2::Reason::NO_ERROR))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::Empty;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use tokio::net::{TcpListener, TcpStream};

    /// The error hyper's client reports when a real HTTP/2 server (the `h2` crate's)
    /// resets the request's stream with `reason`.
    async fn error_when_reset_with(reason: h2::Reason) -> hyper::Error {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let mut conn = h2::server::handshake(socket).await.unwrap();
            if let Some(Ok((_req, mut respond))) = conn.accept().await {
                respond.send_reset(reason);
            }
            // Keep the connection up until the client has read the reset.
            while conn.accept().await.is_some() {}
        });
        let io = TokioIo::new(TcpStream::connect(addr).await.unwrap());
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        tokio::spawn(conn);
        let req = Request::post("http://test/")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let err = sender
            .send_request(req)
            .await
            .expect_err("the server reset the stream");
        server.abort();
        err
    }

    #[tokio::test]
    async fn a_refused_stream_is_told_from_other_resets() {
        let refused = error_when_reset_with(h2::Reason::REFUSED_STREAM).await;
        assert!(is_refused_stream(&refused), "{refused:?}");
        assert!(!was_dropped_unprocessed(&refused));
        let internal = error_when_reset_with(h2::Reason::INTERNAL_ERROR).await;
        assert!(!is_refused_stream(&internal), "{internal:?}");
        assert!(!was_dropped_unprocessed(&internal));
    }
}
