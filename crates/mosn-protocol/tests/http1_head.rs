//! Head parsing: happy paths, accessors, every error path, split points.

use http::{Method, StatusCode, Version};
use mosn_protocol::http1::{
    parse_request_head, parse_response_head, Limits, ParseError, RequestHead, ResponseHead,
};

type ReqResult = Result<Option<(RequestHead, usize)>, ParseError>;
type ResResult = Result<Option<(ResponseHead, usize)>, ParseError>;

fn req(b: &[u8]) -> ReqResult {
    parse_request_head(b, &Limits::default())
}

fn res(b: &[u8]) -> ResResult {
    parse_response_head(b, &Limits::default())
}

fn req_ok(b: &[u8]) -> (RequestHead, usize) {
    req(b)
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(b)))
        .unwrap_or_else(|| panic!("{:?}: incomplete", String::from_utf8_lossy(b)))
}

const GET: &[u8] = b"GET /index.html?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\nAccept: */*\r\nX-Multi: 1\r\nx-multi: 2\r\n\r\n";

#[test]
fn parses_simple_get() {
    let (h, n) = req_ok(GET);
    assert_eq!(n, GET.len());
    assert_eq!(h.method, Method::GET);
    assert_eq!(&h.target[..], b"/index.html?a=1&b=2");
    assert_eq!(h.version, Version::HTTP_11);
    assert_eq!(h.path(), "/index.html");
    assert_eq!(h.query(), Some("a=1&b=2"));
    assert_eq!(h.host(), Some("example.com"));
    assert_eq!(h.headers.len(), 5);
    assert_eq!(h.headers["user-agent"], "t");
    let multi: Vec<_> = h.headers.get_all("x-multi").iter().collect();
    assert_eq!(multi, ["1", "2"], "same-name order kept");
}

#[test]
fn consumed_excludes_body_and_trailing_bytes() {
    let mut buf = GET.to_vec();
    buf.extend_from_slice(b"GET / HTTP/1.1\r\n");
    let (_, n) = req_ok(&buf);
    assert_eq!(n, GET.len());
}

