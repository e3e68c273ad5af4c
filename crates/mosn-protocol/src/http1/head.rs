//! Request and response heads: types, accessors and parsing.

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, HOST};
use http::{Method, StatusCode, Version};

use super::target;
use super::{Limits, ParseError, MAX_HEADERS_CAP};

/// A parsed HTTP/1 request head.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestHead {
    /// Request method.
    pub method: Method,
    /// Raw request-target as sent (origin-, absolute-, authority- or asterisk-form).
    pub target: Bytes,
    /// `HTTP_10` or `HTTP_11`.
    pub version: Version,
    /// Header fields; names are lowercase, same-name fields keep their order.
    pub headers: HeaderMap,
}

impl RequestHead {
    fn target_str(&self) -> &str {
        std::str::from_utf8(&self.target).unwrap_or("")
    }

    /// Path of the target without the query: `/p` for both `/p?q` and
    /// `http://h/p?q`, `/` for `http://h`, `*` for asterisk-form, empty for
    /// authority-form (CONNECT). Never allocates.
    pub fn path(&self) -> &str {
        target::split(self.target_str()).path
    }

    /// Query of the target without the `?`, if there is one.
    pub fn query(&self) -> Option<&str> {
        target::split(self.target_str()).query
    }

    /// The host the request is for: the authority of an absolute-form or
    /// authority-form target (which RFC 9112 §3.2.2 says wins over `Host`),
    /// otherwise the `Host` header. `None` if absent, empty or not visible ASCII.
    pub fn host(&self) -> Option<&str> {
        if let Some(a) = target::split(self.target_str()).authority {
            if !a.is_empty() {
                return Some(a);
            }
        }
        self.headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| !h.is_empty())
    }

    /// Replaces the path of the target and keeps its query (and the
    /// `scheme://authority` of absolute-form). If `new_path` contains `?` it
    /// replaces the query too. Bytes not allowed in a request-target (space,
    /// controls, `#`, non-ASCII) are percent-encoded, so the result is always
    /// safe to put on the wire; a missing leading `/` is added.
    pub fn set_path(&mut self, new_path: &str) {
        self.target = target::with_path(self.target_str(), new_path);
    }
}

/// A parsed HTTP/1 response head.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseHead {
    /// `HTTP_10` or `HTTP_11`.
    pub version: Version,
    /// Status code (100..=999).
    pub status: StatusCode,
    /// Reason phrase exactly as the upstream sent it (may be empty).
    pub reason: Bytes,
    /// Header fields; names are lowercase, same-name fields keep their order.
    pub headers: HeaderMap,
}

