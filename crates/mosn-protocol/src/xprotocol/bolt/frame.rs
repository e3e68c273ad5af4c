//! The SOFA Bolt wire layout, v1 and v2, parsed and written field by field.
//!
//! ```text
//! v1 request : proto=1 type cmd:u16 ver2 id:u32 codec timeout:i32      class:u16 header:u16 content:u32
//! v1 response: proto=1 type cmd:u16 ver2 id:u32 codec status:u16       class:u16 header:u16 content:u32
//! v2 request : proto=2 ver1 type cmd:u16 ver2 id:u32 codec switch timeout:i32 ...lengths as v1
//! v2 response: proto=2 ver1 type cmd:u16 ver2 id:u32 codec switch status:u16  ...lengths as v1
//! then: class name, header map (i32 length-prefixed key/value pairs), content,
//! and for v2 with ver1 >= 2 and switch bit 0 set: CRC32 of everything before it.
//! ```

use crate::xprotocol::{FrameError, RpcHeaders};
use bytes::BufMut;

/// Protocol code of Bolt v1.
pub const PROTO_V1: u8 = 1;
/// Protocol code of Bolt v2.
pub const PROTO_V2: u8 = 2;
/// `type` of a response.
pub const TYPE_RESPONSE: u8 = 0;
/// `type` of a request.
pub const TYPE_REQUEST: u8 = 1;
/// `type` of a oneway request.
pub const TYPE_ONEWAY: u8 = 2;
/// `cmd` of a heartbeat (request or response).
pub const CMD_HEARTBEAT: u16 = 0;
/// `cmd` of an RPC request.
pub const CMD_REQUEST: u16 = 1;
/// `cmd` of an RPC response.
pub const CMD_RESPONSE: u16 = 2;
/// Serializer byte of hessian2 (what heartbeats and local replies carry).
pub const CODEC_HESSIAN2: u8 = 1;

/// One Bolt frame, borrowing its class, content and raw bytes from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoltFrame<'a> {
    /// Protocol code: 1 or 2.
    pub proto: u8,
    /// v2's protocol version (`ver1`); 0 for v1.
    pub ver1: u8,
    /// Response, request or oneway.
    pub typ: u8,
    /// Heartbeat, request or response command.
    pub cmd: u16,
    /// Command version (`ver2`).
    pub ver2: u8,
    /// Request id.
    pub id: u32,
    /// Serializer: hessian2 = 1, protobuf = 11.
    pub codec: u8,
    /// v2's switch byte (bit 0: CRC32); 0 for v1.
    pub switch: u8,
    /// Requests: the client's timeout in ms. Responses: the status in the low 16 bits.
    pub timeout_or_status: u32,
    /// Class name (e.g. `com.alipay.sofa.rpc.core.request.SofaRequest`).
    pub class: &'a [u8],
    /// The header map.
    pub headers: RpcHeaders,
    /// The serialized body, passed through untouched.
    pub content: &'a [u8],
}

/// Where the fixed fields sit for one protocol code and type.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    /// Bytes before the protocol-independent part (`ver1` in v2).
    shift: usize,
    /// Fixed header length.
    pub(super) fixed: usize,
    /// Whether the frame carries a 4-byte CRC32 trailer.
    pub(super) crc: bool,
}

impl Layout {
    /// Offset of the request id.
    pub(super) fn id_at(self) -> usize {
        5 + self.shift
    }
}

/// The frame's layout and total length from its first bytes: `Ok(None)` when the fixed
/// header is not complete yet.
pub(super) fn measure(buf: &[u8]) -> Result<Option<(Layout, usize)>, FrameError> {
    let Some(&proto) = buf.first() else {
        return Ok(None);
    };
    let shift = match proto {
        PROTO_V1 => 0,
        PROTO_V2 => 1,
        _ => return Err(FrameError::Malformed("unknown Bolt protocol code")),
    };
    let Some(&typ) = buf.get(1 + shift) else {
        return Ok(None);
    };
    let request = match typ {
        TYPE_REQUEST | TYPE_ONEWAY => true,
        TYPE_RESPONSE => false,
        _ => return Err(FrameError::Malformed("unknown Bolt command type")),
    };
    // v2 adds ver1 and switch; requests carry a 4-byte timeout, responses a 2-byte status.
    let fixed = 20 + 2 * shift + if request { 2 } else { 0 };
    if buf.len() < fixed {
        return Ok(None);
    }
    let crc = proto == PROTO_V2 && buf[1] >= 2 && buf[11] & 1 == 1;
    let lens = fixed - 8;
    let class = usize::from(u16::from_be_bytes([buf[lens], buf[lens + 1]]));
    let header = usize::from(u16::from_be_bytes([buf[lens + 2], buf[lens + 3]]));
    let content = be32(&buf[lens + 4..]) as usize;
    let total = fixed + class + header + content + if crc { 4 } else { 0 };
    Ok(Some((Layout { shift, fixed, crc }, total)))
}

