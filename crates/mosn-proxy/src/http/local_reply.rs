//! Replies the proxy writes itself: `direct_response` and `redirect` routes.

use bytes::BytesMut;
use http::header::{CONNECTION, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, HeaderValue, StatusCode, Version};
use mosn_config::RedirectAction;
use mosn_protocol::http1::{encode_response_head, BodyKind, RequestHead, ResponseHead};

/// Encodes a `direct_response` with exactly the configured body.
pub(super) fn direct(status: u16, body: &str, close: bool, out: &mut BytesMut) {
    let mut headers = HeaderMap::new();
    if !body.is_empty() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    }
    encode(status, headers, body.as_bytes(), close, out);
}

/// Encodes a `redirect` for `req` and returns its status.
pub(super) fn redirect(
    r: &RedirectAction,
    req: &RequestHead,
    host: &str,
    close: bool,
    out: &mut BytesMut,
) -> u16 {
    let scheme = r.scheme_redirect.as_deref().unwrap_or("http");
    let host = r.host_redirect.as_deref().unwrap_or(host);
    let path = r.path_redirect.as_deref().unwrap_or(req.path());
    let location = match req.query() {
        Some(q) if r.path_redirect.is_none() => format!("{scheme}://{host}{path}?{q}"),
        _ => format!("{scheme}://{host}{path}"),
    };
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&location) {
        headers.insert(LOCATION, v);
    }
    let status = if r.response_code == 0 {
        301
    } else {
        r.response_code
    };
    encode(status, headers, b"", close, out);
    status
}

fn encode(status: u16, mut headers: HeaderMap, body: &[u8], close: bool, out: &mut BytesMut) {
    if close {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let head = ResponseHead {
        version: Version::HTTP_11,
        status,
        reason: bytes::Bytes::from_static(status.canonical_reason().unwrap_or("").as_bytes()),
        headers,
    };
    encode_response_head(&head, &BodyKind::Length(body.len() as u64), out);
    out.extend_from_slice(body);
}
