//! Dubbo 2 (`dubbo`): a 16-byte header (magic `0xdabb`, flag, status, id:u64, length:u32)
//! and a body. The flag says request (0x80), two-way (0x40), event i.e. heartbeat (0x20)
//! and the serializer (low 5 bits; hessian2 = 2). Hessian2 request bodies are read as far
//! as routing needs (see [`request`]); everything else passes through untouched.

pub mod request;

use super::hessian2::write_string;
use super::{Detect, Frame, FrameError, FrameHead, FrameKind, RpcHeaders, XCodec};
use bytes::{BufMut, BytesMut};
use mosn_api::error::ProxyErrorKind;

/// The two magic bytes every Dubbo frame starts with.
pub const MAGIC: [u8; 2] = [0xda, 0xbb];
/// Fixed header length.
pub const HEADER_LEN: usize = 16;
const FLAG_REQUEST: u8 = 0x80;
const FLAG_TWO_WAY: u8 = 0x40;
const FLAG_EVENT: u8 = 0x20;
const SERIALIZATION_MASK: u8 = 0x1f;
/// Serialization id of hessian2.
pub const HESSIAN2: u8 = 2;
/// Hessian's null, the body of heartbeat events.
const NULL: u8 = b'N';

/// Dubbo response statuses.
pub mod status {
    /// Success.
    pub const OK: u8 = 20;
    /// The client gave up waiting.
    pub const CLIENT_TIMEOUT: u8 = 30;
    /// The server gave up waiting.
    pub const SERVER_TIMEOUT: u8 = 31;
    /// The request was refused.
    pub const BAD_REQUEST: u8 = 40;
    /// No such service (MOSN: no route, no healthy host).
    pub const SERVICE_NOT_FOUND: u8 = 60;
    /// The service failed.
    pub const SERVICE_ERROR: u8 = 70;
    /// The server failed.
    pub const SERVER_ERROR: u8 = 80;
    /// The server's thread pool is exhausted.
    pub const THREADPOOL_EXHAUSTED: u8 = 100;
}

/// One Dubbo frame: the header fields and the body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DubboFrame<'a> {
    /// Direction, two-way, event and serializer bits.
    pub flag: u8,
    /// Response status (0 in requests).
    pub status: u8,
    /// Request id.
    pub id: u64,
    /// The body.
    pub body: &'a [u8],
}

impl<'a> DubboFrame<'a> {
    /// Parses one whole frame (`buf` holds exactly the frame's bytes).
    pub fn parse(buf: &'a [u8]) -> Result<Self, FrameError> {
        let total = measure(buf)?.ok_or(FrameError::Malformed("truncated Dubbo header"))?;
        if buf.len() != total {
            return Err(FrameError::Malformed(
                "Dubbo length does not match the frame",
            ));
        }
        let mut id = [0; 8];
        id.copy_from_slice(&buf[4..12]);
        Ok(Self {
            flag: buf[2],
            status: buf[3],
            id: u64::from_be_bytes(id),
            body: &buf[HEADER_LEN..],
        })
    }

    /// Writes the frame.
    pub fn encode(&self, out: &mut impl BufMut) {
        out.put_slice(&MAGIC);
        out.put_u8(self.flag);
        out.put_u8(self.status);
        out.put_u64(self.id);
        out.put_u32(self.body.len() as u32);
        out.put_slice(self.body);
    }

    fn head(&self) -> FrameHead {
        let kind = match (self.flag & FLAG_REQUEST != 0, self.flag & FLAG_EVENT != 0) {
            (true, true) => FrameKind::HeartbeatRequest,
            (true, false) if self.flag & FLAG_TWO_WAY == 0 => FrameKind::Oneway,
            (true, false) => FrameKind::Request,
            (false, true) => FrameKind::HeartbeatResponse,
            (false, false) => FrameKind::Response,
        };
        FrameHead {
            kind,
            request_id: self.id,
            status: u16::from(self.status),
            timeout: None,
            variant: [self.flag, 0, 0, 0],
        }
    }
}

/// The frame's total length from its header; `Ok(None)` until the header is complete.
fn measure(buf: &[u8]) -> Result<Option<usize>, FrameError> {
    for (i, &m) in MAGIC.iter().enumerate() {
        match buf.get(i) {
            None => return Ok(None),
            Some(&b) if b != m => return Err(FrameError::Malformed("bad Dubbo magic")),
            Some(_) => {}
        }
    }
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[12], buf[13], buf[14], buf[15]]) as usize;
    Ok(Some(HEADER_LEN + len))
}

