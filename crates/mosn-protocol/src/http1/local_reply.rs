//! Small locally generated responses (errors, health checks).

use bytes::BytesMut;
use http::{StatusCode, Version};

use super::encode::put_status_line;

/// Appends a complete HTTP/1.1 response: status line, `content-type:
/// text/plain`, `content-length`, `connection: close` if `close`, then `body`
/// followed by `\n` (unless it already ends with one). Statuses outside
/// 100..=999 become 500; 1xx, 204 and 304 get no body or body headers.
pub fn encode_local_reply(status: u16, body: &str, close: bool, out: &mut BytesMut) {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = status.as_u16();
    let bodyless = (100..200).contains(&code) || code == 204 || code == 304;
    let newline: &[u8] = if body.ends_with('\n') { b"" } else { b"\n" };
    out.reserve(128 + body.len());
    put_status_line(out, Version::HTTP_11, status, b"");
    if !bodyless {
        out.extend_from_slice(b"content-type: text/plain\r\ncontent-length: ");
        let mut n = itoa::Buffer::new();
        out.extend_from_slice(n.format(body.len() + newline.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !bodyless {
        out.extend_from_slice(body.as_bytes());
        out.extend_from_slice(newline);
    }
}
