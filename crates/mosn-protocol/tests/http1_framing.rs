//! Body framing rules and request-smuggling defences.

use http::Method;
use mosn_protocol::http1::{
    parse_request_head, parse_response_head, request_body_kind, response_body_kind, BodyKind,
    Limits, ParseError,
};

fn req_kind(headers: &str) -> Result<BodyKind, ParseError> {
    req_kind_v("1.1", headers)
}

fn req_kind_v(version: &str, headers: &str) -> Result<BodyKind, ParseError> {
    let raw = format!("POST / HTTP/{version}\r\nHost: h\r\n{headers}\r\n");
    let (head, _) = parse_request_head(raw.as_bytes(), &Limits::default())
        .unwrap()
        .unwrap();
    request_body_kind(&head)
}

fn res_kind(method: Method, status_line: &str, headers: &str) -> Result<BodyKind, ParseError> {
    let raw = format!("{status_line}\r\n{headers}\r\n");
    let (head, _) = parse_response_head(raw.as_bytes(), &Limits::default())
        .unwrap()
        .unwrap();
    response_body_kind(&method, &head)
}

#[test]
fn request_framing_table() {
    use BodyKind::*;
    let bad = ParseError::Malformed;
    let cases: &[(&str, Result<BodyKind, ParseError>)] = &[
        ("", Ok(Empty)),
        ("Content-Length: 0\r\n", Ok(Length(0))),
        ("Content-Length: 10\r\n", Ok(Length(10))),
        ("Content-Length: 007\r\n", Ok(Length(7))),
        (
            "Content-Length: 18446744073709551615\r\n",
            Ok(Length(u64::MAX)),
        ),
        (
            "Content-Length: 10\r\nContent-Length: 10\r\n",
            Ok(Length(10)),
        ),
        ("Content-Length: 10, 10\r\n", Ok(Length(10))),
        ("Content-Length: 10,10 , 10\r\n", Ok(Length(10))),
        ("Transfer-Encoding: chunked\r\n", Ok(Chunked)),
        ("Transfer-Encoding: CHUNKED\r\n", Ok(Chunked)),
        ("Transfer-Encoding: chunked \r\n", Ok(Chunked)),
        ("Transfer-Encoding: , chunked,\r\n", Ok(Chunked)),
        // Content-Length errors
        (
            "Content-Length: 10\r\nContent-Length: 11\r\n",
            Err(bad("conflicting content-length")),
        ),
        (
            "Content-Length: 10, 11\r\n",
            Err(bad("conflicting content-length")),
        ),
        (
            "Content-Length: +10\r\n",
            Err(bad("invalid content-length")),
        ),
        ("Content-Length: -1\r\n", Err(bad("invalid content-length"))),
        (
            "Content-Length: 1 0\r\n",
            Err(bad("invalid content-length")),
        ),
        (
            "Content-Length: 0x10\r\n",
            Err(bad("invalid content-length")),
        ),
        (
            "Content-Length: 1e3\r\n",
            Err(bad("invalid content-length")),
        ),
        (
            "Content-Length: abc\r\n",
            Err(bad("invalid content-length")),
        ),
        ("Content-Length:\r\n", Err(bad("empty content-length"))),
        ("Content-Length: 10,\r\n", Err(bad("empty content-length"))),
        (
            "Content-Length: 18446744073709551616\r\n",
            Err(bad("content-length overflow")),
        ),
        (
            "Content-Length: 99999999999999999999999\r\n",
            Err(bad("content-length overflow")),
        ),
        // Transfer-Encoding errors (smuggling)
        (
            "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
            Err(bad("both transfer-encoding and content-length")),
        ),
        (
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            Err(bad("both transfer-encoding and content-length")),
        ),
        (
            "Transfer-Encoding: gzip\r\n",
            Err(bad("unsupported transfer-coding")),
        ),
        (
            "Transfer-Encoding: gzip, chunked\r\n",
            Err(bad("unsupported transfer-coding")),
        ),
        (
            "Transfer-Encoding: chunked, identity\r\n",
            Err(bad("unsupported transfer-coding")),
        ),
        (
            "Transfer-Encoding: identity\r\n",
            Err(bad("unsupported transfer-coding")),
        ),
        (
            "Transfer-Encoding: chunked, chunked\r\n",
            Err(bad("unsupported transfer-coding")),
        ),
        (
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            Err(bad("unsupported transfer-coding")),
        ),
        (
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
            Err(bad("unsupported transfer-coding")),
        ),
        (
            "Transfer-Encoding: chunked;q=1\r\n",
            Err(bad("unsupported transfer-coding")),
        ),
        (
            "Transfer-Encoding: xchunked\r\n",
            Err(bad("unsupported transfer-coding")),
        ),
        (
            "Transfer-Encoding: \"chunked\"\r\n",
            Err(bad("unsupported transfer-coding")),
        ),
        (
            "Transfer-Encoding:\r\n",
            Err(bad("empty transfer-encoding")),
        ),
        (
            "Transfer-Encoding: ,\r\n",
            Err(bad("empty transfer-encoding")),
        ),
        (
            "Transfer-Encoding: gzip\r\nContent-Length: 5\r\n",
            Err(bad("unsupported transfer-coding")),
        ),
    ];
    for (headers, want) in cases {
        assert_eq!(&req_kind(headers), want, "{headers:?}");
    }
}

