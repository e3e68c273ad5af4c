//! Replies the proxy writes itself — `direct_response` and `redirect` routes, errors —
//! built once as a protocol-neutral [`LocalReply`] and then encoded for the client's codec.

use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, HeaderValue, Response, StatusCode, Version};
use mosn_api::error::ProxyErrorKind;
use mosn_config::RedirectAction;
use mosn_protocol::http1::{encode_response_head, BodyKind, ResponseHead};
use mosn_stream::{full_body, ProxyBody};

/// A response the proxy makes up.
#[derive(Debug)]
pub(super) struct LocalReply {
    /// Status code.
    pub(super) status: u16,
    /// Headers besides framing.
    pub(super) headers: HeaderMap,
    /// The whole body.
    pub(super) body: Bytes,
}

impl LocalReply {
    /// A plain-text reply with a one-line body (`msg` plus a newline), as the HTTP/1
    /// fast path's `encode_local_reply` writes it.
    pub(super) fn text(status: u16, msg: &str) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        let newline = if msg.ends_with('\n') { "" } else { "\n" };
        Self {
            status,
            headers,
            body: Bytes::from(format!("{msg}{newline}")),
        }
    }

    /// Encodes the reply as HTTP/1.1, with `Connection: close` when `close`.
    pub(super) fn encode_h1(mut self, close: bool, out: &mut BytesMut) {
        if close {
            self.headers
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let head = ResponseHead {
            version: Version::HTTP_11,
            status,
            reason: Bytes::from_static(status.canonical_reason().unwrap_or("").as_bytes()),
            headers: self.headers,
        };
        encode_response_head(&head, &BodyKind::Length(self.body.len() as u64), out);
        out.extend_from_slice(&self.body);
    }

    /// The reply as a response for a multiplexed codec.
    pub(super) fn into_response(mut self) -> Response<ProxyBody> {
        self.headers
            .insert(CONTENT_LENGTH, HeaderValue::from(self.body.len()));
        let mut resp = Response::new(full_body(self.body));
        *resp.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        *resp.headers_mut() = self.headers;
        resp
    }
}

/// A `direct_response` with exactly the configured body.
pub(super) fn direct(status: u16, body: &str) -> LocalReply {
    let mut headers = HeaderMap::new();
    if !body.is_empty() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    }
    LocalReply {
        status,
        headers,
        body: Bytes::copy_from_slice(body.as_bytes()),
    }
}

/// A `redirect` for a request to `host` with `path` and `query`, which came over TLS
/// when `tls`. What the redirect does not replace is the request's own: its scheme, its
/// host (without the old scheme's default port when the scheme changes: MOSN's and
/// Envoy's rule, `http://a:80` to `https://a`) and its query.
pub(super) fn redirect(
    r: &RedirectAction,
    host: &str,
    path: &str,
    query: Option<&str>,
    tls: bool,
) -> LocalReply {
    let current = if tls { "https" } else { "http" };
    let scheme = r.scheme_redirect.as_deref().unwrap_or(current);
    let host = match r.host_redirect.as_deref() {
        Some(h) => h,
        None if scheme != current => {
            let default_port = if tls { ":443" } else { ":80" };
            host.strip_suffix(default_port).unwrap_or(host)
        }
        None => host,
    };
    let new_path = r.path_redirect.as_deref().unwrap_or(path);
    // A path_redirect's own query replaces the request's; `strip_query` drops it.
    let own_query = r.path_redirect.as_deref().is_some_and(|p| p.contains('?'));
    let location = match query {
        Some(q) if !own_query && !r.strip_query => format!("{scheme}://{host}{new_path}?{q}"),
        _ => format!("{scheme}://{host}{new_path}"),
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
    LocalReply {
        status,
        headers,
        body: Bytes::new(),
    }
}

/// The status of the local reply for `kind`: its own, or `upstream_failure` (the
/// listener's `upstream_failure_status`) for connect failures and resets.
pub(super) fn error_status(kind: ProxyErrorKind, upstream_failure: Option<u16>) -> u16 {
    match (kind, upstream_failure) {
        (
            ProxyErrorKind::ConnectFailure
            | ProxyErrorKind::ConnectTimeout
            | ProxyErrorKind::UpstreamReset,
            Some(status),
        ) => status,
        _ => kind.status(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(r: &RedirectAction, host: &str, query: Option<&str>, tls: bool) -> String {
        let reply = redirect(r, host, "/p", query, tls);
        reply.headers[LOCATION].to_str().unwrap().to_owned()
    }

    /// The request's scheme and host stay unless replaced; a scheme change drops the old
    /// scheme's default port from the kept host, and only that port.
    #[test]
    fn redirects_keep_the_request_scheme_and_host_and_drop_a_default_port() {
        let https = RedirectAction {
            scheme_redirect: Some("https".into()),
            ..RedirectAction::default()
        };
        assert_eq!(
            location(&https, "a.test:80", Some("q=1"), false),
            "https://a.test/p?q=1"
        );
        assert_eq!(
            location(&https, "a.test:8080", None, false),
            "https://a.test:8080/p"
        );
        assert_eq!(location(&https, "[::1]:80", None, false), "https://[::1]/p");
        // Already https: nothing changes, the port stays.
        assert_eq!(
            location(&https, "a.test:443", None, true),
            "https://a.test:443/p"
        );
        let http = RedirectAction {
            scheme_redirect: Some("http".into()),
            ..RedirectAction::default()
        };
        assert_eq!(location(&http, "a.test:443", None, true), "http://a.test/p");
        assert_eq!(
            location(&http, "a.test:80", None, true),
            "http://a.test:80/p"
        );
        let path_only = RedirectAction {
            path_redirect: Some("/new".into()),
            ..RedirectAction::default()
        };
        assert_eq!(
            location(&path_only, "a.test:80", None, false),
            "http://a.test:80/new"
        );
        assert_eq!(
            location(&path_only, "a.test", None, true),
            "https://a.test/new"
        );
        let moved = RedirectAction {
            scheme_redirect: Some("https".into()),
            host_redirect: Some("b.test:80".into()),
            ..RedirectAction::default()
        };
        assert_eq!(
            location(&moved, "a.test", None, false),
            "https://b.test:80/p"
        );
    }

    /// Envoy answers 503 where MOSN answers 502 (504 for a connect timeout); an
    /// upstream's malformed response stays 502 and a route timeout 504 in both.
    #[test]
    fn upstream_failure_status_replaces_connect_failures_and_resets_only() {
        use ProxyErrorKind::*;
        for kind in [ConnectFailure, ConnectTimeout, UpstreamReset] {
            assert_eq!(error_status(kind, Some(503)), 503, "{kind:?}");
            assert_eq!(error_status(kind, None), kind.status(), "{kind:?}");
        }
        assert_eq!(error_status(ConnectFailure, None), 502);
        assert_eq!(error_status(ConnectTimeout, None), 504);
        for kind in [
            UpstreamProtocolError,
            UpstreamTimeout,
            NoRoute,
            NoCluster,
            Overflow,
        ] {
            assert_eq!(error_status(kind, Some(503)), kind.status(), "{kind:?}");
        }
    }
}