/// The Dubbo codec.
#[derive(Debug)]
pub struct Dubbo;

/// The `dubbo` codec.
pub static DUBBO: Dubbo = Dubbo;

fn build(f: &DubboFrame<'_>) -> Frame {
    let mut bytes = BytesMut::with_capacity(HEADER_LEN + f.body.len());
    f.encode(&mut bytes);
    Frame {
        head: f.head(),
        headers: RpcHeaders::default(),
        bytes,
    }
}

/// The flag of a response to `request`: same serializer, event bit kept.
fn response_flag(request: &FrameHead, event: bool) -> u8 {
    let serialization = request.variant[0] & SERIALIZATION_MASK;
    serialization | if event { FLAG_EVENT } else { 0 }
}

impl XCodec for Dubbo {
    fn name(&self) -> &'static str {
        "dubbo"
    }

    fn detect(&self, buf: &[u8]) -> Detect {
        match measure(buf) {
            Err(_) => Detect::NoMatch,
            Ok(_) if buf.len() < MAGIC.len() => Detect::NeedMore,
            Ok(_) => Detect::Match,
        }
    }

    fn decode(&self, buf: &mut BytesMut, max_frame: usize) -> Result<Option<Frame>, FrameError> {
        let Some(bytes) = super::frame::take_frame(buf, measure(buf)?, max_frame)? else {
            return Ok(None);
        };
        let f = DubboFrame::parse(&bytes)?;
        let head = f.head();
        let hessian_call = f.flag & SERIALIZATION_MASK == HESSIAN2
            && matches!(head.kind, FrameKind::Request | FrameKind::Oneway);
        let headers = if hessian_call {
            request::request_headers(f.body)
        } else {
            RpcHeaders::default()
        };
        Ok(Some(Frame {
            head,
            headers,
            bytes,
        }))
    }

    fn set_request_id(&self, frame: &mut Frame, id: u64) {
        frame.head.request_id = id;
        if frame.bytes.len() >= HEADER_LEN {
            frame.bytes[4..12].copy_from_slice(&id.to_be_bytes());
        }
    }

    fn next_request_id(&self, previous: u64) -> u64 {
        previous.wrapping_add(1)
    }

    fn heartbeat(&self, id: u64) -> Frame {
        build(&DubboFrame {
            flag: FLAG_REQUEST | FLAG_TWO_WAY | FLAG_EVENT | HESSIAN2,
            status: 0,
            id,
            body: &[NULL],
        })
    }

    fn heartbeat_reply(&self, request: &FrameHead) -> Frame {
        build(&DubboFrame {
            flag: response_flag(request, true),
            status: status::OK,
            id: request.request_id,
            body: &[NULL],
        })
    }

    fn local_reply(&self, request: &FrameHead, error: ProxyErrorKind) -> Frame {
        // MOSN's `dubboMosnStatusMap`: the body is the error message as a hessian string.
        let (status, message) = match error {
            ProxyErrorKind::NoRoute => (status::SERVICE_NOT_FOUND, "404|router unavailable"),
            ProxyErrorKind::NoCluster | ProxyErrorKind::NoHealthyUpstream => {
                (status::SERVICE_NOT_FOUND, "502|no health upstream")
            }
            ProxyErrorKind::Overflow => (status::BAD_REQUEST, "503|upstream overflow"),
            ProxyErrorKind::UpstreamTimeout | ProxyErrorKind::ConnectTimeout => {
                (status::CLIENT_TIMEOUT, "504|timeout")
            }
            ProxyErrorKind::ConnectFailure | ProxyErrorKind::UpstreamReset => {
                (status::SERVICE_ERROR, "502|upstream connection closed")
            }
            ProxyErrorKind::BadRequest | ProxyErrorKind::UpstreamProtocolError => {
                (status::SERVICE_ERROR, "0|codec exception")
            }
            _ => (status::SERVICE_ERROR, "500|internal error"),
        };
        let mut body = Vec::with_capacity(message.len() + 1);
        write_string(message, &mut body);
        build(&DubboFrame {
            flag: response_flag(request, false),
            status,
            id: request.request_id,
            body: &body,
        })
    }

    fn http_status(&self, response: &FrameHead) -> u16 {
        match response.status as u8 {
            status::OK => 200,
            status::CLIENT_TIMEOUT | status::SERVER_TIMEOUT => 504,
            status::THREADPOOL_EXHAUSTED => 503,
            status::BAD_REQUEST => 400,
            status::SERVICE_NOT_FOUND => 404,
            _ => 500,
        }
    }
}
