//! Message body framing (RFC 9112 §6): which of Content-Length,
//! Transfer-Encoding or connection close delimits a body.

use http::header::{HeaderMap, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{Method, Version};

use super::{ParseError, RequestHead, ResponseHead};

/// How a message body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body at all.
    Empty,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// The body runs until the connection closes (responses only).
    CloseDelimited,
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

/// `1*DIGIT` as u64; anything else (sign, spaces, empty, overflow) is an error.
fn parse_decimal(s: &[u8]) -> Result<u64, ParseError> {
    if s.is_empty() {
        return Err(ParseError::Malformed("empty content-length"));
    }
    let mut n: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return Err(ParseError::Malformed("invalid content-length"));
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(c - b'0')))
            .ok_or(ParseError::Malformed("content-length overflow"))?;
    }
    Ok(n)
}

/// The Content-Length, if any. Repeated identical values (as separate fields
/// or as a list, e.g. `42, 42`) are accepted; differing ones are an error.
pub(crate) fn content_length(headers: &HeaderMap) -> Result<Option<u64>, ParseError> {
    let mut found = None;
    for v in headers.get_all(CONTENT_LENGTH) {
        for part in v.as_bytes().split(|&c| c == b',') {
            let n = parse_decimal(trim_ows(part))?;
            match found {
                Some(prev) if prev != n => {
                    return Err(ParseError::Malformed("conflicting content-length"))
                }
                _ => found = Some(n),
            }
        }
    }
    Ok(found)
}

/// Whether Transfer-Encoding is present. The only coding accepted is a
/// single `chunked`: other codings can't be forwarded once the proxy
/// re-frames the body (TE is hop-by-hop), and on requests RFC 9112 makes
/// anything but a final `chunked` unframeable.
fn is_chunked(headers: &HeaderMap) -> Result<bool, ParseError> {
    let mut present = false;
    let mut codings = 0usize;
    let mut chunked = false;
    for v in headers.get_all(TRANSFER_ENCODING) {
        present = true;
        for part in v.as_bytes().split(|&c| c == b',') {
            let p = trim_ows(part);
            if p.is_empty() {
                continue; // empty list elements are ignored (RFC 9110 §5.6.1)
            }
            codings += 1;
            chunked = p.eq_ignore_ascii_case(b"chunked");
        }
    }
    match (present, codings, chunked) {
        (false, _, _) => Ok(false),
        (true, 0, _) => Err(ParseError::Malformed("empty transfer-encoding")),
        (true, 1, true) => Ok(true),
        _ => Err(ParseError::Malformed("unsupported transfer-coding")),
    }
}

/// Shared TE/CL rules for requests and responses with a body.
fn te_cl(version: Version, headers: &HeaderMap) -> Result<Option<BodyKind>, ParseError> {
    let chunked = is_chunked(headers)?;
    let has_cl = headers.contains_key(CONTENT_LENGTH);
    if chunked {
        if version == Version::HTTP_10 {
            // RFC 9112 §6.1: TE in HTTP/1.0 means faulty framing.
            return Err(ParseError::Malformed("transfer-encoding in HTTP/1.0"));
        }
        if has_cl {
            return Err(ParseError::Malformed(
                "both transfer-encoding and content-length",
            ));
        }
        return Ok(Some(BodyKind::Chunked));
    }
    Ok(content_length(headers)?.map(BodyKind::Length))
}

/// Request body framing per RFC 9112 §6.
///
/// `Transfer-Encoding: chunked` (the only accepted coding, exactly once) →
/// `Chunked`; a valid `Content-Length` → `Length` (identical repeats OK);
/// neither → `Empty`. Errors: any other transfer-coding, both TE and CL,
/// TE on HTTP/1.0, invalid or conflicting Content-Length. Never returns
/// `CloseDelimited`.
pub fn request_body_kind(head: &RequestHead) -> Result<BodyKind, ParseError> {
    Ok(te_cl(head.version, &head.headers)?.unwrap_or(BodyKind::Empty))
}

/// Response body framing per RFC 9112 §6.3.
///
/// Responses to HEAD, 1xx, 204 and 304, and 2xx to CONNECT (the connection
/// turns into a tunnel) → `Empty`; otherwise the request rules apply, and a
/// response with neither TE nor CL is `CloseDelimited`.
pub fn response_body_kind(
    request_method: &Method,
    head: &ResponseHead,
) -> Result<BodyKind, ParseError> {
    let status = head.status.as_u16();
    if *request_method == Method::HEAD
        || (100..200).contains(&status)
        || status == 204
        || status == 304
        || (*request_method == Method::CONNECT && (200..300).contains(&status))
    {
        return Ok(BodyKind::Empty);
    }
    Ok(te_cl(head.version, &head.headers)?.unwrap_or(BodyKind::CloseDelimited))
}
