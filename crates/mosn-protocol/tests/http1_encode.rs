//! Encoders, hop-by-hop stripping, keep-alive, local replies, round trips.

use bytes::{Bytes, BytesMut};
use http::header::HeaderValue;
use http::{HeaderMap, Method, StatusCode, Version};
use mosn_protocol::http1::{
    encode_local_reply, encode_request_head, encode_response_head, parse_request_head,
    parse_response_head, request_body_kind, response_body_kind, strip_hop_by_hop, wants_keep_alive,
    BodyKind, ConnectionOptions, Limits, RequestHead, ResponseHead,
};

fn parse_req(b: &[u8]) -> RequestHead {
    parse_request_head(b, &Limits::default())
        .unwrap()
        .unwrap()
        .0
}

fn parse_res(b: &[u8]) -> ResponseHead {
    parse_response_head(b, &Limits::default())
        .unwrap()
        .unwrap()
        .0
}

fn enc_req(h: &RequestHead, k: BodyKind) -> String {
    let mut out = BytesMut::new();
    encode_request_head(h, &k, &mut out);
    String::from_utf8(out.to_vec()).unwrap()
}

fn enc_res(h: &ResponseHead, k: BodyKind) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_response_head(h, &k, &mut out);
    out.to_vec()
}

fn response(
    status: u16,
    reason: &'static [u8],
    headers: &[(&'static str, &'static str)],
) -> ResponseHead {
    let mut map = HeaderMap::new();
    for (n, v) in headers {
        map.append(*n, HeaderValue::from_static(v));
    }
    ResponseHead {
        version: Version::HTTP_11,
        status: StatusCode::from_u16(status).unwrap(),
        reason: Bytes::from_static(reason),
        headers: map,
    }
}

