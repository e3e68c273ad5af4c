//! HTTP/1.1 codec: parse and encode message heads, decide body framing,
//! and decode/encode bodies incrementally.
//!
//! The codec does no I/O. The proxy layer reads bytes into a buffer, asks
//! [`parse_request_head`] / [`parse_response_head`] for a head, uses
//! [`request_body_kind`] / [`response_body_kind`] to learn how the body is
//! framed, then streams the body through a [`BodyDecoder`]. On the way out it
//! calls [`strip_hop_by_hop`], [`encode_request_head`] /
//! [`encode_response_head`] and a [`BodyEncoder`].
//!
//! Design points:
//! - Heads are parsed with `httparse` into a stack array; the head bytes are
//!   copied once into a shared buffer and the request-target, reason phrase
//!   and every header value are zero-copy slices of it.
//! - Strict framing (RFC 9112 §6) to defeat request smuggling: conflicting
//!   `Content-Length`, `Content-Length` together with `Transfer-Encoding`,
//!   unknown transfer-codings, obs-fold, bare LF inside chunked framing and
//!   malformed chunk sizes are all errors.
//! - Nothing here panics on any input.

mod body;
mod encode;
mod error;
mod framing;
mod head;
mod hop_by_hop;
mod local_reply;
mod target;

pub use body::{BodyDecoder, BodyEncoder, BodyEvent};
pub use encode::{encode_request_head, encode_response_head};
pub use error::ParseError;
pub use framing::{request_body_kind, response_body_kind, BodyKind};
pub use head::{parse_request_head, parse_response_head, RequestHead, ResponseHead};
pub use hop_by_hop::{strip_hop_by_hop, wants_keep_alive, ConnectionOptions};
pub use local_reply::encode_local_reply;

/// Size limits applied while parsing heads and trailers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted head (start line + header fields + final CRLF), and
    /// largest accepted trailer section. Default 61440 (60 KiB).
    pub max_head_bytes: usize,
    /// Largest accepted number of header (or trailer) fields. Default 100;
    /// values above [`MAX_HEADERS_CAP`] are treated as [`MAX_HEADERS_CAP`].
    pub max_headers: usize,
}

/// Hard cap on [`Limits::max_headers`]: the parser keeps this many header
/// slots on the stack.
pub const MAX_HEADERS_CAP: usize = 128;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 61440,
            max_headers: 100,
        }
    }
}

impl Limits {
    /// The effective header-count limit (`max_headers` capped at [`MAX_HEADERS_CAP`]).
    pub(crate) fn header_slots(&self) -> usize {
        self.max_headers.min(MAX_HEADERS_CAP)
    }
}
