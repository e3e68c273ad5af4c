//! The body type every non-HTTP/1-fast-path message carries, whichever codec produced it:
//! one boxed stream of data frames and trailers, so HTTP/2 and converted exchanges share
//! one forwarding path.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Why a body stream broke (the peer reset, a codec error); the stream ends there.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// A message body streamed through the proxy; `Send` so a work-stealing runtime may move
/// the task relaying it.
pub type ProxyBody = Pin<Box<dyn Body<Data = Bytes, Error = BodyError> + Send>>;

/// A body with no bytes.
pub fn empty_body() -> ProxyBody {
    Box::pin(Empty::new().map_err(|never| match never {}))
}

/// A body of exactly `bytes`.
pub fn full_body(bytes: impl Into<Bytes>) -> ProxyBody {
    Box::pin(Full::new(bytes.into()).map_err(|never| match never {}))
}

/// Any body whose errors convert, boxed into a [`ProxyBody`].
pub fn boxed_body<B>(body: B) -> ProxyBody
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BodyError>,
{
    // A closure, not `Into::into`: the fn item's bound would make every future holding
    // the body fail the compiler's `Send` check ("not general enough").
    #[allow(clippy::redundant_closure_for_method_calls)]
    Box::pin(body.map_err(|e| e.into()))
}

/// Watches a body's frames as they pass without changing them: counting statuses in
/// trailers, releasing resources when the body has been relayed.
pub trait BodyObserver: Send + 'static {
    /// Called for each frame the body yields.
    fn on_frame(&mut self, _frame: &Frame<Bytes>) {}
    /// Called once when the body ends cleanly (dropping the body calls nothing).
    fn on_end(&mut self) {}
}

/// `inner` with `observer` watching its frames.
pub fn observed_body<O: BodyObserver>(inner: ProxyBody, observer: O) -> ProxyBody {
    Box::pin(Observed { inner, observer })
}

/// A body that keeps `guard` alive until the body ends or is dropped: an upstream stream
/// slot or pooled connection is released exactly when its response has been relayed.
pub fn guarded_body<G: Send + 'static>(inner: ProxyBody, guard: G) -> ProxyBody {
    observed_body(inner, ReleaseAtEnd(Some(guard)))
}

struct ReleaseAtEnd<G>(Option<G>);

impl<G: Send + 'static> BodyObserver for ReleaseAtEnd<G> {
    fn on_end(&mut self) {
        self.0 = None;
    }
}

/// Sends a body's frames from one task to another: what a codec that reads the body
/// itself (the HTTP/1 connection) feeds into a request sent through another codec.
pub type BodySender = mpsc::Sender<Result<Frame<Bytes>, BodyError>>;

/// A body fed through a channel holding at most `capacity` frames; it ends when the
/// sender is dropped (send an `Err` first to abort it).
pub fn channel_body(capacity: usize) -> (BodySender, ProxyBody) {
    let (tx, rx) = mpsc::channel(capacity);
    (tx, Box::pin(Channel(rx)))
}

struct Channel(mpsc::Receiver<Result<Frame<Bytes>, BodyError>>);

impl Body for Channel {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.0.poll_recv(cx)
    }
}

struct Observed<O> {
    inner: ProxyBody,
    observer: O,
}

impl<O> Unpin for Observed<O> {}

impl<O: BodyObserver> Body for Observed<O> {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let polled = self.inner.as_mut().poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => self.observer.on_frame(frame),
            Poll::Ready(None) => self.observer.on_end(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    use std::sync::Arc;

    struct Flag(Arc<AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Relaxed);
        }
    }

    #[tokio::test]
    async fn guard_is_released_when_the_body_ends() {
        let released = Arc::new(AtomicBool::new(false));
        let mut body = guarded_body(full_body("abc"), Flag(released.clone()));
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "abc");
        assert!(!released.load(Relaxed), "held while the body streams");
        assert!(body.frame().await.is_none());
        assert!(
            released.load(Relaxed),
            "released at the end, before the body is dropped"
        );
    }
}
