//! Deterministic "mini-fuzz": mutated and random inputs never panic and
//! never violate basic invariants. (The real fuzzer lives in /fuzz.)

use bytes::BytesMut;
use http::Method;
use mosn_protocol::http1::{
    parse_request_head, parse_response_head, request_body_kind, response_body_kind, BodyDecoder,
    BodyEvent, BodyKind, Limits,
};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SEEDS: &[&[u8]] = &[
    b"GET /a?b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
    b"POST http://h/p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: 1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
    b"HTTP/1.0 404 \xff\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n",
];

const INTERESTING: &[u8] = b"\r\n :;,#?/*0123456789abcdefHTTP/1.\t\x00\x7f\xff";

fn exercise(input: &[u8]) {
    let limits = Limits {
        max_head_bytes: 256,
        max_headers: 8,
    };
    if let Ok(Some((head, n))) = parse_request_head(input, &limits) {
        assert!(n <= input.len() && n <= 256);
        let _ = (head.path(), head.query(), head.host());
        if let Ok(kind) = request_body_kind(&head) {
            assert_ne!(kind, BodyKind::CloseDelimited);
            drain(kind, &input[n..]);
        }
    }
    if let Ok(Some((head, n))) = parse_response_head(input, &limits) {
        assert!(n <= input.len());
        for m in [Method::GET, Method::HEAD, Method::CONNECT] {
            if let Ok(kind) = response_body_kind(&m, &head) {
                drain(kind, &input[n..]);
            }
        }
    }
    for kind in [
        BodyKind::Chunked,
        BodyKind::Length(7),
        BodyKind::CloseDelimited,
    ] {
        drain(kind, input);
    }
}

fn drain(kind: BodyKind, body: &[u8]) {
    let mut dec = BodyDecoder::with_limits(
        kind,
        Limits {
            max_head_bytes: 128,
            max_headers: 4,
        },
    );
    let mut buf = BytesMut::from(body);
    for _ in 0..10_000 {
        let before = buf.len();
        match dec.decode(&mut buf) {
            Ok(Some(BodyEvent::End)) => {
                assert!(dec.is_done());
                return;
            }
            Ok(Some(_)) => assert!(buf.len() <= before),
            Ok(None) => {
                let _ = dec.eof();
                return;
            }
            Err(_) => return,
        }
    }
    panic!("decoder made no progress");
}

#[test]
fn mutated_inputs_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let mut v = SEEDS[rng.below(SEEDS.len())].to_vec();
        for _ in 0..1 + rng.below(4) {
            let pos = rng.below(v.len() + 1);
            match rng.below(4) {
                0 if pos < v.len() => v[pos] = INTERESTING[rng.below(INTERESTING.len())],
                1 if pos < v.len() => {
                    v.remove(pos);
                }
                2 => v.insert(pos, INTERESTING[rng.below(INTERESTING.len())]),
                _ => v.truncate(pos),
            }
        }
        exercise(&v);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..5_000 {
        let len = rng.below(300);
        let v: Vec<u8> = (0..len)
            .map(|_| INTERESTING[rng.below(INTERESTING.len())])
            .collect();
        exercise(&v);
    }
}
