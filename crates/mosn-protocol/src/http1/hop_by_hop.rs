//! Hop-by-hop header removal (RFC 9110 §7.6.1) and keep-alive decisions.

use http::header::{
    HeaderMap, HeaderName, CONNECTION, CONTENT_LENGTH, HOST, TE, TRAILER, TRANSFER_ENCODING,
    UPGRADE,
};
use http::Version;

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// What a message's `Connection` (and `TE`) fields asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionOptions {
    /// `Connection: close`.
    pub close: bool,
    /// `Connection: keep-alive`.
    pub keep_alive: bool,
    /// Lowercased `Upgrade` value(s) (joined with `, `), only if
    /// `Connection` lists `upgrade`.
    pub upgrade: Option<String>,
    /// `TE` lists `trailers` (gRPC needs this forwarded as `te: trailers`).
    pub te_trailers: bool,
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Removes hop-by-hop fields — `Connection`, `Keep-Alive`,
/// `Proxy-Connection`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade` and
/// every field named in `Connection` (except `Host` and `Content-Length`) —
/// and returns what `Connection`/`TE` said.
///
/// `Content-Length` is kept: the encoders ignore it and re-derive framing
/// from the [`super::BodyKind`], except that an `Empty` response (HEAD, 304)
/// keeps it, as RFC 9110 §8.6 allows.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) -> ConnectionOptions {
    let mut opts = ConnectionOptions::default();
    let mut upgrade_listed = false;
    let mut nominated: Vec<HeaderName> = Vec::new();
    for v in headers.get_all(CONNECTION) {
        for tok in v.as_bytes().split(|&c| c == b',') {
            let tok = trim_ows(tok);
            if tok.eq_ignore_ascii_case(b"close") {
                opts.close = true;
            } else if tok.eq_ignore_ascii_case(b"keep-alive") {
                opts.keep_alive = true;
            } else if tok.eq_ignore_ascii_case(b"upgrade") {
                upgrade_listed = true;
            } else if let Ok(name) = HeaderName::from_bytes(tok) {
                if name != HOST && name != CONTENT_LENGTH {
                    nominated.push(name);
                }
            }
        }
    }
    if upgrade_listed {
        let mut joined = String::new();
        for v in headers.get_all(UPGRADE) {
            if let Ok(s) = v.to_str() {
                let s = s.trim();
                if s.is_empty() {
                    continue;
                }
                if !joined.is_empty() {
                    joined.push_str(", ");
                }
                joined.push_str(s);
            }
        }
        if !joined.is_empty() {
            joined.make_ascii_lowercase();
            opts.upgrade = Some(joined);
        }
    }
    opts.te_trailers = headers.get_all(TE).iter().any(|v| {
        v.as_bytes().split(|&c| c == b',').any(|el| {
            let coding = el.split(|&c| c == b';').next().unwrap_or(b"");
            trim_ows(coding).eq_ignore_ascii_case(b"trailers")
        })
    });
    for name in [
        CONNECTION,
        KEEP_ALIVE,
        PROXY_CONNECTION,
        TE,
        TRAILER,
        TRANSFER_ENCODING,
        UPGRADE,
    ] {
        headers.remove(name);
    }
    for name in nominated {
        headers.remove(name);
    }
    opts
}

/// Whether the connection stays open after this message: HTTP/1.1 unless
/// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive` (and no
/// `close`).
pub fn wants_keep_alive(version: Version, opts: &ConnectionOptions) -> bool {
    if opts.close {
        return false;
    }
    if version == Version::HTTP_10 || version == Version::HTTP_09 {
        opts.keep_alive
    } else {
        true
    }
}
