//! Writing a streamed [`ProxyBody`] with HTTP/1.1 framing, shared by both directions of a
//! converted exchange: a request body to an HTTP/1 upstream and a response body to an
//! HTTP/1 client.

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_LENGTH;
use http::HeaderMap;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use mosn_protocol::http1::{BodyEncoder, BodyKind};
use mosn_stream::{BodyError, ProxyBody};
use std::task::Poll;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Pending bytes are written once they reach this size (or the body pauses or ends).
const FLUSH_AT: usize = 16 * 1024;

/// Why sending a body stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SendError {
    /// The peer being written to failed.
    Write,
    /// The body's source failed (a reset stream, a malformed body).
    Body,
}

/// The HTTP/1 framing for `body` with `headers`: its `content-length` when it has a valid
/// one, nothing when it is already complete, chunked otherwise.
pub(super) fn body_kind_of(headers: &HeaderMap, body: &ProxyBody) -> BodyKind {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(0) => BodyKind::Empty,
        Some(n) => BodyKind::Length(n),
        None if body.is_end_stream() => BodyKind::Empty,
        None => BodyKind::Chunked,
    }
}

/// Writes `out` (typically a message head) and then `body` framed as `kind`, batching
/// small frames; returns the bytes written.
pub(super) async fn send_body<W: AsyncWrite + Unpin>(
    io: &mut W,
    out: &mut BytesMut,
    body: &mut ProxyBody,
    kind: BodyKind,
) -> Result<u64, SendError> {
    let mut written = 0u64;
    let mut encoder = BodyEncoder::new(kind);
    let mut trailers = None;
    if !matches!(kind, BodyKind::Empty) {
        loop {
            if out.len() >= FLUSH_AT {
                written += flush(io, out).await?;
            }
            let frame = match next_frame_now(body).await {
                Some(frame) => frame,
                None => {
                    // Write what is pending before waiting for the source, so the peer
                    // is never kept waiting on bytes the proxy holds.
                    if !out.is_empty() {
                        written += flush(io, out).await?;
                    }
                    body.frame().await
                }
            };
            match frame {
                None => break,
                Some(Err(_)) => return Err(SendError::Body),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => encoder.data(&data, out),
                    Err(frame) => {
                        if let Ok(t) = frame.into_trailers() {
                            trailers = Some(t);
                        }
                    }
                },
            }
        }
        encoder.end(trailers.as_ref(), out);
    }
    written += flush(io, out).await?;
    Ok(written)
}

/// The body's next frame if it is ready without waiting; `None` means it would wait.
async fn next_frame_now(body: &mut ProxyBody) -> Option<Option<Result<Frame<Bytes>, BodyError>>> {
    std::future::poll_fn(|cx| match body.as_mut().poll_frame(cx) {
        Poll::Ready(frame) => Poll::Ready(Some(frame)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

async fn flush<W: AsyncWrite + Unpin>(io: &mut W, out: &mut BytesMut) -> Result<u64, SendError> {
    let n = out.len() as u64;
    io.write_all(out).await.map_err(|_| SendError::Write)?;
    out.clear();
    Ok(n)
}