#[test]
fn leading_empty_lines_are_skipped() {
    let (h, n) = req_ok(b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(h.path(), "/");
    assert_eq!(n, 31);
}

#[test]
fn http10_without_host_is_fine() {
    let (h, _) = req_ok(b"GET /x HTTP/1.0\r\n\r\n");
    assert_eq!(h.version, Version::HTTP_10);
    assert_eq!(h.host(), None);
    assert!(h.headers.is_empty());
}

#[test]
fn header_values_obs_text_and_whitespace() {
    let (h, _) = req_ok(
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Bin: caf\xe9 \xff\r\nX-Pad:   v \t \r\nX-Empty:\r\n\r\n",
    );
    assert_eq!(h.headers["x-bin"].as_bytes(), b"caf\xe9 \xff");
    assert_eq!(h.headers["x-pad"], "v");
    assert_eq!(h.headers["x-empty"], "");
}

#[test]
fn header_names_are_lowercased() {
    let (h, _) = req_ok(b"GET / HTTP/1.1\r\nHOST: a\r\nX-Custom-Thing: 1\r\n\r\n");
    assert!(h.headers.contains_key("x-custom-thing"));
    let names: Vec<_> = h.headers.keys().map(|k| k.as_str()).collect();
    assert_eq!(names, ["host", "x-custom-thing"]);
}

#[test]
fn extension_methods() {
    let (h, _) = req_ok(b"PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(h.method.as_str(), "PURGE");
}

#[test]
fn target_forms_and_accessors() {
    struct Case {
        raw: &'static [u8],
        path: &'static str,
        query: Option<&'static str>,
        host: Option<&'static str>,
    }
    let cases = [
        Case {
            raw: b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
            path: "/",
            query: None,
            host: Some("h"),
        },
        Case {
            raw: b"GET /p? HTTP/1.1\r\nHost: h\r\n\r\n",
            path: "/p",
            query: Some(""),
            host: Some("h"),
        },
        Case {
            raw: b"GET /p?q?r HTTP/1.1\r\nHost: h:8080\r\n\r\n",
            path: "/p",
            query: Some("q?r"),
            host: Some("h:8080"),
        },
        Case {
            raw: b"GET //double HTTP/1.1\r\nHost: h\r\n\r\n",
            path: "//double",
            query: None,
            host: Some("h"),
        },
        Case {
            raw: b"GET http://auth:81/p?q HTTP/1.1\r\nHost: other\r\n\r\n",
            path: "/p",
            query: Some("q"),
            host: Some("auth:81"),
        },
        Case {
            raw: b"GET http://auth HTTP/1.1\r\nHost: auth\r\n\r\n",
            path: "/",
            query: None,
            host: Some("auth"),
        },
        Case {
            raw: b"GET https://auth?q HTTP/1.1\r\nHost: auth\r\n\r\n",
            path: "/",
            query: Some("q"),
            host: Some("auth"),
        },
        Case {
            raw: b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
            path: "*",
            query: None,
            host: Some("h"),
        },
        Case {
            raw: b"CONNECT h.example:443 HTTP/1.1\r\nHost: h.example:443\r\n\r\n",
            path: "",
            query: None,
            host: Some("h.example:443"),
        },
        Case {
            raw: b"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
            path: "",
            query: None,
            host: Some("[::1]:443"),
        },
        Case {
            raw: b"GET / HTTP/1.1\r\nHost:\r\n\r\n",
            path: "/",
            query: None,
            host: None,
        },
    ];
    for c in cases {
        let (h, _) = req_ok(c.raw);
        let name = String::from_utf8_lossy(c.raw);
        assert_eq!(h.path(), c.path, "{name}");
        assert_eq!(h.query(), c.query, "{name}");
        assert_eq!(h.host(), c.host, "{name}");
    }
}

#[test]
fn set_path_keeps_query() {
    let (mut h, _) = req_ok(b"GET /old/p?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    h.set_path("/new");
    assert_eq!(&h.target[..], b"/new?x=1");
    assert_eq!(h.path(), "/new");
    assert_eq!(h.query(), Some("x=1"));

    h.set_path("/q?own=2");
    assert_eq!(
        &h.target[..],
        b"/q?own=2",
        "a ? in the new path replaces the query"
    );

    h.set_path("no-slash");
    assert_eq!(&h.target[..], b"/no-slash?own=2");

    h.set_path("/a b\r\nX: y#f\u{e9}");
    assert_eq!(&h.target[..], b"/a%20b%0D%0AX:%20y%23f%C3%A9?own=2");

    let (mut h, _) = req_ok(b"GET /p HTTP/1.1\r\nHost: h\r\n\r\n");
    h.set_path("");
    assert_eq!(&h.target[..], b"/");

    let (mut h, _) = req_ok(b"GET http://h:1/a/b?z HTTP/1.1\r\nHost: h:1\r\n\r\n");
    h.set_path("/c");
    assert_eq!(&h.target[..], b"http://h:1/c?z");
    assert_eq!(h.host(), Some("h:1"));

    let (mut h, _) = req_ok(b"GET http://h?z HTTP/1.1\r\nHost: h\r\n\r\n");
    h.set_path("/c");
    assert_eq!(&h.target[..], b"http://h/c?z");
}

#[test]
fn request_error_table() {
    use ParseError::*;
    let m = |s: &'static str| Malformed(s);
    let cases: &[(&[u8], ParseError)] = &[
        // request line
        (
            b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
            m("invalid request line"),
        ),
        (
            b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
            m("invalid line ending"),
        ),
        (
            b"GET /  HTTP/1.1\r\nHost: a\r\n\r\n",
            m("invalid HTTP version"),
        ),
        (
            b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n",
            m("invalid request line"),
        ),
        (
            b" GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            m("invalid request line"),
        ),
        (
            b"GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n",
            m("invalid request line"),
        ),
        (b"GET /\r\n\r\n", m("invalid request line")),
        (
            b"GET / HTTP/1.1x\r\nHost: a\r\n\r\n",
            m("invalid line ending"),
        ),
        (b"GET / HTTP/1.1\rHost: a\r\n\r\n", m("invalid line ending")),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\r\n",
            m("invalid header value"),
        ),
        // versions
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", UnsupportedVersion),
        (b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", UnsupportedVersion),
        (b"GET / HTTP/0.9\r\nHost: a\r\n\r\n", UnsupportedVersion),
        (b"GET / HTTP/3.0\r\n", UnsupportedVersion),
        (
            b"GET / HTTP/1.x\r\nHost: a\r\n\r\n",
            m("invalid HTTP version"),
        ),
        (
            b"GET / HTTP/12\r\nHost: a\r\n\r\n",
            m("invalid HTTP version"),
        ),
        (
            b"GET / http/1.1\r\nHost: a\r\n\r\n",
            m("invalid HTTP version"),
        ),
        (
            b"GET / FOO/1.1\r\nHost: a\r\n\r\n",
            m("invalid HTTP version"),
        ),
        // HTTP/2 preface
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Http2Preface),
        (b"PRI * HTTP/2.0\r\n", Http2Preface),
        // headers
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n",
            m("obsolete line folding"),
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\tfolded\r\n\r\n",
            m("obsolete line folding"),
        ),
        (
            b"GET / HTTP/1.1\r\nHo st: a\r\n\r\n",
            m("invalid header name"),
        ),
        (
            b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            m("invalid header name"),
        ),
        (b"GET / HTTP/1.1\r\n: a\r\n\r\n", m("invalid header name")),
        (
            b"GET / HTTP/1.1\r\nX\x01: a\r\n\r\n",
            m("invalid header name"),
        ),
        (
            b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
            m("invalid header name"),
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n",
            m("invalid header value"),
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n",
            m("invalid header value"),
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
            m("invalid header value"),
        ),
        // targets
        (
            b"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n",
            m("fragment in request-target"),
        ),
        (
            b"GET * HTTP/1.1\r\nHost: a\r\n\r\n",
            m("asterisk-form request-target without OPTIONS"),
        ),
        (
            b"GET relative HTTP/1.1\r\nHost: a\r\n\r\n",
            m("invalid request-target"),
        ),
        (
            b"GET 1http://h/ HTTP/1.1\r\nHost: a\r\n\r\n",
            m("invalid request-target"),
        ),
        (
            b"GET http:///p HTTP/1.1\r\nHost: a\r\n\r\n",
            m("invalid authority in request-target"),
        ),
        (
            b"GET http://user@h/p HTTP/1.1\r\nHost: a\r\n\r\n",
            m("invalid authority in request-target"),
        ),
        (
            b"CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n",
            m("invalid CONNECT request-target"),
        ),
        (
            b"CONNECT h HTTP/1.1\r\nHost: a\r\n\r\n",
            m("invalid CONNECT request-target"),
        ),
        (
            b"CONNECT h:x HTTP/1.1\r\nHost: a\r\n\r\n",
            m("invalid CONNECT request-target"),
        ),
        (
            b"CONNECT :443 HTTP/1.1\r\nHost: a\r\n\r\n",
            m("invalid CONNECT request-target"),
        ),
        // Host
        (b"GET / HTTP/1.1\r\n\r\n", m("missing host")),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
            m("multiple host headers"),
        ),
        (
            b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
            m("multiple host headers"),
        ),
        (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", m("invalid host")),
        (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", m("invalid host")),
        (b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", m("invalid host")),
    ];
    for (input, want) in cases {
        let got = req(input);
        assert_eq!(
            got.as_ref().err(),
            Some(want),
            "{:?} → {got:?}",
            String::from_utf8_lossy(input)
        );
        // Whatever prefix of a bad input arrives first, the parser either waits
        // or reports the very same error: feeding byte by byte == all at once.
        for k in 0..input.len() {
            match req(&input[..k]) {
                Ok(None) => {}
                Err(e) => assert_eq!(
                    &e,
                    want,
                    "prefix {k} of {:?}",
                    String::from_utf8_lossy(input)
                ),
                Ok(Some(_)) => panic!("prefix {k} of {:?} parsed", String::from_utf8_lossy(input)),
            }
        }
    }
}

#[test]
fn error_status_codes() {
    assert_eq!(ParseError::HeadTooLarge.status_code(), 431);
    assert_eq!(ParseError::TooManyHeaders.status_code(), 431);
    assert_eq!(ParseError::Malformed("x").status_code(), 400);
    assert_eq!(ParseError::UnsupportedVersion.status_code(), 505);
    assert_eq!(ParseError::Http2Preface.status_code(), 400);
    assert_eq!(ParseError::UnexpectedEof.status_code(), 400);
    assert_eq!(
        ParseError::Malformed("bad thing").to_string(),
        "malformed HTTP/1 message: bad thing"
    );
}

fn head_of_size(n: usize) -> Vec<u8> {
    let base = b"GET / HTTP/1.1\r\nHost: a\r\nX-Fill: \r\n\r\n".len();
    let mut v = b"GET / HTTP/1.1\r\nHost: a\r\nX-Fill: ".to_vec();
    v.extend(std::iter::repeat_n(b'f', n - base));
    v.extend_from_slice(b"\r\n\r\n");
    assert_eq!(v.len(), n);
    v
}

#[test]
fn head_size_limit() {
    let limits = Limits {
        max_head_bytes: 1000,
        max_headers: 100,
    };
    // Exactly at the limit: fine.
    let at = head_of_size(1000);
    assert_eq!(parse_request_head(&at, &limits).unwrap().unwrap().1, 1000);
    // One byte over, complete: too large.
    let over = head_of_size(1001);
    assert_eq!(
        parse_request_head(&over, &limits).unwrap_err(),
        ParseError::HeadTooLarge
    );
    // Incomplete but already at the limit: too large; under it: wait.
    assert_eq!(
        parse_request_head(&over[..1000], &limits).unwrap_err(),
        ParseError::HeadTooLarge
    );
    assert!(parse_request_head(&over[..999], &limits).unwrap().is_none());
    // Default limit (60 KiB) on a huge header line.
    let huge = head_of_size(70_000);
    assert_eq!(req(&huge).unwrap_err(), ParseError::HeadTooLarge);
    assert_eq!(
        res(&huge).unwrap_err(),
        ParseError::Malformed("invalid HTTP version")
    );
    let mut huge_res = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    huge_res.extend(std::iter::repeat_n(b'x', 70_000));
    assert_eq!(res(&huge_res).unwrap_err(), ParseError::HeadTooLarge);
    // A zero limit rejects everything.
    let zero = Limits {
        max_head_bytes: 0,
        max_headers: 100,
    };
    assert_eq!(
        parse_request_head(b"", &zero).unwrap_err(),
        ParseError::HeadTooLarge
    );
}

fn with_headers(n: usize) -> Vec<u8> {
    let mut v = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 1..n {
        v.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    v.extend_from_slice(b"\r\n");
    v
}

#[test]
fn header_count_limit() {
    assert_eq!(req_ok(&with_headers(100)).0.headers.len(), 100);
    assert_eq!(
        req(&with_headers(101)).unwrap_err(),
        ParseError::TooManyHeaders
    );
    let small = Limits {
        max_head_bytes: 61440,
        max_headers: 2,
    };
    assert!(parse_request_head(&with_headers(2), &small)
        .unwrap()
        .is_some());
    assert_eq!(
        parse_request_head(&with_headers(3), &small).unwrap_err(),
        ParseError::TooManyHeaders
    );
    // Limits above the stack cap are capped at 128.
    let big = Limits {
        max_head_bytes: 1 << 20,
        max_headers: 10_000,
    };
    assert!(parse_request_head(&with_headers(128), &big)
        .unwrap()
        .is_some());
    assert_eq!(
        parse_request_head(&with_headers(129), &big).unwrap_err(),
        ParseError::TooManyHeaders
    );
    let resp = b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    assert_eq!(
        parse_response_head(resp, &small).unwrap_err(),
        ParseError::TooManyHeaders
    );
}

#[test]
fn request_every_split_point() {
    let inputs: &[&[u8]] = &[
        GET,
        b"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
        b"\r\nOPTIONS * HTTP/1.0\n\n",
    ];
    for input in inputs {
        let (full, n) = req_ok(input);
        for k in 0..n {
            assert!(req(&input[..k]).unwrap().is_none(), "prefix {k}");
        }
        for k in n..=input.len() {
            let (h, m) = req_ok(&input[..k]);
            assert_eq!((h, m), (full.clone(), n));
        }
    }
}

#[test]
fn parses_responses() {
    let (h, n) =
        res(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n\r\nhi")
            .unwrap()
            .unwrap();
    assert_eq!(n, 68);
    assert_eq!(h.version, Version::HTTP_11);
    assert_eq!(h.status, StatusCode::OK);
    assert_eq!(&h.reason[..], b"OK");
    assert_eq!(h.headers.get_all("set-cookie").iter().count(), 2);

    let (h, _) = res(b"HTTP/1.0 404 Not Here Buddy\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!(h.version, Version::HTTP_10);
    assert_eq!(h.status, StatusCode::NOT_FOUND);
    assert_eq!(&h.reason[..], b"Not Here Buddy");

    let (h, _) = res(b"HTTP/1.1 200\r\n\r\n").unwrap().unwrap();
    assert!(h.reason.is_empty());
    let (h, _) = res(b"HTTP/1.1 200 \r\n\r\n").unwrap().unwrap();
    assert!(h.reason.is_empty());

    // obs-text in the reason is kept byte for byte.
    let (h, _) = res(b"HTTP/1.1 200 \xe4\xbd\xa0\xe5\xa5\xbd ok\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!(&h.reason[..], b"\xe4\xbd\xa0\xe5\xa5\xbd ok");

    let (h, _) = res(b"\r\nHTTP/1.1 599 Custom\r\n\r\n").unwrap().unwrap();
    assert_eq!(h.status.as_u16(), 599);
    assert_eq!(&h.reason[..], b"Custom");
}

#[test]
fn response_error_table() {
    use ParseError::*;
    let m = |s: &'static str| Malformed(s);
    let cases: &[(&[u8], ParseError)] = &[
        (b"HTTP/1.1 20 OK\r\n\r\n", m("invalid status line")),
        (b"HTTP/1.1 abc OK\r\n\r\n", m("invalid status line")),
        (b"HTTP/1.1 2000 OK\r\n\r\n", m("invalid status line")),
        (b"HTTP/1.1 099 Low\r\n\r\n", m("invalid status code")),
        (b"HTTP/1.1 200 O\x01K\r\n\r\n", m("invalid status line")),
        (b"HTTP/1.1  200 OK\r\n\r\n", m("invalid status line")),
        (b"HTTP/2.0 200 OK\r\n\r\n", UnsupportedVersion),
        (b"HTTP/1.9 200 OK\r\n\r\n", UnsupportedVersion),
        (b"HTTP/2 200 OK\r\n\r\n", m("invalid HTTP version")),
        (b"ICY 200 OK\r\n\r\n", m("invalid HTTP version")),
        (
            b"HTTP/1.1 200 OK\r\nX: 1\r\n folded\r\n\r\n",
            m("obsolete line folding"),
        ),
        (
            b"HTTP/1.1 200 OK\r\nX : 1\r\n\r\n",
            m("invalid header name"),
        ),
        (
            b"HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n",
            m("invalid header value"),
        ),
        (b"HTTP/1.1 200 OK\r\nX: 1\r\r\n", m("invalid header value")),
    ];
    for (input, want) in cases {
        let got = res(input);
        assert_eq!(
            got.as_ref().err(),
            Some(want),
            "{:?} → {got:?}",
            String::from_utf8_lossy(input)
        );
        for k in 0..input.len() {
            match res(&input[..k]) {
                Ok(None) => {}
                Err(e) => assert_eq!(
                    &e,
                    want,
                    "prefix {k} of {:?}",
                    String::from_utf8_lossy(input)
                ),
                Ok(Some(_)) => panic!("prefix {k} parsed"),
            }
        }
    }
}

#[test]
fn response_every_split_point() {
    let input: &[u8] = b"HTTP/1.1 301 Moved \xff\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n";
    let (full, n) = res(input).unwrap().unwrap();
    assert_eq!(n, input.len());
    for k in 0..n {
        assert!(res(&input[..k]).unwrap().is_none(), "prefix {k}");
    }
    assert_eq!(&full.reason[..], b"Moved \xff");
}
