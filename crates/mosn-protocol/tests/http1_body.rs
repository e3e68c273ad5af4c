//! Body decoding/encoding: events, split points, errors, EOF, pipelining.

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use mosn_protocol::http1::{
    parse_request_head, request_body_kind, BodyDecoder, BodyEncoder, BodyEvent, BodyKind, Limits,
    ParseError,
};

/// (data, trailers, ended, leftover bytes).
type Outcome = (Vec<u8>, Option<HeaderMap>, bool, Vec<u8>);

/// Runs the decoder over `input` fed in `pieces`; returns (data, trailers,
/// ended, leftover) or the first error.
fn run(kind: BodyKind, limits: Limits, pieces: &[&[u8]]) -> Result<Outcome, ParseError> {
    let mut dec = BodyDecoder::with_limits(kind, limits);
    let mut buf = BytesMut::new();
    let mut data = Vec::new();
    let mut trailers = None;
    let mut ended = false;
    for piece in pieces {
        buf.extend_from_slice(piece);
        while let Some(ev) = dec.decode(&mut buf)? {
            match ev {
                BodyEvent::Data(d) => {
                    assert!(!d.is_empty(), "empty Data event");
                    assert!(!ended);
                    data.extend_from_slice(&d);
                }
                BodyEvent::Trailers(t) => {
                    assert!(trailers.is_none() && !ended);
                    trailers = Some(t);
                }
                BodyEvent::End => {
                    assert!(!ended);
                    ended = true;
                    assert!(dec.is_done());
                }
            }
        }
    }
    Ok((data, trailers, ended, buf.to_vec()))
}

fn all_at_once(kind: BodyKind, input: &[u8]) -> Result<Outcome, ParseError> {
    run(kind, Limits::default(), &[input])
}

/// Checks that every split into two pieces, and byte-by-byte feeding, give
/// the same outcome as feeding everything at once.
fn assert_split_invariant(kind: BodyKind, input: &[u8]) {
    let whole = all_at_once(kind, input);
    for k in 0..=input.len() {
        let split = run(kind, Limits::default(), &[&input[..k], &input[k..]]);
        assert_eq!(
            split,
            whole,
            "split at {k} of {:?}",
            String::from_utf8_lossy(input)
        );
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run(kind, Limits::default(), &bytes), whole, "byte by byte");
}

const CHUNKED: &[u8] = b"5\r\nhello\r\n6;name=value; other\r\n world\r\nA \t;x\r\n0123456789\r\n0\r\nX-Trailer: t1\r\nX-Other: 2\r\n\r\nNEXT";

#[test]
fn chunked_with_extensions_and_trailers() {
    let (data, trailers, ended, rest) = all_at_once(BodyKind::Chunked, CHUNKED).unwrap();
    assert_eq!(data, b"hello world0123456789");
    let t = trailers.unwrap();
    assert_eq!(t["x-trailer"], "t1");
    assert_eq!(t["x-other"], "2");
    assert!(ended);
    assert_eq!(rest, b"NEXT");
}