/// Returns a zero-copy slice of `shared` (a copy of `base`) covering `sub`,
/// which must point into `base`.
fn slice_of(shared: &Bytes, base: &[u8], sub: &[u8]) -> Bytes {
    if sub.is_empty() {
        return Bytes::new();
    }
    let off = (sub.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
    match off.checked_add(sub.len()) {
        Some(end) if end <= shared.len() => shared.slice(off..end),
        // Not reachable: httparse only hands out slices of its input.
        _ => Bytes::copy_from_slice(sub),
    }
}

/// Skips the empty lines httparse tolerates before a start line.
fn skip_leading_newlines(buf: &[u8]) -> &[u8] {
    let n = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    &buf[n..]
}

/// First line of `buf` (after leading empty lines), without CR/LF; the rest
/// of the buffer if no LF has arrived yet.
fn start_line(buf: &[u8]) -> &[u8] {
    let b = skip_leading_newlines(buf);
    let line = match b.iter().position(|&c| c == b'\n') {
        Some(i) => &b[..i],
        None => b,
    };
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Does `v` fit the shape `HTTP/d.d` so far (`v` may be a prefix)?
fn has_version_shape(v: &[u8]) -> bool {
    v.len() <= 8
        && v.iter().enumerate().all(|(i, &c)| match i {
            0..=4 => c == b"HTTP/"[i],
            5 | 7 => c.is_ascii_digit(),
            _ => c == b'.',
        })
}

/// Classifies an `httparse::Error::Version`. `None` means "undecided yet":
/// the version token is not terminated, and could still turn out to be a
/// well-formed (unsupported) or an ill-formed version. Waiting keeps the
/// result independent of how the bytes were split.
fn classify_version_error(window: &[u8], is_request: bool) -> Option<ParseError> {
    let rest = skip_leading_newlines(window);
    if is_request && rest.starts_with(b"PRI * HTTP/2") {
        return Some(ParseError::Http2Preface);
    }
    let from_version = if is_request {
        // Method and target are valid (httparse checked them), single spaces.
        rest.splitn(3, |&c| c == b' ').nth(2).unwrap_or(b"")
    } else {
        rest
    };
    let end = from_version
        .iter()
        .position(|&c| c == b' ' || c == b'\r' || c == b'\n');
    let token = &from_version[..end.unwrap_or(from_version.len())];
    match end {
        None if has_version_shape(token) => None,
        Some(_) if token.len() == 8 && has_version_shape(token) => {
            Some(ParseError::UnsupportedVersion)
        }
        _ => Some(ParseError::Malformed("invalid HTTP version")),
    }
}

/// Looks for obs-fold (a header line starting with SP/HTAB) to give a better
/// error message than "invalid header name".
fn has_obs_fold(window: &[u8]) -> bool {
    window
        .windows(2)
        .any(|w| w[0] == b'\n' && (w[1] == b' ' || w[1] == b'\t'))
}

/// Maps an httparse error; `None` means "need more bytes to decide".
fn map_httparse_error(e: httparse::Error, window: &[u8], is_request: bool) -> Option<ParseError> {
    Some(match e {
        httparse::Error::TooManyHeaders => ParseError::TooManyHeaders,
        httparse::Error::Version => return classify_version_error(window, is_request),
        httparse::Error::HeaderName if has_obs_fold(window) => {
            ParseError::Malformed("obsolete line folding")
        }
        httparse::Error::HeaderName => ParseError::Malformed("invalid header name"),
        httparse::Error::HeaderValue => ParseError::Malformed("invalid header value"),
        httparse::Error::NewLine => ParseError::Malformed("invalid line ending"),
        httparse::Error::Status => ParseError::Malformed("invalid status line"),
        httparse::Error::Token => ParseError::Malformed("invalid request line"),
    })
}

/// The answer for an incomplete head: wait, unless the limit is reached.
fn incomplete<T>(buf: &[u8], limits: &Limits) -> Result<Option<T>, ParseError> {
    if buf.len() >= limits.max_head_bytes {
        Err(ParseError::HeadTooLarge)
    } else {
        Ok(None)
    }
}

/// Builds a `HeaderMap` whose values are zero-copy slices of `shared`.
/// Returns the map and the number of `Host` fields seen.
pub(crate) fn build_headers(
    parsed: &[httparse::Header<'_>],
    shared: &Bytes,
    base: &[u8],
) -> Result<(HeaderMap, usize), ParseError> {
    let mut map = HeaderMap::with_capacity(parsed.len());
    let mut hosts = 0;
    for h in parsed {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| ParseError::Malformed("invalid header name"))?;
        let value = HeaderValue::from_maybe_shared(slice_of(shared, base, h.value))
            .map_err(|_| ParseError::Malformed("invalid header value"))?;
        if name == HOST {
            hosts += 1;
        }
        map.append(name, value);
    }
    Ok((map, hosts))
}

fn version_from_minor(minor: Option<u8>) -> Result<Version, ParseError> {
    match minor {
        Some(0) => Ok(Version::HTTP_10),
        Some(1) => Ok(Version::HTTP_11),
        _ => Err(ParseError::UnsupportedVersion),
    }
}

/// Parses a request head from the start of `buf`.
///
/// Returns `Ok(None)` if more bytes are needed (the buffer is still under
/// `limits.max_head_bytes`), or the head and the number of bytes it took
/// (the body, or the next pipelined request, starts at that offset).
///
/// Besides syntax (via `httparse`: no obs-fold, no space before the colon,
/// single spaces in the request line) it enforces RFC 9112 §3.2: the target
/// must fit the method, no fragment, exactly one valid `Host` field (none is
/// allowed for HTTP/1.0). Framing headers are checked by [`super::request_body_kind`].
pub fn parse_request_head(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(RequestHead, usize)>, ParseError> {
    let window = &buf[..buf.len().min(limits.max_head_bytes)];
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS_CAP];
    let mut req = httparse::Request::new(&mut slots[..limits.header_slots()]);
    let consumed = match req.parse(window) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return incomplete(buf, limits),
        Err(e) => {
            return match map_httparse_error(e, window, true) {
                Some(e) => Err(e),
                None => incomplete(buf, limits),
            }
        }
    };
    let method_str = req.method.ok_or(ParseError::Malformed("missing method"))?;
    let path = req
        .path
        .ok_or(ParseError::Malformed("missing request-target"))?;
    let version = version_from_minor(req.version)?;
    let method = Method::from_bytes(method_str.as_bytes())
        .map_err(|_| ParseError::Malformed("invalid method"))?;
    target::validate(&method, path)?;

    let shared = Bytes::copy_from_slice(&window[..consumed]);
    let target = slice_of(&shared, window, path.as_bytes());
    let (headers, hosts) = build_headers(req.headers, &shared, window)?;
    match hosts {
        0 if version == Version::HTTP_11 => return Err(ParseError::Malformed("missing host")),
        0 => {}
        1 => {
            let host = headers.get(HOST).map(|v| v.as_bytes()).unwrap_or(b"");
            if !target::is_valid_authority(host) {
                return Err(ParseError::Malformed("invalid host"));
            }
        }
        _ => return Err(ParseError::Malformed("multiple host headers")),
    }
    Ok(Some((
        RequestHead {
            method,
            target,
            version,
            headers,
        },
        consumed,
    )))
}

/// Parses a response head from the start of `buf`.
///
/// Returns `Ok(None)` if more bytes are needed (the buffer is still under
/// `limits.max_head_bytes`), or the head and the number of bytes it took.
/// The reason phrase is kept byte for byte (including obs-text).
pub fn parse_response_head(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(ResponseHead, usize)>, ParseError> {
    let window = &buf[..buf.len().min(limits.max_head_bytes)];
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS_CAP];
    let mut res = httparse::Response::new(&mut slots[..limits.header_slots()]);
    let consumed = match res.parse(window) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return incomplete(buf, limits),
        Err(e) => {
            return match map_httparse_error(e, window, false) {
                Some(e) => Err(e),
                None => incomplete(buf, limits),
            }
        }
    };
    let version = version_from_minor(res.version)?;
    let status = res
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(ParseError::Malformed("invalid status code"))?;

    let shared = Bytes::copy_from_slice(&window[..consumed]);
    // httparse hides reasons containing obs-text; take it from the raw line:
    // "HTTP/1.x NNN " is exactly 13 bytes (httparse allows single spaces only).
    let line = start_line(&window[..consumed]);
    let reason = match line.get(13..) {
        Some(r) if !r.is_empty() => slice_of(&shared, window, r),
        _ => Bytes::new(),
    };
    let (headers, _) = build_headers(res.headers, &shared, window)?;
    Ok(Some((
        ResponseHead {
            version,
            status,
            reason,
            headers,
        },
        consumed,
    )))
}
