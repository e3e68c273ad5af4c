//! gRPC awareness of the HTTP proxy: recognising gRPC requests, answering them with gRPC
//! statuses in trailers-only responses when the proxy itself fails them, and honouring
//! `grpc-timeout` as a cap on the route timeout.

use bytes::Bytes;
use http::header::{HeaderName, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use hyper::body::Frame;
use mosn_api::error::ProxyErrorKind;
use mosn_api::stats::ListenerStats;
use mosn_stream::{empty_body, observed_body, BodyObserver, ProxyBody};
use std::sync::Arc;
use std::time::Duration;

static GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");

/// gRPC status codes the proxy produces (from `grpc/status.proto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum GrpcStatus {
    /// 2: an error with no better code.
    Unknown = 2,
    /// 4: the deadline (route timeout or `grpc-timeout`) passed.
    DeadlineExceeded = 4,
    /// 7: a filter refused the call.
    PermissionDenied = 7,
    /// 8: a circuit breaker is open.
    ResourceExhausted = 8,
    /// 12: no route serves the method.
    Unimplemented = 12,
    /// 13: the request or the upstream's answer was malformed.
    Internal = 13,
    /// 14: no upstream could take the call.
    Unavailable = 14,
    /// 16: a filter wants credentials.
    Unauthenticated = 16,
}

/// The `grpc-status` of a response head: set in a trailers-only response (a call that
/// failed before any message), which is what gRPC retry conditions look at.
pub(super) fn status_in_head(headers: &HeaderMap) -> Option<u32> {
    std::str::from_utf8(headers.get(&GRPC_STATUS)?.as_bytes())
        .ok()?
        .parse()
        .ok()
}

/// True when the request is a gRPC call (`content-type: application/grpc[+proto|...]`).
pub(super) fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

/// The gRPC status for a request the proxy failed itself.
pub(super) fn status_for_error(kind: ProxyErrorKind) -> GrpcStatus {
    match kind {
        ProxyErrorKind::NoRoute => GrpcStatus::Unimplemented,
        ProxyErrorKind::UpstreamTimeout => GrpcStatus::DeadlineExceeded,
        ProxyErrorKind::Overflow => GrpcStatus::ResourceExhausted,
        ProxyErrorKind::NoCluster
        | ProxyErrorKind::NoHealthyUpstream
        | ProxyErrorKind::ConnectFailure
        | ProxyErrorKind::ConnectTimeout
        | ProxyErrorKind::UpstreamReset => GrpcStatus::Unavailable,
        ProxyErrorKind::UpstreamProtocolError
        | ProxyErrorKind::BadRequest
        | ProxyErrorKind::HeadersTooLarge
        | ProxyErrorKind::RequestHeaderTimeout
        | ProxyErrorKind::PayloadTooLarge => GrpcStatus::Internal,
        ProxyErrorKind::NotImplemented | ProxyErrorKind::VersionNotSupported => {
            GrpcStatus::Unimplemented
        }
    }
}

/// The gRPC status for a local reply with HTTP `status` (gRPC's HTTP-to-status mapping).
pub(super) fn status_for_http(status: u16) -> GrpcStatus {
    match status {
        400 => GrpcStatus::Internal,
        401 => GrpcStatus::Unauthenticated,
        403 => GrpcStatus::PermissionDenied,
        404 => GrpcStatus::Unimplemented,
        429 | 502..=504 => GrpcStatus::Unavailable,
        _ => GrpcStatus::Unknown,
    }
}

/// A trailers-only response: HTTP 200 whose headers carry `grpc-status` and
/// `grpc-message`, and no body.
pub(super) fn trailers_only(status: GrpcStatus, message: &str) -> Response<ProxyBody> {
    let mut resp = Response::new(empty_body());
    *resp.status_mut() = StatusCode::OK;
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(GRPC_STATUS.clone(), HeaderValue::from(status as u16));
    if let Ok(v) = HeaderValue::from_str(&percent_encode(message)) {
        headers.insert("grpc-message", v);
    }
    resp
}