#[test]
fn chunked_events_in_order() {
    let mut dec = BodyDecoder::new(BodyKind::Chunked);
    let mut buf = BytesMut::from(&b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"[..]);
    assert_eq!(
        dec.decode(&mut buf).unwrap(),
        Some(BodyEvent::Data(Bytes::from_static(b"abc")))
    );
    assert_eq!(
        dec.decode(&mut buf).unwrap(),
        Some(BodyEvent::Data(Bytes::from_static(b"de")))
    );
    assert!(!dec.is_done());
    assert_eq!(dec.decode(&mut buf).unwrap(), Some(BodyEvent::End));
    assert!(dec.is_done());
    assert!(buf.is_empty());
    // After End: nothing more, buffer untouched.
    buf.extend_from_slice(b"GET");
    assert_eq!(dec.decode(&mut buf).unwrap(), None);
    assert_eq!(&buf[..], b"GET");
    assert_eq!(dec.eof().unwrap(), BodyEvent::End);
}

#[test]
fn chunked_every_split_point() {
    assert_split_invariant(BodyKind::Chunked, CHUNKED);
    assert_split_invariant(BodyKind::Chunked, b"0\r\n\r\n");
    assert_split_invariant(BodyKind::Chunked, b"1\r\nx\r\n0;ext\r\n\r\nrest");
    assert_split_invariant(BodyKind::Chunked, b"ffffffffffffffff\r\nabc");
    // Leading zeros are valid hex.
    assert_split_invariant(
        BodyKind::Chunked,
        b"00000000000000000000000000001\r\nz\r\n0\r\n\r\n",
    );
    assert_eq!(
        all_at_once(BodyKind::Chunked, b"0001\r\nz\r\n00\r\n\r\n")
            .unwrap()
            .0,
        b"z"
    );
}

#[test]
fn chunked_errors_every_split_point() {
    for (input, _) in chunked_error_cases() {
        assert_split_invariant(BodyKind::Chunked, input);
    }
}

fn chunked_error_cases() -> Vec<(&'static [u8], ParseError)> {
    let m = ParseError::Malformed;
    vec![
        (b"5\nhello\r\n0\r\n\r\n", m("bare LF in chunked body")),
        (b"5\r\nhello\n0\r\n\r\n", m("missing CRLF after chunk data")),
        (
            b"5\r\nhelloX\r\n0\r\n\r\n",
            m("missing CRLF after chunk data"),
        ),
        (
            b"5\r\nhello\rX0\r\n\r\n",
            m("missing CRLF after chunk data"),
        ),
        (b"5\r\nhello\r\n0\r\n\n", m("bare LF in chunked body")),
        (b"5\r\nhello\r\n0\n\r\n", m("bare LF in chunked body")),
        (b"0\r\nX: y\n\r\n", m("bare LF in chunked body")),
        (b"0\r\nX: y\r\n\n", m("bare LF in chunked body")),
        (b"0\r\n\rX", m("invalid line ending in trailers")),
        (
            b"0\r\nX: 1\r\n folded\r\n\r\n",
            m("invalid trailer section"),
        ),
        (b"0\r\nBad Name: 1\r\n\r\n", m("invalid trailer section")),
        (b"0\r\nX: a\x00b\r\n\r\n", m("invalid trailer section")),
        (b"\r\n", m("invalid chunk size")),
        (b"g\r\n", m("invalid chunk size")),
        (b" 5\r\nhello\r\n", m("invalid chunk size")),
        (b"-1\r\n", m("invalid chunk size")),
        (b"+5\r\nhello\r\n", m("invalid chunk size")),
        (b";ext\r\n", m("invalid chunk size")),
        (b"5 \r\nhello\r\n", m("invalid chunk extension")),
        (b"0x5\r\nhello\r\n", m("invalid chunk extension")),
        (b"5x\r\nhello\r\n", m("invalid chunk extension")),
        (b"5;a\x01b\r\nhello\r\n", m("invalid chunk extension")),
        (b"5;a\rb\r\nhello\r\n", m("invalid chunk extension")),
        (b"5\x0c;a\r\nhello\r\n", m("invalid chunk extension")),
        (b"10000000000000000\r\n", m("chunk size overflow")),
        (b"11111111111111111\r\n", m("chunk size overflow")),
    ]
}

#[test]
fn chunked_error_table() {
    for (input, want) in chunked_error_cases() {
        let got = all_at_once(BodyKind::Chunked, input);
        assert_eq!(
            got.as_ref().err(),
            Some(&want),
            "{:?} → {got:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn chunk_size_line_length_cap() {
    let mut ok = b"5;".to_vec();
    ok.extend(std::iter::repeat_n(b'e', 1022));
    assert_eq!(ok.len(), 1024);
    ok.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
    assert_eq!(all_at_once(BodyKind::Chunked, &ok).unwrap().0, b"hello");

    let mut long = b"5;".to_vec();
    long.extend(std::iter::repeat_n(b'e', 1023));
    long.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
    let err = Err(ParseError::Malformed("chunk size line too long"));
    assert_eq!(all_at_once(BodyKind::Chunked, &long), err);
    // An endless line is refused once it passes the cap, without a LF.
    assert_eq!(all_at_once(BodyKind::Chunked, &[b'1'; 2000][..1026]), err);
    let endless = [&b"1;"[..], &[b'x'; 2000]].concat();
    assert!(!all_at_once(BodyKind::Chunked, &endless[..1025]).unwrap().2);
    assert_eq!(all_at_once(BodyKind::Chunked, &endless[..1026]), err);
}

#[test]
fn trailer_limits() {
    let limits = Limits {
        max_head_bytes: 64,
        max_headers: 2,
    };
    let many = b"0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    assert_eq!(
        run(BodyKind::Chunked, limits, &[many]).err(),
        Some(ParseError::TooManyHeaders)
    );
    let two = b"0\r\nA: 1\r\nB: 2\r\n\r\n";
    assert_eq!(
        run(BodyKind::Chunked, limits, &[two])
            .unwrap()
            .1
            .unwrap()
            .len(),
        2
    );
    let big = [&b"0\r\nA: "[..], &[b'a'; 100], b"\r\n\r\n"].concat();
    assert_eq!(
        run(BodyKind::Chunked, limits, &[&big]).err(),
        Some(ParseError::HeadTooLarge)
    );
    // Incomplete but already over the limit.
    assert_eq!(
        run(BodyKind::Chunked, limits, &[&big[..70]]).err(),
        Some(ParseError::HeadTooLarge)
    );
    assert!(!run(BodyKind::Chunked, limits, &[&big[..60]]).unwrap().2);
}

#[test]
fn length_body() {
    let (data, trailers, ended, rest) = all_at_once(BodyKind::Length(5), b"helloGET /").unwrap();
    assert_eq!(
        (data.as_slice(), trailers, ended, rest.as_slice()),
        (&b"hello"[..], None, true, &b"GET /"[..])
    );
    assert_split_invariant(BodyKind::Length(5), b"helloGET /");
    assert_split_invariant(BodyKind::Length(12), b"hello");
}

#[test]
fn length_body_streams_without_buffering() {
    let mut dec = BodyDecoder::new(BodyKind::Length(10));
    let mut buf = BytesMut::from(&b"abc"[..]);
    assert_eq!(
        dec.decode(&mut buf).unwrap(),
        Some(BodyEvent::Data(Bytes::from_static(b"abc")))
    );
    assert_eq!(dec.decode(&mut buf).unwrap(), None);
    buf.extend_from_slice(b"defghijXYZ");
    assert_eq!(
        dec.decode(&mut buf).unwrap(),
        Some(BodyEvent::Data(Bytes::from_static(b"defghij")))
    );
    assert_eq!(dec.decode(&mut buf).unwrap(), Some(BodyEvent::End));
    assert_eq!(&buf[..], b"XYZ");
}

#[test]
fn truncated_length_body_eof_is_an_error() {
    let mut dec = BodyDecoder::new(BodyKind::Length(10));
    let mut buf = BytesMut::from(&b"hello"[..]);
    assert!(matches!(
        dec.decode(&mut buf).unwrap(),
        Some(BodyEvent::Data(_))
    ));
    assert_eq!(dec.eof(), Err(ParseError::UnexpectedEof));
    assert!(!dec.is_done());
    // The error sticks.
    assert_eq!(dec.decode(&mut buf), Err(ParseError::UnexpectedEof));
}

#[test]
fn truncated_chunked_body_eof_is_an_error() {
    for input in [
        &b""[..],
        b"5\r\nhel",
        b"5\r\nhello",
        b"5\r\nhello\r\n",
        b"5\r\nhello\r\n0\r\n",
        b"0\r\nX: 1\r\n",
    ] {
        let mut dec = BodyDecoder::new(BodyKind::Chunked);
        let mut buf = BytesMut::from(input);
        while let Some(ev) = dec.decode(&mut buf).unwrap() {
            assert!(matches!(ev, BodyEvent::Data(_)));
        }
        assert_eq!(dec.eof(), Err(ParseError::UnexpectedEof), "{input:?}");
    }
}

#[test]
fn close_delimited_ends_at_eof() {
    let mut dec = BodyDecoder::new(BodyKind::CloseDelimited);
    let mut buf = BytesMut::new();
    assert_eq!(dec.decode(&mut buf).unwrap(), None);
    buf.extend_from_slice(b"some ");
    assert_eq!(
        dec.decode(&mut buf).unwrap(),
        Some(BodyEvent::Data(Bytes::from_static(b"some ")))
    );
    assert_eq!(dec.decode(&mut buf).unwrap(), None);
    buf.extend_from_slice(b"data\r\n0\r\n\r\n");
    assert_eq!(
        dec.decode(&mut buf).unwrap(),
        Some(BodyEvent::Data(Bytes::from_static(b"data\r\n0\r\n\r\n")))
    );
    assert!(!dec.is_done());
    assert_eq!(dec.eof().unwrap(), BodyEvent::End);
    assert!(dec.is_done());
    assert_eq!(dec.decode(&mut buf).unwrap(), None);
}

#[test]
fn empty_bodies_end_immediately() {
    for kind in [BodyKind::Empty, BodyKind::Length(0)] {
        let mut dec = BodyDecoder::new(kind);
        let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]);
        assert_eq!(dec.decode(&mut buf).unwrap(), Some(BodyEvent::End));
        assert!(dec.is_done());
        assert_eq!(buf.len(), 16, "buffer untouched");
        let mut dec = BodyDecoder::new(kind);
        assert_eq!(
            dec.eof().unwrap(),
            BodyEvent::End,
            "eof before decode: body was empty anyway"
        );
    }
}