impl<'a> BoltFrame<'a> {
    /// Parses one whole frame (`buf` holds exactly the frame's bytes).
    pub fn parse(buf: &'a [u8]) -> Result<Self, FrameError> {
        let Some((layout, total)) = measure(buf)? else {
            return Err(FrameError::Malformed("truncated Bolt header"));
        };
        if buf.len() != total {
            return Err(FrameError::Malformed("Bolt lengths do not match the frame"));
        }
        let body_end = if layout.crc {
            let (data, sum) = buf.split_at(total - 4);
            if crc32fast::hash(data) != be32(sum) {
                return Err(FrameError::BadCrc);
            }
            total - 4
        } else {
            total
        };
        let s = layout.shift;
        let cmd = u16::from_be_bytes([buf[2 + s], buf[3 + s]]);
        let typ = buf[1 + s];
        if !matches!(
            (typ, cmd),
            (TYPE_REQUEST | TYPE_ONEWAY, CMD_REQUEST)
                | (TYPE_REQUEST, CMD_HEARTBEAT)
                | (TYPE_RESPONSE, CMD_RESPONSE | CMD_HEARTBEAT)
        ) {
            return Err(FrameError::Malformed("unknown Bolt command code"));
        }
        let request = typ != TYPE_RESPONSE;
        let lens = layout.fixed - 8;
        let class_len = usize::from(u16::from_be_bytes([buf[lens], buf[lens + 1]]));
        let header_len = usize::from(u16::from_be_bytes([buf[lens + 2], buf[lens + 3]]));
        let class_end = layout.fixed + class_len;
        let header_end = class_end + header_len;
        let timeout_or_status = if request {
            be32(&buf[10 + 2 * s..])
        } else {
            u32::from(u16::from_be_bytes([buf[10 + 2 * s], buf[11 + 2 * s]]))
        };
        Ok(Self {
            proto: buf[0],
            ver1: if s == 1 { buf[1] } else { 0 },
            typ,
            cmd,
            ver2: buf[4 + s],
            id: be32(&buf[layout.id_at()..]),
            codec: buf[9 + s],
            switch: if s == 1 { buf[11] } else { 0 },
            timeout_or_status,
            class: &buf[layout.fixed..class_end],
            headers: parse_headers(&buf[class_end..header_end])?,
            content: &buf[header_end..body_end],
        })
    }

    /// Writes the frame (with its CRC32 when the v2 switch asks for one).
    pub fn encode(&self, out: &mut impl BufMut) {
        let mut buf = Vec::with_capacity(32 + self.class.len() + self.content.len());
        buf.push(self.proto);
        let v2 = self.proto == PROTO_V2;
        if v2 {
            buf.push(self.ver1);
        }
        buf.push(self.typ);
        buf.extend_from_slice(&self.cmd.to_be_bytes());
        buf.push(self.ver2);
        buf.extend_from_slice(&self.id.to_be_bytes());
        buf.push(self.codec);
        if v2 {
            buf.push(self.switch);
        }
        if self.typ == TYPE_RESPONSE {
            buf.extend_from_slice(&(self.timeout_or_status as u16).to_be_bytes());
        } else {
            buf.extend_from_slice(&self.timeout_or_status.to_be_bytes());
        }
        let mut headers = Vec::new();
        for (k, v) in self.headers.as_slice() {
            for part in [k, v] {
                headers.extend_from_slice(&(part.len() as u32).to_be_bytes());
                headers.extend_from_slice(part.as_bytes());
            }
        }
        buf.extend_from_slice(&(self.class.len() as u16).to_be_bytes());
        buf.extend_from_slice(&(headers.len() as u16).to_be_bytes());
        buf.extend_from_slice(&(self.content.len() as u32).to_be_bytes());
        buf.extend_from_slice(self.class);
        buf.extend_from_slice(&headers);
        buf.extend_from_slice(self.content);
        if v2 && self.ver1 >= 2 && self.switch & 1 == 1 {
            let sum = crc32fast::hash(&buf);
            buf.extend_from_slice(&sum.to_be_bytes());
        }
        out.put_slice(&buf);
    }
}

/// Bolt's header map: `i32` length + bytes for each key and value (Java writes -1 for a
/// null string, read here as empty).
fn parse_headers(mut b: &[u8]) -> Result<RpcHeaders, FrameError> {
    let mut headers = RpcHeaders::default();
    let take = |b: &mut &[u8]| -> Result<String, FrameError> {
        let bad = FrameError::Malformed("Bolt header map lengths do not add up");
        if b.len() < 4 {
            return Err(bad);
        }
        let len = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        *b = &b[4..];
        if len == -1 {
            return Ok(String::new());
        }
        let len = usize::try_from(len).map_err(|_| bad.clone())?;
        if b.len() < len {
            return Err(bad);
        }
        let (s, rest) = b.split_at(len);
        *b = rest;
        String::from_utf8(s.to_vec()).map_err(|_| FrameError::Malformed("Bolt header is not UTF-8"))
    };
    while !b.is_empty() {
        let key = take(&mut b)?;
        let value = take(&mut b)?;
        headers.push(key, value);
    }
    Ok(headers)
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}
