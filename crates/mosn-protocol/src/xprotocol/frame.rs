//! The protocol-neutral frame every codec decodes to and builds.

use bytes::BytesMut;
use std::time::Duration;

/// What a frame is, across protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A request expecting a response.
    Request,
    /// A request without a response.
    Oneway,
    /// A response to a request.
    Response,
    /// A keep-alive probe expecting a reply.
    HeartbeatRequest,
    /// The reply to a keep-alive probe.
    HeartbeatResponse,
}

/// The fixed facts of a frame: small and `Copy`, so a proxy keeps it per pending request
/// to build a local reply later without keeping the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHead {
    /// Request, response, heartbeat...
    pub kind: FrameKind,
    /// The request id as on the wire.
    pub request_id: u64,
    /// The protocol's response status (0 for requests).
    pub status: u16,
    /// The timeout the client put in the request, if the protocol carries one.
    pub timeout: Option<Duration>,
    /// Codec-private facts needed to answer in the same protocol version
    /// (Bolt: protocol code, version, serializer, switch; Dubbo: flag).
    pub(crate) variant: [u8; 4],
}

/// One decoded frame: its head, the headers routing reads, and its exact wire bytes.
#[derive(Debug)]
pub struct Frame {
    /// Kind, id, status.
    pub head: FrameHead,
    /// Headers exposed to routing (Bolt's header map; Dubbo's service, method, version
    /// and attachments).
    pub headers: RpcHeaders,
    /// The whole frame as sent on the wire; the body inside is never re-serialized.
    pub bytes: BytesMut,
}

/// Why bytes are not a valid frame. After any of these the stream is out of step.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// The frame declares more bytes than allowed.
    #[error("frame of {len} bytes exceeds the {max} byte limit")]
    TooLarge {
        /// Declared frame length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A field has a value the protocol does not define, or lengths do not add up.
    #[error("malformed frame: {0}")]
    Malformed(&'static str),
    /// Bolt v2's CRC32 does not match the frame.
    #[error("frame CRC32 mismatch")]
    BadCrc,
}

/// Header name/value pairs in wire order; names compare ASCII case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpcHeaders(Vec<(String, String)>);

impl RpcHeaders {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Appends a pair.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// All pairs in order.
    pub fn as_slice(&self) -> &[(String, String)] {
        &self.0
    }
}

/// Splits one whole frame of `total` bytes off the front of `buf` once it has arrived;
/// `None` while more bytes are needed (or `total` is not known yet). A frame larger than
/// `max_frame` is an error before any of it is buffered further.
pub(crate) fn take_frame(
    buf: &mut BytesMut,
    total: Option<usize>,
    max_frame: usize,
) -> Result<Option<BytesMut>, FrameError> {
    let Some(total) = total else {
        return Ok(None);
    };
    if total > max_frame {
        return Err(FrameError::TooLarge {
            len: total,
            max: max_frame,
        });
    }
    if buf.len() < total {
        return Ok(None);
    }
    Ok(Some(buf.split_to(total)))
}
