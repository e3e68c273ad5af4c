//! xprotocol: one codec interface for every multiplexed RPC protocol (SOFA Bolt v1/v2,
//! Dubbo 2), after MOSN's `pkg/protocol/xprotocol` and Envoy's generic proxy codec.
//!
//! A codec turns bytes into [`Frame`]s and builds the frames a proxy sends on its own
//! (heartbeats, heartbeat replies, local error replies). A decoded frame keeps its wire
//! bytes: the proxy forwards them as they came, rewriting only the request id in place
//! ([`XCodec::set_request_id`]), so bodies are never re-serialized. Headers the router
//! reads are parsed once at decode. A codec knows nothing about routing.
//!
//! A new protocol is one module implementing [`XCodec`] plus one entry in [`CODECS`].
//! See `docs/xprotocol.md`.

pub mod bolt;
pub mod dubbo;
mod frame;
pub mod hessian2;

pub use frame::{Frame, FrameError, FrameHead, FrameKind, RpcHeaders};

use bytes::BytesMut;
use mosn_api::error::ProxyErrorKind;

/// Largest frame a codec accepts unless told otherwise (MOSN's is 1 GiB; a frame is
/// buffered whole, so mosn-rs keeps the default small enough to bound memory).
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// The answer of a protocol detector looking at the first bytes of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detect {
    /// The bytes start a frame of this protocol.
    Match,
    /// Too few bytes to tell; ask again with more.
    NeedMore,
    /// Not this protocol.
    NoMatch,
}

/// One multiplexed RPC protocol. Stateless: one static value serves every connection.
pub trait XCodec: Sync + std::fmt::Debug {
    /// MOSN's protocol name (`bolt`, `boltv2`, `dubbo`).
    fn name(&self) -> &'static str;

    /// Whether `buf` (the first bytes of a connection) starts a frame of this protocol.
    fn detect(&self, buf: &[u8]) -> Detect;

    /// Takes one whole frame off the front of `buf`; `Ok(None)` when more bytes are
    /// needed. A frame larger than `max_frame` or malformed is an error; after an error
    /// the connection is out of step and must be closed.
    fn decode(&self, buf: &mut BytesMut, max_frame: usize) -> Result<Option<Frame>, FrameError>;

    /// Rewrites the request id in the frame's wire bytes (and anything derived from them,
    /// such as Bolt v2's CRC32).
    fn set_request_id(&self, frame: &mut Frame, id: u64);

    /// The id after `previous` on one connection, wrapped to the protocol's id width.
    fn next_request_id(&self, previous: u64) -> u64;

    /// A heartbeat request with this id.
    fn heartbeat(&self, id: u64) -> Frame;

    /// The reply to a heartbeat request, in the request's protocol version.
    fn heartbeat_reply(&self, request: &FrameHead) -> Frame;

    /// A local error reply to `request` (no route, no host, overflow, timeout, reset...),
    /// in the protocol's own status codes.
    fn local_reply(&self, request: &FrameHead, error: ProxyErrorKind) -> Frame;

    /// The HTTP-like status class of a response, for stats and outlier detection (MOSN's
    /// status mapping): 200 for success, 5xx for failures.
    fn http_status(&self, response: &FrameHead) -> u16;
}

/// Every built codec; the proxy and the `Auto` detector look codecs up here by name.
pub static CODECS: &[&dyn XCodec] = &[&bolt::BOLT_V1, &bolt::BOLT_V2, &dubbo::DUBBO];

/// Which registered codec the first bytes of a connection belong to, for protocol
/// detection (`Auto`): `Ok(codec)` on a match, `Err(Detect::NeedMore)` while some codec
/// cannot tell yet, `Err(Detect::NoMatch)` when none matches.
pub fn detect(buf: &[u8]) -> Result<&'static dyn XCodec, Detect> {
    let mut verdict = Detect::NoMatch;
    for c in CODECS {
        match c.detect(buf) {
            Detect::Match => return Ok(*c),
            Detect::NeedMore => verdict = Detect::NeedMore,
            Detect::NoMatch => {}
        }
    }
    Err(verdict)
}

/// The codec named `name` (MOSN's protocol name, case-insensitive).
pub fn codec(name: &str) -> Option<&'static dyn XCodec> {
    CODECS
        .iter()
        .copied()
        .find(|c| c.name().eq_ignore_ascii_case(name))
}