/// `grpc-timeout` (`1*8DIGIT` and a unit `H M S m u n`), if present and valid.
pub(super) fn timeout(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get("grpc-timeout")?.as_bytes();
    let (digits, unit) = v.split_at(v.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b"H" => Duration::from_secs(n * 3600),
        b"M" => Duration::from_secs(n * 60),
        b"S" => Duration::from_secs(n),
        b"m" => Duration::from_millis(n),
        b"u" => Duration::from_micros(n),
        b"n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// One gRPC call to be counted in the listener's stats exactly once: by the status its
/// response carries, or as an error if it ends without one — including when the client
/// cancels it (RST_STREAM) before any response.
pub(super) struct GrpcCall(Option<Arc<ListenerStats>>);

impl GrpcCall {
    /// Starts counting a call.
    pub(super) fn new(stats: Arc<ListenerStats>) -> Self {
        Self(Some(stats))
    }

    /// Counts the call's status as the response passes: from its headers for
    /// trailers-only responses, else from the trailers at the end of its body.
    pub(super) fn observe(mut self, resp: Response<ProxyBody>) -> Response<ProxyBody> {
        let Some(stats) = self.0.take() else {
            return resp;
        };
        if let Some(status) = resp.headers().get(&GRPC_STATUS) {
            count(&stats, status.as_bytes());
            return resp;
        }
        resp.map(|inner| observed_body(inner, GrpcCall(Some(stats))))
    }
}

impl Drop for GrpcCall {
    fn drop(&mut self) {
        if let Some(stats) = self.0.take() {
            stats.downstream_rq_grpc_error.inc();
        }
    }
}

fn count(stats: &ListenerStats, status: &[u8]) {
    if status == b"0" {
        stats.downstream_rq_grpc_ok.inc();
    } else {
        stats.downstream_rq_grpc_error.inc();
    }
}

/// Counts the `grpc-status` of the trailers; a body that ends (or breaks, or is
/// dropped) without one counts as an error when the call drops.
impl BodyObserver for GrpcCall {
    fn on_frame(&mut self, frame: &Frame<Bytes>) {
        if let Some(status) = frame.trailers_ref().and_then(|t| t.get(&GRPC_STATUS)) {
            if let Some(stats) = self.0.take() {
                count(&stats, status.as_bytes());
            }
        }
    }
}

/// `grpc-message` encoding: printable ASCII except `%` as is, the rest percent-encoded.
fn percent_encode(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    for b in msg.trim_end().bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &'static str, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn grpc_timeout_units_parse_and_junk_is_ignored() {
        let t = |v| timeout(&headers("grpc-timeout", v));
        assert_eq!(t("5S"), Some(Duration::from_secs(5)));
        assert_eq!(t("250m"), Some(Duration::from_millis(250)));
        assert_eq!(t("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(t("100u"), Some(Duration::from_micros(100)));
        assert_eq!(t("123456789S"), None, "more than 8 digits");
        assert_eq!(t("S"), None);
        assert_eq!(t("5s"), None, "unknown unit");
        assert_eq!(t("-5S"), None);
    }

    #[test]
    fn trailers_only_carries_status_and_encoded_message() {
        let resp = trailers_only(GrpcStatus::Unavailable, "no healthy upstream 100%\n");
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["grpc-status"], "14");
        assert_eq!(resp.headers()["grpc-message"], "no healthy upstream 100%25");
        assert_eq!(resp.headers()[CONTENT_TYPE], "application/grpc");
    }

    #[test]
    fn recognises_grpc_content_types() {
        assert!(is_grpc(&headers("content-type", "application/grpc")));
        assert!(is_grpc(&headers("content-type", "application/grpc+proto")));
        assert!(!is_grpc(&headers("content-type", "application/json")));
        assert!(!is_grpc(&HeaderMap::new()));
    }
}