#[test]
fn decode_error_sticks() {
    let mut dec = BodyDecoder::new(BodyKind::Chunked);
    let mut buf = BytesMut::from(&b"zz\r\n"[..]);
    let e = dec.decode(&mut buf).unwrap_err();
    buf.clear();
    buf.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(dec.decode(&mut buf).unwrap_err(), e);
    assert_eq!(dec.eof().unwrap_err(), e);
}

#[test]
fn data_is_split_off_without_copy() {
    let mut dec = BodyDecoder::new(BodyKind::Length(4));
    let mut buf = BytesMut::from(&b"abcdef"[..]);
    let base = buf.as_ptr() as usize;
    let Some(BodyEvent::Data(d)) = dec.decode(&mut buf).unwrap() else {
        panic!()
    };
    assert_eq!(d.as_ptr() as usize, base, "zero-copy split");
}

#[test]
fn pipelined_requests_with_bodies() {
    let wire: &[u8] = b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc\
POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n\
GET /c HTTP/1.1\r\nHost: h\r\n\r\n\
GET /d HTTP/1.1\r\nHost: h\r\n\r\n";
    let mut buf = BytesMut::from(wire);
    let mut seen = Vec::new();
    while !buf.is_empty() {
        let (head, n) = parse_request_head(&buf, &Limits::default())
            .unwrap()
            .unwrap();
        let _ = buf.split_to(n);
        let kind = request_body_kind(&head).unwrap();
        let mut dec = BodyDecoder::new(kind);
        let mut body = Vec::new();
        loop {
            match dec
                .decode(&mut buf)
                .unwrap()
                .expect("whole body is buffered")
            {
                BodyEvent::Data(d) => body.extend_from_slice(&d),
                BodyEvent::Trailers(_) => panic!("no trailers"),
                BodyEvent::End => break,
            }
        }
        seen.push((head.path().to_owned(), kind, body));
    }
    assert_eq!(
        seen,
        vec![
            ("/a".to_owned(), BodyKind::Length(3), b"abc".to_vec()),
            ("/b".to_owned(), BodyKind::Chunked, b"def".to_vec()),
            ("/c".to_owned(), BodyKind::Empty, vec![]),
            ("/d".to_owned(), BodyKind::Empty, vec![]),
        ]
    );
}

