//! SOFA Bolt, v1 (`bolt`) and v2 (`boltv2`). Both codecs decode either version, as
//! MOSN's do (a SOFA client may mix them on one connection); they differ in what they
//! detect and in the version of the heartbeats they originate. Replies always use the
//! request's version (and CRC switch).

mod frame;

pub use frame::BoltFrame;
use frame::{
    measure, CMD_HEARTBEAT, CMD_REQUEST, CMD_RESPONSE, CODEC_HESSIAN2, PROTO_V1, PROTO_V2,
    TYPE_ONEWAY, TYPE_REQUEST, TYPE_RESPONSE,
};

use super::{Detect, Frame, FrameError, FrameHead, FrameKind, RpcHeaders, XCodec};
use bytes::BytesMut;
use mosn_api::error::ProxyErrorKind;
use std::time::Duration;

/// Bolt response statuses (sofa-bolt's `ResponseStatus`).
pub mod status {
    /// Success.
    pub const SUCCESS: u16 = 0;
    /// The server threw while serving the call.
    pub const SERVER_EXCEPTION: u16 = 2;
    /// Unknown failure.
    pub const UNKNOWN: u16 = 3;
    /// The server is overloaded.
    pub const SERVER_THREADPOOL_BUSY: u16 = 4;
    /// No processor for the request (MOSN: no route, no healthy host).
    pub const NO_PROCESSOR: u16 = 6;
    /// The call timed out.
    pub const TIMEOUT: u16 = 7;
    /// The frame could not be encoded or decoded.
    pub const CODEC_EXCEPTION: u16 = 9;
    /// The connection to the server closed.
    pub const CONNECTION_CLOSED: u16 = 16;
}

/// A Bolt codec originating frames of one protocol version.
#[derive(Debug)]
pub struct Bolt {
    name: &'static str,
    proto: u8,
}

/// The `bolt` codec (v1 heartbeats; decodes v1 and v2).
pub static BOLT_V1: Bolt = Bolt {
    name: "bolt",
    proto: PROTO_V1,
};

/// The `boltv2` codec (v2 heartbeats with CRC32; decodes v1 and v2).
pub static BOLT_V2: Bolt = Bolt {
    name: "boltv2",
    proto: PROTO_V2,
};

impl Bolt {
    /// A two-way RPC request of this codec's version (v2 with CRC32) built from parts,
    /// for requests that did not arrive as Bolt (the HTTP `transcoder`). Its id is 0
    /// until the upstream connection assigns one; `timeout` travels in whole ms. Parts
    /// longer than the frame's length fields can say are refused.
    pub fn request(
        &self,
        class: &[u8],
        serializer: u8,
        headers: RpcHeaders,
        content: &[u8],
        timeout: Duration,
    ) -> Result<Frame, FrameError> {
        let header_bytes: usize = headers
            .as_slice()
            .iter()
            .map(|(k, v)| 8 + k.len() + v.len())
            .sum();
        if class.len() > usize::from(u16::MAX) || header_bytes > usize::from(u16::MAX) {
            return Err(FrameError::Malformed(
                "Bolt class name or header map longer than 65,535 bytes",
            ));
        }
        if u32::try_from(content.len()).is_err() {
            return Err(FrameError::TooLarge {
                len: content.len(),
                max: u32::MAX as usize,
            });
        }
        let v2 = self.proto == PROTO_V2;
        let millis = u32::try_from(timeout.as_millis()).unwrap_or(i32::MAX as u32);
        Ok(build(BoltFrame {
            proto: self.proto,
            ver1: if v2 { 2 } else { 0 },
            typ: TYPE_REQUEST,
            cmd: CMD_REQUEST,
            ver2: 1,
            id: 0,
            codec: serializer,
            switch: u8::from(v2),
            timeout_or_status: millis.min(i32::MAX as u32),
            class,
            headers,
            content,
        }))
    }

    /// A frame of the request's version answering it (a heartbeat reply or local reply).
    fn reply(request: &FrameHead, cmd: u16, status: u16) -> Frame {
        let [proto, ver1, codec, switch] = request.variant;
        build(BoltFrame {
            proto,
            ver1,
            typ: TYPE_RESPONSE,
            cmd,
            ver2: 1,
            id: request.request_id as u32,
            codec,
            switch,
            timeout_or_status: u32::from(status),
            class: &[],
            headers: RpcHeaders::default(),
            content: &[],
        })
    }
}

/// Encodes a frame built locally and wraps it as a decoded one.
fn build(f: BoltFrame<'_>) -> Frame {
    let mut bytes = BytesMut::new();
    f.encode(&mut bytes);
    Frame {
        head: head_of(&f),
        headers: f.headers,
        bytes,
    }
}

