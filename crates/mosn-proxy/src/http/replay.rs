//! The request body across the attempts of one request on the generic path. The first
//! attempt streams it; when the route can retry after a request was sent, a copy of what
//! streamed is kept (up to [`REPLAY_LIMIT`]) so a retry sends the same bytes again, as
//! Envoy's router buffers a request for its retries. A gRPC call always has a body, so
//! without the copy no gRPC status or reset could ever be retried.

use bytes::Bytes;
use http::HeaderMap;
use hyper::body::{Body, Frame, SizeHint};
use mosn_stream::{boxed_body, empty_body, BodyError, ProxyBody};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The largest request body kept for a retry; a larger one is streamed without a copy
/// and only retried while unsent. Envoy's own limit is the connection's buffer limit.
pub(super) const REPLAY_LIMIT: usize = 64 * 1024;

/// One request's body as its attempts take it.
pub(super) struct RequestBody {
    /// The body not yet sent (at first, or handed back by an attempt that did not send it).
    next: Option<ProxyBody>,
    /// The body has no bytes: every attempt can send an empty one.
    empty: bool,
    /// The copy kept for resends, when the route can retry after sending.
    tape: Option<Arc<Mutex<Tape>>>,
    /// True until the first attempt takes the body and starts recording it.
    record_next: bool,
}

impl RequestBody {
    /// The body of a request; `keep_copy` when a retry may need to send it again.
    pub(super) fn new(body: ProxyBody, keep_copy: bool) -> Self {
        let empty = body.is_end_stream();
        let tape = (keep_copy && !empty).then(Arc::default);
        Self {
            next: Some(body),
            empty,
            record_next: tape.is_some(),
            tape,
        }
    }

    /// The body for the next attempt, or `None` when it was sent and no complete copy
    /// of it was kept.
    pub(super) fn take(&mut self) -> Option<ProxyBody> {
        if let Some(body) = self.next.take() {
            return Some(match &self.tape {
                Some(tape) if std::mem::take(&mut self.record_next) => boxed_body(Recorder {
                    inner: body,
                    tape: Arc::clone(tape),
                }),
                _ => body,
            });
        }
        if self.empty {
            return Some(empty_body());
        }
        let tape = self.tape.as_ref()?.lock();
        tape.complete().then(|| boxed_body(tape.replay()))
    }

    /// Takes back the body an attempt did not send.
    pub(super) fn unsent(&mut self, body: Option<ProxyBody>) {
        if body.is_some() {
            self.next = body;
        }
    }

    /// True when the body was never sent or has no bytes.
    pub(super) fn unsent_or_empty(&self) -> bool {
        self.next.is_some() || self.empty
    }

    /// True when another attempt could carry the body.
    pub(super) fn available(&self) -> bool {
        self.unsent_or_empty() || self.tape.as_ref().is_some_and(|t| t.lock().complete())
    }
}

/// What the first attempt's body streamed, for resending.
#[derive(Default)]
struct Tape {
    chunks: Vec<Bytes>,
    trailers: Option<HeaderMap>,
    len: usize,
    /// The body reached its end with every frame recorded.
    ended: bool,
    /// The body broke or outgrew [`REPLAY_LIMIT`]: no resend.
    spoiled: bool,
}

impl Tape {
    fn complete(&self) -> bool {
        self.ended && !self.spoiled
    }

    fn record(&mut self, frame: &Frame<Bytes>, end: bool) {
        if self.spoiled {
            return;
        }
        if let Some(data) = frame.data_ref() {
            self.len += data.len();
            if self.len > REPLAY_LIMIT {
                self.spoil();
                return;
            }
            self.chunks.push(data.clone());
        } else if let Some(trailers) = frame.trailers_ref() {
            self.trailers = Some(trailers.clone());
        }
        self.ended |= end;
    }

    fn spoil(&mut self) {
        self.spoiled = true;
        self.chunks = Vec::new();
        self.trailers = None;
    }

    fn replay(&self) -> Replay {
        Replay {
            chunks: self.chunks.iter().cloned().collect(),
            trailers: self.trailers.clone(),
            len: self.len as u64,
        }
    }
}

/// The first attempt's body: passes every frame through and records it on the tape.
struct Recorder {
    inner: ProxyBody,
    tape: Arc<Mutex<Tape>>,
}

impl Body for Recorder {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        let polled = this.inner.as_mut().poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                let end = this.inner.is_end_stream();
                this.tape.lock().record(frame, end);
            }
            Poll::Ready(Some(Err(_))) => this.tape.lock().spoil(),
            Poll::Ready(None) => this.tape.lock().ended = true,
            Poll::Pending => {}
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

/// A resend of the recorded body.
struct Replay {
    chunks: VecDeque<Bytes>,
    trailers: Option<HeaderMap>,
    len: u64,
}

impl Body for Replay {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        let frame = match this.chunks.pop_front() {
            Some(data) => Some(Frame::data(data)),
            None => this.trailers.take().map(Frame::trailers),
        };
        Poll::Ready(frame.map(Ok))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// A streamed body of `pieces`, ending with `trailers`.
    fn streamed(pieces: &[&'static [u8]], trailers: Option<HeaderMap>) -> ProxyBody {
        boxed_body(Replay {
            chunks: pieces.iter().map(|p| Bytes::from_static(p)).collect(),
            trailers,
            len: pieces.iter().map(|p| p.len() as u64).sum(),
        })
    }

    async fn drain(body: ProxyBody) -> (Vec<u8>, Option<HeaderMap>) {
        let collected = body.collect().await.expect("body");
        let trailers = collected.trailers().cloned();
        (collected.to_bytes().to_vec(), trailers)
    }

    #[tokio::test]
    async fn a_sent_body_is_resent_whole_with_its_trailers() {
        let mut t = HeaderMap::new();
        t.insert("x-t", "1".parse().unwrap());
        let mut body = RequestBody::new(streamed(&[b"ab", b"cd"], Some(t.clone())), true);
        let first = body.take().expect("first");
        assert!(!body.available(), "nothing is complete before it streamed");
        assert_eq!(drain(first).await, (b"abcd".to_vec(), Some(t.clone())));
        assert!(body.available());
        for _ in 0..2 {
            let again = body.take().expect("resend");
            assert_eq!(again.size_hint().exact(), Some(4));
            assert_eq!(drain(again).await, (b"abcd".to_vec(), Some(t.clone())));
        }
    }

    #[tokio::test]
    async fn without_a_copy_or_over_the_limit_a_sent_body_is_gone() {
        let mut body = RequestBody::new(streamed(&[b"ab"], None), false);
        drain(body.take().expect("first")).await;
        assert!(!body.available() && body.take().is_none());

        static BIG: [u8; REPLAY_LIMIT] = [7; REPLAY_LIMIT];
        let mut body = RequestBody::new(streamed(&[&BIG, b"x"], None), true);
        drain(body.take().expect("first")).await;
        assert!(!body.available() && body.take().is_none());
    }

    #[tokio::test]
    async fn an_unsent_body_is_taken_again_and_recorded_once() {
        let mut body = RequestBody::new(streamed(&[b"ab"], None), true);
        let first = body.take().expect("first");
        body.unsent(Some(first));
        assert_eq!(drain(body.take().expect("unsent")).await.0, b"ab");
        assert_eq!(drain(body.take().expect("resend")).await.0, b"ab");
    }

    #[tokio::test]
    async fn an_empty_body_is_always_available() {
        let mut body = RequestBody::new(empty_body(), true);
        drain(body.take().expect("first")).await;
        assert!(body.available());
        assert!(body.take().expect("again").is_end_stream());
    }
}