#[test]
fn smuggling_attempt_cl_te_is_refused_before_any_body_is_read() {
    // Classic CL.TE: a front-end using CL would forward "0\r\n\r\nG" as body.
    let wire = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG";
    let (head, _) = parse_request_head(wire, &Limits::default())
        .unwrap()
        .unwrap();
    assert!(request_body_kind(&head).is_err());
    // TE.TE obfuscation.
    for te in [
        "chunked, identity",
        "gzip, chunked",
        "chunked\r\nTransfer-Encoding: x",
        "identity",
    ] {
        let raw = format!("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: {te}\r\n\r\n");
        let (head, _) = parse_request_head(raw.as_bytes(), &Limits::default())
            .unwrap()
            .unwrap();
        assert!(request_body_kind(&head).is_err(), "{te}");
    }
    // Whitespace before the colon never reaches framing.
    let raw = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n";
    assert!(parse_request_head(raw, &Limits::default()).is_err());
}

#[test]
fn encoder_chunked() {
    let mut enc = BodyEncoder::new(BodyKind::Chunked);
    let mut out = BytesMut::new();
    enc.data(b"hello", &mut out);
    enc.data(b"", &mut out);
    enc.data(&[b'x'; 26], &mut out);
    let mut t = HeaderMap::new();
    t.insert("x-checksum", "abc".parse().unwrap());
    t.insert("content-length", "5".parse().unwrap());
    enc.end(Some(&t), &mut out);
    enc.data(b"late", &mut out);
    enc.end(None, &mut out);
    let want = [
        &b"5\r\nhello\r\n1a\r\n"[..],
        &[b'x'; 26],
        b"\r\n0\r\nx-checksum: abc\r\n\r\n",
    ]
    .concat();
    assert_eq!(&out[..], &want[..]);
    assert!(enc.is_complete());

    let mut enc = BodyEncoder::new(BodyKind::Chunked);
    let mut out = BytesMut::new();
    enc.end(None, &mut out);
    assert_eq!(&out[..], b"0\r\n\r\n");
}