fn head_of(f: &BoltFrame<'_>) -> FrameHead {
    let kind = match (f.typ, f.cmd) {
        (TYPE_ONEWAY, _) => FrameKind::Oneway,
        (TYPE_REQUEST, CMD_HEARTBEAT) => FrameKind::HeartbeatRequest,
        (TYPE_REQUEST, _) => FrameKind::Request,
        (_, CMD_HEARTBEAT) => FrameKind::HeartbeatResponse,
        _ => FrameKind::Response,
    };
    let request = f.typ != TYPE_RESPONSE;
    let timeout = (request && f.timeout_or_status as i32 > 0)
        .then(|| Duration::from_millis(u64::from(f.timeout_or_status)));
    FrameHead {
        kind,
        request_id: u64::from(f.id),
        status: if request {
            0
        } else {
            f.timeout_or_status as u16
        },
        timeout,
        variant: [f.proto, f.ver1, f.codec, f.switch],
    }
}

impl XCodec for Bolt {
    fn name(&self) -> &'static str {
        self.name
    }

    fn detect(&self, buf: &[u8]) -> Detect {
        // v1: code, type. v2: code, ver1 (1 or 2), type.
        let pattern: &[&[u8]] = if self.proto == PROTO_V1 {
            &[&[PROTO_V1], &[TYPE_RESPONSE, TYPE_REQUEST, TYPE_ONEWAY]]
        } else {
            &[
                &[PROTO_V2],
                &[1, 2],
                &[TYPE_RESPONSE, TYPE_REQUEST, TYPE_ONEWAY],
            ]
        };
        for (i, allowed) in pattern.iter().enumerate() {
            match buf.get(i) {
                None => return Detect::NeedMore,
                Some(b) if !allowed.contains(b) => return Detect::NoMatch,
                Some(_) => {}
            }
        }
        Detect::Match
    }

    fn decode(&self, buf: &mut BytesMut, max_frame: usize) -> Result<Option<Frame>, FrameError> {
        let total = measure(buf)?.map(|(_, total)| total);
        let Some(bytes) = super::frame::take_frame(buf, total, max_frame)? else {
            return Ok(None);
        };
        let f = BoltFrame::parse(&bytes)?;
        let head = head_of(&f);
        let headers = f.headers;
        Ok(Some(Frame {
            head,
            headers,
            bytes,
        }))
    }

    fn set_request_id(&self, frame: &mut Frame, id: u64) {
        frame.head.request_id = u64::from(id as u32);
        let Ok(Some((layout, total))) = measure(&frame.bytes) else {
            return;
        };
        let at = layout.id_at();
        frame.bytes[at..at + 4].copy_from_slice(&(id as u32).to_be_bytes());
        if layout.crc && total == frame.bytes.len() {
            let sum = crc32fast::hash(&frame.bytes[..total - 4]);
            frame.bytes[total - 4..].copy_from_slice(&sum.to_be_bytes());
        }
    }

    fn next_request_id(&self, previous: u64) -> u64 {
        // Id 0 is skipped: some clients treat it as "no id".
        match (previous as u32).wrapping_add(1) {
            0 => 1,
            id => u64::from(id),
        }
    }

    fn heartbeat(&self, id: u64) -> Frame {
        let v2 = self.proto == PROTO_V2;
        build(BoltFrame {
            proto: self.proto,
            ver1: if v2 { 2 } else { 0 },
            typ: TYPE_REQUEST,
            cmd: CMD_HEARTBEAT,
            ver2: 1,
            id: id as u32,
            codec: CODEC_HESSIAN2,
            switch: u8::from(v2),
            timeout_or_status: u32::MAX, // -1: no timeout, as MOSN and sofa-bolt send
            class: &[],
            headers: RpcHeaders::default(),
            content: &[],
        })
    }

    fn heartbeat_reply(&self, request: &FrameHead) -> Frame {
        Self::reply(request, CMD_HEARTBEAT, status::SUCCESS)
    }

    fn local_reply(&self, request: &FrameHead, error: ProxyErrorKind) -> Frame {
        // MOSN's mapping (pkg/protocol/xprotocol/bolt `Mapping`), resets made explicit.
        let status = match error {
            ProxyErrorKind::NoRoute
            | ProxyErrorKind::NoCluster
            | ProxyErrorKind::NoHealthyUpstream => status::NO_PROCESSOR,
            ProxyErrorKind::Overflow => status::SERVER_THREADPOOL_BUSY,
            ProxyErrorKind::UpstreamTimeout | ProxyErrorKind::ConnectTimeout => status::TIMEOUT,
            ProxyErrorKind::ConnectFailure | ProxyErrorKind::UpstreamReset => {
                status::CONNECTION_CLOSED
            }
            ProxyErrorKind::BadRequest | ProxyErrorKind::UpstreamProtocolError => {
                status::CODEC_EXCEPTION
            }
            _ => status::UNKNOWN,
        };
        Self::reply(request, CMD_RESPONSE, status)
    }

    fn http_status(&self, response: &FrameHead) -> u16 {
        match response.status {
            status::SUCCESS => 200,
            status::SERVER_THREADPOOL_BUSY => 503,
            status::TIMEOUT => 504,
            status::CONNECTION_CLOSED => 502,
            _ => 500,
        }
    }
}
