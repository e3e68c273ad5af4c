//! Head encoders: start line, header fields and the framing header derived
//! from [`BodyKind`].

use bytes::{BufMut, BytesMut};
use http::header::{HeaderMap, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{Method, StatusCode, Version};

use super::{BodyKind, RequestHead, ResponseHead};

fn version_bytes(v: Version) -> &'static [u8] {
    if v == Version::HTTP_10 {
        b"HTTP/1.0"
    } else {
        b"HTTP/1.1"
    }
}

/// Sum of `name: value\r\n` sizes, to reserve once.
fn headers_len(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum()
}

fn put_header(out: &mut BytesMut, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

fn put_content_length(out: &mut BytesMut, n: u64) {
    let mut buf = itoa::Buffer::new();
    put_header(out, b"content-length", buf.format(n).as_bytes());
}

/// Writes the request-target, percent-encoding bytes that would break the
/// request line (controls, space, DEL); an empty target becomes `/`.
fn put_target(out: &mut BytesMut, t: &[u8]) {
    if t.is_empty() {
        out.put_u8(b'/');
    } else if t.iter().all(|&c| c > 0x20 && c != 0x7f) {
        out.extend_from_slice(t);
    } else {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        for &c in t {
            if c > 0x20 && c != 0x7f {
                out.put_u8(c);
            } else {
                out.extend_from_slice(&[b'%', HEX[(c >> 4) as usize], HEX[(c & 0xf) as usize]]);
            }
        }
    }
}

/// Appends a request head: request line, `head.headers` (minus any
/// `Content-Length` / `Transfer-Encoding`, which are re-derived), the framing
/// header for `body`, and the final CRLF.
///
/// Framing: `Length(n)` → `content-length: n`; `Chunked` → `transfer-encoding:
/// chunked` (`CloseDelimited` cannot frame a request and is sent as chunked
/// too, so pair it with a chunked [`super::BodyEncoder`]); `Empty` →
/// `content-length: 0` for POST, PUT and PATCH, nothing otherwise.
/// The caller has already removed hop-by-hop fields ([`super::strip_hop_by_hop`]).
pub fn encode_request_head(head: &RequestHead, body: &BodyKind, out: &mut BytesMut) {
    out.reserve(head.method.as_str().len() + head.target.len() + 64 + headers_len(&head.headers));
    out.extend_from_slice(head.method.as_str().as_bytes());
    out.put_u8(b' ');
    put_target(out, &head.target);
    out.put_u8(b' ');
    out.extend_from_slice(version_bytes(head.version));
    out.extend_from_slice(b"\r\n");
    for (name, value) in &head.headers {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        put_header(out, name.as_str().as_bytes(), value.as_bytes());
    }
    match *body {
        BodyKind::Length(n) => put_content_length(out, n),
        BodyKind::Chunked | BodyKind::CloseDelimited => {
            put_header(out, b"transfer-encoding", b"chunked")
        }
        BodyKind::Empty => {
            if head.method == Method::POST
                || head.method == Method::PUT
                || head.method == Method::PATCH
            {
                put_content_length(out, 0);
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Is `r` a valid reason-phrase (`*( HTAB / SP / VCHAR / obs-text )`)?
fn valid_reason(r: &[u8]) -> bool {
    r.iter()
        .all(|&c| c == b'\t' || (0x20..0x7f).contains(&c) || c >= 0x80)
}

/// Writes `HTTP/1.x NNN reason\r\n`. An empty or invalid `reason` is replaced
/// by the canonical one.
pub(crate) fn put_status_line(
    out: &mut BytesMut,
    version: Version,
    status: StatusCode,
    reason: &[u8],
) {
    let code = status.as_u16();
    out.extend_from_slice(version_bytes(version));
    out.extend_from_slice(&[
        b' ',
        b'0' + (code / 100 % 10) as u8,
        b'0' + (code / 10 % 10) as u8,
        b'0' + (code % 10) as u8,
        b' ',
    ]);
    if !reason.is_empty() && valid_reason(reason) {
        out.extend_from_slice(reason);
    } else {
        out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a response head: status line (upstream reason kept, canonical one
/// if empty or invalid), `head.headers` (minus `Transfer-Encoding`, and minus
/// `Content-Length` unless `body` is `Empty`), the framing header and the
/// final CRLF.
///
/// Framing: `Length(n)` → `content-length: n`; `Chunked` →
/// `transfer-encoding: chunked` (only valid towards HTTP/1.1 clients: for an
/// HTTP/1.0 client use `CloseDelimited`); `CloseDelimited` → no length, plus
/// `connection: close` if `head.headers` has no `Connection` field; `Empty` →
/// nothing for 1xx and 204; otherwise a `Content-Length` already in
/// `head.headers` is kept (responses to HEAD and 304 describe the
/// representation with it), else `content-length: 0` (not for 304).
pub fn encode_response_head(head: &ResponseHead, body: &BodyKind, out: &mut BytesMut) {
    let status = head.status.as_u16();
    let no_content = (100..200).contains(&status) || status == 204;
    let keep_cl = *body == BodyKind::Empty && !no_content;
    out.reserve(head.reason.len() + 64 + headers_len(&head.headers));
    put_status_line(out, head.version, head.status, &head.reason);
    let mut wrote_cl = false;
    for (name, value) in &head.headers {
        if name == TRANSFER_ENCODING {
            continue;
        }
        if name == CONTENT_LENGTH {
            if !keep_cl || wrote_cl {
                continue;
            }
            wrote_cl = true;
        }
        put_header(out, name.as_str().as_bytes(), value.as_bytes());
    }
    match *body {
        BodyKind::Length(n) => put_content_length(out, n),
        BodyKind::Chunked => put_header(out, b"transfer-encoding", b"chunked"),
        BodyKind::CloseDelimited => {
            if !head.headers.contains_key(CONNECTION) {
                put_header(out, b"connection", b"close");
            }
        }
        BodyKind::Empty => {
            if !no_content && !wrote_cl && status != 304 {
                put_content_length(out, 0);
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}