#[test]
fn encoder_length_and_close() {
    let mut enc = BodyEncoder::new(BodyKind::Length(8));
    let mut out = BytesMut::new();
    enc.data(b"hello", &mut out);
    assert!(!enc.is_complete());
    enc.data(b" world", &mut out);
    assert!(enc.is_complete());
    enc.end(Some(&HeaderMap::new()), &mut out);
    assert_eq!(
        &out[..],
        b"hello wo",
        "excess beyond Content-Length dropped"
    );

    let mut enc = BodyEncoder::new(BodyKind::CloseDelimited);
    let mut out = BytesMut::new();
    enc.data(b"a", &mut out);
    enc.data(b"b", &mut out);
    enc.end(None, &mut out);
    assert_eq!(&out[..], b"ab");

    let mut enc = BodyEncoder::new(BodyKind::Empty);
    let mut out = BytesMut::new();
    enc.data(b"a", &mut out);
    enc.end(None, &mut out);
    assert!(out.is_empty());
}

#[test]
fn chunked_encode_decode_round_trip() {
    let mut out = BytesMut::new();
    let mut enc = BodyEncoder::new(BodyKind::Chunked);
    let mut want = Vec::new();
    for i in 0..300usize {
        let piece: Vec<u8> = (0..i * 7).map(|j| (j * 31 + i) as u8).collect();
        want.extend_from_slice(&piece);
        enc.data(&piece, &mut out);
    }
    let mut t = HeaderMap::new();
    t.append("grpc-status", "0".parse().unwrap());
    t.append("grpc-message", "ok".parse().unwrap());
    enc.end(Some(&t), &mut out);
    let (data, trailers, ended, rest) = all_at_once(BodyKind::Chunked, &out).unwrap();
    assert_eq!(data, want);
    assert_eq!(trailers.unwrap(), t);
    assert!(ended);
    assert!(rest.is_empty());
}

/// Writes what `data_by_ref` hands out the way the proxy does: `out`, then the returned
/// bytes; the result must equal what copying `data` would have produced.
#[test]
fn encoder_by_ref_matches_copying() {
    for kind in [
        BodyKind::Chunked,
        BodyKind::Length(20),
        BodyKind::CloseDelimited,
    ] {
        let pieces: [&[u8]; 4] = [b"hello", b"big piece of data", b"", b"end"];
        let mut copied = BodyEncoder::new(kind);
        let mut want = BytesMut::new();
        for p in pieces {
            copied.data(p, &mut want);
        }
        copied.end(None, &mut want);

        let mut by_ref = BodyEncoder::new(kind);
        let mut wire = Vec::new();
        let mut out = BytesMut::new();
        for (i, p) in pieces.iter().enumerate() {
            if i % 2 == 1 {
                let tail = by_ref.data_by_ref(bytes::Bytes::copy_from_slice(p), &mut out);
                wire.extend_from_slice(&out);
                wire.extend_from_slice(&tail);
                out.clear();
            } else {
                by_ref.data(p, &mut out);
            }
        }
        by_ref.end(None, &mut out);
        wire.extend_from_slice(&out);
        assert_eq!(wire, &want[..], "{kind:?}");
    }
}