#[test]
fn transfer_encoding_in_http10_is_rejected() {
    assert_eq!(
        req_kind_v("1.0", "Transfer-Encoding: chunked\r\n"),
        Err(ParseError::Malformed("transfer-encoding in HTTP/1.0"))
    );
    assert_eq!(
        req_kind_v("1.0", "Content-Length: 3\r\n"),
        Ok(BodyKind::Length(3))
    );
    assert_eq!(
        res_kind(
            Method::GET,
            "HTTP/1.0 200 OK",
            "Transfer-Encoding: chunked\r\n"
        ),
        Err(ParseError::Malformed("transfer-encoding in HTTP/1.0"))
    );
}

#[test]
fn response_framing_table() {
    use BodyKind::*;
    let get = || Method::GET;
    let cases: Vec<(Method, &str, &str, Result<BodyKind, ParseError>)> = vec![
        (
            get(),
            "HTTP/1.1 200 OK",
            "Content-Length: 5\r\n",
            Ok(Length(5)),
        ),
        (
            get(),
            "HTTP/1.1 200 OK",
            "Transfer-Encoding: chunked\r\n",
            Ok(Chunked),
        ),
        (get(), "HTTP/1.1 200 OK", "", Ok(CloseDelimited)),
        (get(), "HTTP/1.0 200 OK", "", Ok(CloseDelimited)),
        (
            get(),
            "HTTP/1.1 404 Not Found",
            "Content-Length: 0\r\n",
            Ok(Length(0)),
        ),
        // No body regardless of headers.
        (
            Method::HEAD,
            "HTTP/1.1 200 OK",
            "Content-Length: 5\r\n",
            Ok(Empty),
        ),
        (
            Method::HEAD,
            "HTTP/1.1 200 OK",
            "Transfer-Encoding: chunked\r\n",
            Ok(Empty),
        ),
        (Method::HEAD, "HTTP/1.1 200 OK", "", Ok(Empty)),
        (get(), "HTTP/1.1 100 Continue", "", Ok(Empty)),
        (
            get(),
            "HTTP/1.1 101 Switching Protocols",
            "Upgrade: websocket\r\n",
            Ok(Empty),
        ),
        (get(), "HTTP/1.1 103 Early Hints", "", Ok(Empty)),
        (
            get(),
            "HTTP/1.1 204 No Content",
            "Content-Length: 5\r\n",
            Ok(Empty),
        ),
        (
            get(),
            "HTTP/1.1 304 Not Modified",
            "Content-Length: 5\r\n",
            Ok(Empty),
        ),
        (
            Method::CONNECT,
            "HTTP/1.1 200 Connection Established",
            "",
            Ok(Empty),
        ),
        (
            Method::CONNECT,
            "HTTP/1.1 407 Auth",
            "Content-Length: 2\r\n",
            Ok(Length(2)),
        ),
        // Errors.
        (
            get(),
            "HTTP/1.1 200 OK",
            "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
            Err(ParseError::Malformed(
                "both transfer-encoding and content-length",
            )),
        ),
        (
            get(),
            "HTTP/1.1 200 OK",
            "Content-Length: 5\r\nContent-Length: 6\r\n",
            Err(ParseError::Malformed("conflicting content-length")),
        ),
        (
            get(),
            "HTTP/1.1 200 OK",
            "Transfer-Encoding: gzip, chunked\r\n",
            Err(ParseError::Malformed("unsupported transfer-coding")),
        ),
        (
            get(),
            "HTTP/1.1 200 OK",
            "Content-Length: +5\r\n",
            Err(ParseError::Malformed("invalid content-length")),
        ),
    ];
    for (method, line, headers, want) in cases {
        assert_eq!(
            res_kind(method.clone(), line, headers),
            want,
            "{method} {line} {headers:?}"
        );
    }
}
