//! Arbitrary bytes through the HTTP/1 codec (mosn-protocol::http1): head
//! parsers, framing rules, body decoders and encoders must never panic, and
//! must obey a few invariants:
//! - a parsed head re-encodes into bytes that parse back to the same head
//!   and the same body framing;
//! - a body decodes to the same outcome whether fed at once or in pieces
//!   (split points taken from the input).
#![no_main]

use bytes::BytesMut;
use http::{HeaderMap, Method};
use libfuzzer_sys::fuzz_target;
use mosn_protocol::http1::{
    encode_request_head, encode_response_head, parse_request_head, parse_response_head,
    request_body_kind, response_body_kind, strip_hop_by_hop, BodyDecoder, BodyEncoder, BodyEvent,
    BodyKind, Limits, ParseError,
};

/// Everything a decoder produced: data, trailers, whether it ended, the
/// error if any, and the bytes left over.
type Outcome = (
    Vec<u8>,
    Option<HeaderMap>,
    bool,
    Option<ParseError>,
    Vec<u8>,
);

fn decode(kind: BodyKind, limits: Limits, input: &[u8], piece_sizes: &[u8]) -> Outcome {
    let mut dec = BodyDecoder::with_limits(kind, limits);
    let mut buf = BytesMut::new();
    let (mut data, mut trailers, mut ended) = (Vec::new(), None, false);
    let mut rest = input;
    let mut sizes = piece_sizes.iter().cycle();
    let mut first = true;
    while first || !rest.is_empty() {
        first = false;
        let n = if piece_sizes.is_empty() {
            rest.len()
        } else {
            (*sizes.next().unwrap_or(&255) as usize)
                .clamp(1, rest.len().max(1))
                .min(rest.len())
        };
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(BodyEvent::Data(d))) => {
                    assert!(!d.is_empty() && !ended);
                    data.extend_from_slice(&d);
                }
                Ok(Some(BodyEvent::Trailers(t))) => {
                    assert!(trailers.is_none() && !ended);
                    trailers = Some(t);
                }
                Ok(Some(BodyEvent::End)) => {
                    assert!(!ended && dec.is_done());
                    ended = true;
                }
                Ok(None) => break,
                // What is left over after an error depends on how much had
                // been fed, so it is not compared.
                Err(e) => return (data, trailers, ended, Some(e), Vec::new()),
            }
        }
    }
    if !ended {
        // Whatever the state, eof must answer without panicking.
        let _ = dec.clone().eof();
    }
    (data, trailers, ended, None, buf.to_vec())
}

fn check_body(kind: BodyKind, body: &[u8], piece_sizes: &[u8]) {
    let limits = Limits {
        max_head_bytes: 512,
        max_headers: 8,
    };
    let whole = decode(kind, limits, body, &[]);
    let pieces = decode(kind, limits, body, piece_sizes);
    let ones = decode(kind, limits, &body[..body.len().min(512)], &[1]);
    assert_eq!(whole, pieces, "split invariance: {kind:?}");
    if body.len() <= 512 {
        assert_eq!(whole, ones, "byte-by-byte invariance: {kind:?}");
    }
    // Re-encode what was decoded and decode it again.
    if whole.2 && whole.3.is_none() {
        let mut enc = BodyEncoder::new(kind);
        let mut out = BytesMut::new();
        enc.data(&whole.0, &mut out);
        enc.end(whole.1.as_ref(), &mut out);
        // Re-encoding may grow the trailers (e.g. `a:1` → `a: 1`).
        let roomy = Limits {
            max_head_bytes: 1 << 20,
            max_headers: 128,
        };
        let again = decode(kind, roomy, &out, &[]);
        assert_eq!((&again.0, again.2, again.3), (&whole.0, true, None));
    }
}

/// `Empty` and `Length(0)` are the same body.
fn same_framing(a: BodyKind, b: BodyKind) -> bool {
    let norm = |k| {
        if k == BodyKind::Length(0) {
            BodyKind::Empty
        } else {
            k
        }
    };
    norm(a) == norm(b)
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, input)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        max_head_bytes: if ctl & 1 == 0 { 61440 } else { 300 },
        max_headers: if ctl & 2 == 0 { 100 } else { 4 },
    };
    let roomy = Limits {
        max_head_bytes: 1 << 20,
        max_headers: 128,
    };
    let piece_sizes = &input[..input.len().min(8)];

    // Request head → framing → body → re-encode → re-parse.
    if let Ok(Some((mut head, n))) = parse_request_head(input, &limits) {
        assert!(n <= input.len() && n <= limits.max_head_bytes);
        let _ = (head.path(), head.query(), head.host());
        if let Ok(kind) = request_body_kind(&head) {
            assert_ne!(kind, BodyKind::CloseDelimited);
            check_body(kind, &input[n..], piece_sizes);
            strip_hop_by_hop(&mut head.headers);
            if head.headers.len() < 127 {
                let mut out = BytesMut::new();
                encode_request_head(&head, &kind, &mut out);
                let (again, m) = parse_request_head(&out, &roomy)
                    .expect("encoded request head must parse")
                    .expect("encoded request head is complete");
                assert_eq!(m, out.len());
                assert_eq!(
                    (&again.method, &again.target, again.version),
                    (&head.method, &head.target, head.version)
                );
                let again_kind = request_body_kind(&again).expect("encoded framing is valid");
                assert!(same_framing(kind, again_kind), "{kind:?} vs {again_kind:?}");
            }
        }
        if ctl & 4 != 0 {
            let new_path = String::from_utf8_lossy(piece_sizes);
            head.set_path(&new_path);
            let _ = (head.path(), head.query(), head.host());
            let mut out = BytesMut::new();
            encode_request_head(&head, &BodyKind::Empty, &mut out);
        }
    }

    // Response head → framing → body → re-encode → re-parse.
    if let Ok(Some((mut head, n))) = parse_response_head(input, &limits) {
        assert!(n <= input.len() && n <= limits.max_head_bytes);
        for method in [Method::GET, Method::HEAD, Method::CONNECT] {
            let _ = response_body_kind(&method, &head);
        }
        if let Ok(kind) = response_body_kind(&Method::GET, &head) {
            check_body(kind, &input[n..], piece_sizes);
            strip_hop_by_hop(&mut head.headers);
            if head.headers.len() < 127 {
                let mut out = BytesMut::new();
                encode_response_head(&head, &kind, &mut out);
                let (again, m) = parse_response_head(&out, &roomy)
                    .expect("encoded response head must parse")
                    .expect("encoded response head is complete");
                assert_eq!(m, out.len());
                assert_eq!((again.status, again.version), (head.status, head.version));
                let again_kind =
                    response_body_kind(&Method::GET, &again).expect("encoded framing is valid");
                assert!(same_framing(kind, again_kind), "{kind:?} vs {again_kind:?}");
            }
        }
    }

    // Raw body decoders over arbitrary bytes.
    let len = u64::from(ctl >> 3) * 7;
    for kind in [
        BodyKind::Chunked,
        BodyKind::Length(len),
        BodyKind::CloseDelimited,
        BodyKind::Empty,
    ] {
        check_body(kind, input, piece_sizes);
    }
});
