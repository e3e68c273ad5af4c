//! `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Request-Id`, as Envoy sets them at the edge.

use http::header::HeaderName;
use http::{HeaderMap, HeaderValue};
use mosn_net::ConnectionInfo;

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Appends the client's address to `X-Forwarded-For`, sets `X-Forwarded-Proto` when the
/// client did not, and gives the request an `X-Request-Id` (a UUID v4) unless it has one.
pub(super) fn add(headers: &mut HeaderMap, info: &ConnectionInfo) {
    if let Some(remote) = info.remote {
        let ip = remote.ip().to_canonical().to_string();
        let value = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
            Some(existing) if !existing.trim().is_empty() => format!("{existing}, {ip}"),
            _ => ip,
        };
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(X_FORWARDED_FOR.clone(), v);
        }
    }
    if !headers.contains_key(&X_FORWARDED_PROTO) {
        let proto = if info.is_tls() { "https" } else { "http" };
        headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto));
    }
    if !headers.contains_key(&X_REQUEST_ID) {
        headers.insert(X_REQUEST_ID.clone(), request_id());
    }
}

/// A random UUID v4 in its canonical text form.
fn request_id() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = fastrand::u128(..).to_be_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    let mut out = [0u8; 36];
    let mut pos = 0;
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out[pos] = b'-';
            pos += 1;
        }
        out[pos] = HEX[usize::from(b >> 4)];
        out[pos + 1] = HEX[usize::from(b & 0xf)];
        pos += 2;
    }
    HeaderValue::from_bytes(&out).unwrap_or_else(|_| HeaderValue::from_static("0"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn info() -> ConnectionInfo {
        ConnectionInfo {
            listener: Arc::new("l".to_owned()),
            remote: Some("127.0.0.9:5000".parse().unwrap()),
            ..Default::default()
        }
    }

    #[test]
    fn appends_client_address_and_keeps_existing_ids() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        h.insert("x-request-id", HeaderValue::from_static("abc"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        add(&mut h, &info());
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 127.0.0.9");
        assert_eq!(h["x-request-id"], "abc");
        assert_eq!(h["x-forwarded-proto"], "https");
    }

    #[test]
    fn generates_uuid_v4_request_ids() {
        let mut h = HeaderMap::new();
        add(&mut h, &info());
        let id = h["x-request-id"].to_str().unwrap().to_string();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(h["x-forwarded-for"], "127.0.0.9");
        assert_eq!(h["x-forwarded-proto"], "http");
        let mut h2 = HeaderMap::new();
        add(&mut h2, &info());
        assert_ne!(h2["x-request-id"], h["x-request-id"]);
    }
}