#[test]
fn request_head_framing_headers() {
    let h = parse_req(b"POST /p?q HTTP/1.1\r\nHost: h\r\nContent-Length: 99\r\nX-A: 1\r\n\r\n");
    assert_eq!(
        enc_req(&h, BodyKind::Length(5)),
        "POST /p?q HTTP/1.1\r\nhost: h\r\nx-a: 1\r\ncontent-length: 5\r\n\r\n"
    );
    assert_eq!(
        enc_req(&h, BodyKind::Chunked),
        "POST /p?q HTTP/1.1\r\nhost: h\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    assert_eq!(
        enc_req(&h, BodyKind::CloseDelimited),
        "POST /p?q HTTP/1.1\r\nhost: h\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    assert_eq!(
        enc_req(&h, BodyKind::Empty),
        "POST /p?q HTTP/1.1\r\nhost: h\r\nx-a: 1\r\ncontent-length: 0\r\n\r\n"
    );
    let g = parse_req(b"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_eq!(enc_req(&g, BodyKind::Empty), "GET / HTTP/1.0\r\n\r\n");
}

#[test]
fn request_target_is_made_wire_safe() {
    let mut h = parse_req(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    h.target = Bytes::from_static(b"/a b\r\nEvil: 1");
    assert_eq!(
        enc_req(&h, BodyKind::Empty),
        "GET /a%20b%0D%0AEvil:%201 HTTP/1.1\r\nhost: h\r\n\r\n"
    );
    h.target = Bytes::new();
    assert_eq!(
        enc_req(&h, BodyKind::Empty),
        "GET / HTTP/1.1\r\nhost: h\r\n\r\n"
    );
}

#[test]
fn request_round_trip() {
    let wire = b"PUT http://up:8080/x/y?z=1 HTTP/1.1\r\nHost: up:8080\r\nConnection: keep-alive, X-Hop\r\nX-Hop: gone\r\nKeep-Alive: timeout=5\r\nX-Dup: a\r\nX-Dup: b\r\nX-Bin: \xfe\r\nContent-Length: 4\r\n\r\n";
    let mut h = parse_req(wire);
    let kind = request_body_kind(&h).unwrap();
    let opts = strip_hop_by_hop(&mut h.headers);
    assert!(opts.keep_alive && !opts.close);
    let mut out = BytesMut::new();
    encode_request_head(&h, &kind, &mut out);
    let (again, n) = parse_request_head(&out, &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(n, out.len());
    assert_eq!(again.method, Method::PUT);
    assert_eq!(again.target, h.target);
    assert_eq!(again.path(), "/x/y");
    assert_eq!(again.query(), Some("z=1"));
    assert_eq!(request_body_kind(&again).unwrap(), BodyKind::Length(4));
    let mut names: Vec<_> = again.headers.keys().map(|k| k.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["content-length", "host", "x-bin", "x-dup"]);
    assert_eq!(
        again.headers.get_all("x-dup").iter().collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(again.headers["x-bin"].as_bytes(), b"\xfe");
}

#[test]
fn response_round_trip_keeps_reason() {
    let wire =
        b"HTTP/1.1 200 Totally \xe9 Fine\r\nTransfer-Encoding: chunked\r\nServer: up\r\n\r\n";
    let mut h = parse_res(wire);
    let kind = response_body_kind(&Method::GET, &h).unwrap();
    assert_eq!(kind, BodyKind::Chunked);
    strip_hop_by_hop(&mut h.headers);
    let out = enc_res(&h, kind);
    assert_eq!(
        out,
        b"HTTP/1.1 200 Totally \xe9 Fine\r\nserver: up\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    let again = parse_res(&out);
    assert_eq!(again, h.clone().with_te());
}

trait WithTe {
    fn with_te(self) -> Self;
}
impl WithTe for ResponseHead {
    fn with_te(mut self) -> Self {
        self.headers
            .append("transfer-encoding", HeaderValue::from_static("chunked"));
        self
    }
}

#[test]
fn response_status_line() {
    assert!(
        enc_res(&response(200, b"", &[]), BodyKind::Length(0)).starts_with(b"HTTP/1.1 200 OK\r\n")
    );
    assert!(enc_res(&response(404, b"Nope", &[]), BodyKind::Length(0))
        .starts_with(b"HTTP/1.1 404 Nope\r\n"));
    assert!(
        enc_res(&response(599, b"", &[]), BodyKind::Length(0)).starts_with(b"HTTP/1.1 599 \r\n")
    );
    // A reason that would break the status line is replaced.
    assert!(
        enc_res(&response(502, b"x\r\nEvil: 1", &[]), BodyKind::Length(0))
            .starts_with(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
    );
    let mut h10 = response(200, b"OK", &[]);
    h10.version = Version::HTTP_10;
    assert!(enc_res(&h10, BodyKind::CloseDelimited).starts_with(b"HTTP/1.0 200 OK\r\n"));
}

#[test]
fn response_framing_headers() {
    let cases: Vec<(ResponseHead, BodyKind, &[u8])> = vec![
        (
            response(200, b"OK", &[("content-length", "9")]),
            BodyKind::Length(3),
            b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n",
        ),
        (
            response(200, b"OK", &[("content-length", "9")]),
            BodyKind::Chunked,
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
        ),
        (
            response(200, b"OK", &[]),
            BodyKind::CloseDelimited,
            b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n",
        ),
        (
            response(200, b"OK", &[("connection", "close")]),
            BodyKind::CloseDelimited,
            b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n",
        ),
        (
            response(200, b"OK", &[]),
            BodyKind::Empty,
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
        ),
        // HEAD response: the representation's length is kept.
        (
            response(
                200,
                b"OK",
                &[("content-length", "1234"), ("content-length", "1234")],
            ),
            BodyKind::Empty,
            b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n",
        ),
        (
            response(304, b"Not Modified", &[("etag", "\"x\"")]),
            BodyKind::Empty,
            b"HTTP/1.1 304 Not Modified\r\netag: \"x\"\r\n\r\n",
        ),
        (
            response(304, b"Not Modified", &[("content-length", "5")]),
            BodyKind::Empty,
            b"HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\n\r\n",
        ),
        (
            response(204, b"No Content", &[("content-length", "5")]),
            BodyKind::Empty,
            b"HTTP/1.1 204 No Content\r\n\r\n",
        ),
        (
            response(100, b"Continue", &[]),
            BodyKind::Empty,
            b"HTTP/1.1 100 Continue\r\n\r\n",
        ),
        (
            response(200, b"OK", &[("transfer-encoding", "chunked")]),
            BodyKind::Length(1),
            b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n",
        ),
    ];
    for (head, kind, want) in cases {
        let got = enc_res(&head, kind);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want),
            "{head:?} {kind:?}"
        );
    }
}

#[test]
fn head_and_304_round_trip_with_empty_bodies() {
    // HEAD: body kind Empty, decoder ends at once, CL kept for the client.
    let mut h = parse_res(b"HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n");
    let kind = response_body_kind(&Method::HEAD, &h).unwrap();
    assert_eq!(kind, BodyKind::Empty);
    strip_hop_by_hop(&mut h.headers);
    let out = enc_res(&h, kind);
    assert_eq!(out, b"HTTP/1.1 200 OK\r\ncontent-length: 42\r\n\r\n");
    // The same head answering a GET would have a body.
    assert_eq!(
        response_body_kind(&Method::GET, &parse_res(&out)).unwrap(),
        BodyKind::Length(42)
    );
}

#[test]
fn hop_by_hop_stripping() {
    let mut h = parse_req(
        b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, Upgrade, X-Private , host, content-length\r\nconnection: te\r\n\
Upgrade: WebSocket\r\nKeep-Alive: 5\r\nProxy-Connection: keep-alive\r\nTE: gzip;q=0.5, Trailers\r\nTrailer: x-sum\r\n\
Transfer-Encoding: chunked\r\nX-Private: secret\r\nContent-Length: 0\r\nX-Keep: yes\r\n\r\n",
    );
    let opts = strip_hop_by_hop(&mut h.headers);
    assert_eq!(
        opts,
        ConnectionOptions {
            close: false,
            keep_alive: true,
            upgrade: Some("websocket".into()),
            te_trailers: true
        }
    );
    // Removal may reorder distinct names (HeaderMap swap-removes); same-name order is kept.
    let mut names: Vec<_> = h.headers.keys().map(|k| k.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["content-length", "host", "x-keep"]);

    let mut m = HeaderMap::new();
    m.append("connection", HeaderValue::from_static("close"));
    m.append("upgrade", HeaderValue::from_static("h2c"));
    m.append("te", HeaderValue::from_static("trailersx"));
    let opts = strip_hop_by_hop(&mut m);
    assert_eq!(
        opts,
        ConnectionOptions {
            close: true,
            keep_alive: false,
            upgrade: None,
            te_trailers: false
        }
    );
    assert!(m.is_empty(), "Upgrade is removed even when not listed");

    let mut none = HeaderMap::new();
    none.append("x", HeaderValue::from_static("1"));
    assert_eq!(strip_hop_by_hop(&mut none), ConnectionOptions::default());
    assert_eq!(none.len(), 1);
}

#[test]
fn keep_alive_decisions() {
    let opts = |close, keep_alive| ConnectionOptions {
        close,
        keep_alive,
        upgrade: None,
        te_trailers: false,
    };
    let cases = [
        (Version::HTTP_11, opts(false, false), true),
        (Version::HTTP_11, opts(true, false), false),
        (Version::HTTP_11, opts(false, true), true),
        (Version::HTTP_11, opts(true, true), false),
        (Version::HTTP_10, opts(false, false), false),
        (Version::HTTP_10, opts(false, true), true),
        (Version::HTTP_10, opts(true, true), false),
    ];
    for (v, o, want) in cases {
        assert_eq!(wants_keep_alive(v, &o), want, "{v:?} {o:?}");
    }
}

#[test]
fn local_replies() {
    let mut out = BytesMut::new();
    encode_local_reply(431, "request header fields too large", true, &mut out);
    assert_eq!(
        &out[..],
        &b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\ncontent-length: 32\r\nconnection: close\r\n\r\nrequest header fields too large\n"[..]
    );
    let mut out = BytesMut::new();
    encode_local_reply(200, "ok\n", false, &mut out);
    assert_eq!(
        &out[..],
        &b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n\r\nok\n"[..]
    );
    let mut out = BytesMut::new();
    encode_local_reply(204, "ignored", false, &mut out);
    assert_eq!(&out[..], &b"HTTP/1.1 204 No Content\r\n\r\n"[..]);
    let mut out = BytesMut::new();
    encode_local_reply(42, "", false, &mut out);
    assert_eq!(&out[..], &b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\ncontent-length: 1\r\n\r\n\n"[..]);

    // A local reply parses back as a response with a Length body.
    let mut out = BytesMut::new();
    encode_local_reply(503, "no healthy upstream", false, &mut out);
    let (h, n) = parse_response_head(&out, &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(h.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response_body_kind(&Method::GET, &h).unwrap(),
        BodyKind::Length(20)
    );
    assert_eq!(&out[n..], b"no healthy upstream\n");
}
