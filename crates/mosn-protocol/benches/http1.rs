//! The HTTP/1.1 codec on the proxy's hot path: parsing a typical request head and
//! response head, and encoding the request head sent upstream.
//!
//! `cargo bench -p mosn-protocol --bench http1` (add `-- --quick` for a fast pass).

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use mosn_protocol::http1::{
    encode_request_head, parse_request_head, parse_response_head, request_body_kind, Limits,
};

/// What a browser-like client sends: 9 header fields, 400-odd bytes.
const REQUEST: &[u8] = b"GET /api/v1/items?page=2&size=50 HTTP/1.1\r\n\
Host: shop.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)\r\n\
Accept: application/json, text/plain, */*\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n\
X-Request-Id: 5f2b8c1e-8d4a-4c1b-9f2e-3a7d6b5c4e21\r\n\
Referer: https://shop.example.com/items\r\n\
Connection: keep-alive\r\n\r\n";

/// A typical upstream answer head.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx\r\n\
Date: Sun, 22 Nov 2026 10:00:00 GMT\r\n\
Content-Type: application/json\r\n\
Content-Length: 1234\r\n\
Cache-Control: no-cache\r\n\
Connection: keep-alive\r\n\r\n";

fn http1(c: &mut Criterion) {
    let limits = Limits {
        max_head_bytes: 60 * 1024,
        max_headers: 100,
    };
    let mut g = c.benchmark_group("http1");
    g.bench_function("parse_request_head", |b| {
        b.iter(|| parse_request_head(black_box(REQUEST), &limits).unwrap())
    });
    g.bench_function("parse_response_head", |b| {
        b.iter(|| parse_response_head(black_box(RESPONSE), &limits).unwrap())
    });
    let (head, _) = parse_request_head(REQUEST, &limits).unwrap().unwrap();
    let body = request_body_kind(&head).unwrap();
    let mut out = BytesMut::with_capacity(1024);
    g.bench_function("encode_request_head", |b| {
        b.iter(|| {
            out.clear();
            encode_request_head(black_box(&head), &body, &mut out);
        })
    });
    g.finish();
}

criterion_group!(benches, http1);
criterion_main!(benches);
