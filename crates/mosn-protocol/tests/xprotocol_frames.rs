//! The RPC codecs against frames captured from real SOFA Bolt and Dubbo peers
//! (`shared/testdata/{bolt,dubbo}-frames/`), and against broken input.

use bytes::BytesMut;
use mosn_api::error::ProxyErrorKind;
use mosn_protocol::xprotocol::bolt::{BoltFrame, BOLT_V1, BOLT_V2};
use mosn_protocol::xprotocol::dubbo::{DubboFrame, DUBBO};
use mosn_protocol::xprotocol::{
    codec, detect, Detect, FrameError, FrameKind, XCodec, DEFAULT_MAX_FRAME,
};
use std::path::PathBuf;

fn frames(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata"
    ))
    .join(dir);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 10, "too few frames in {}", dir.display());
    out
}

fn decode_one(c: &dyn XCodec, bytes: &[u8]) -> mosn_protocol::xprotocol::Frame {
    let mut buf = BytesMut::from(bytes);
    let f = c
        .decode(&mut buf, DEFAULT_MAX_FRAME)
        .unwrap()
        .expect("a whole frame");
    assert!(buf.is_empty());
    f
}

#[test]
fn every_captured_bolt_frame_decodes_and_re_encodes_byte_identically() {
    for (name, bytes) in frames("bolt-frames") {
        let parsed = BoltFrame::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut out = BytesMut::new();
        parsed.encode(&mut out);
        assert_eq!(&out[..], &bytes[..], "{name} re-encoded differently");
        // Byte by byte: incomplete until the last byte, then exactly one frame.
        let f = decode_one(&BOLT_V1, &bytes);
        let mut partial = BytesMut::from(&bytes[..bytes.len() - 1]);
        assert!(BOLT_V2
            .decode(&mut partial, DEFAULT_MAX_FRAME)
            .unwrap()
            .is_none());
        let kind = if name.contains("heartbeat") {
            if name.contains("request") {
                FrameKind::HeartbeatRequest
            } else {
                FrameKind::HeartbeatResponse
            }
        } else if name.contains("request") {
            FrameKind::Request
        } else {
            FrameKind::Response
        };
        assert_eq!(f.head.kind, kind, "{name}");
        if kind == FrameKind::Request {
            assert!(
                f.headers
                    .get("service")
                    .unwrap()
                    .starts_with("com.alipay.sofa.rpc"),
                "{name}"
            );
            assert_eq!(f.head.timeout, Some(std::time::Duration::from_secs(3)));
        }
        let detector = if bytes[0] == 1 { &BOLT_V1 } else { &BOLT_V2 };
        assert_eq!(detector.detect(&bytes), Detect::Match, "{name}");
        assert_eq!(detector.detect(&bytes[..1]), Detect::NeedMore, "{name}");
        assert_eq!(DUBBO.detect(&bytes), Detect::NoMatch, "{name}");
    }
}

#[test]
fn bolt_protobuf_request_exposes_sofa_headers() {
    let (_, bytes) = frames("bolt-frames")
        .into_iter()
        .find(|(n, _)| n.contains("c2s-00-request-rpc_request-p1-protobuf"))
        .unwrap();
    let f = decode_one(&BOLT_V1, &bytes);
    assert_eq!(f.headers.get("sofa_head_method_name"), Some("echoObj"));
    assert_eq!(
        f.headers.get("SERVICE"),
        Some("com.alipay.sofa.rpc.test.ProtoService:1.0")
    );
}

#[test]
fn bolt_v2_request_id_rewrite_keeps_the_crc_valid() {
    let (_, bytes) = frames("bolt-frames")
        .into_iter()
        .find(|(n, _)| n.contains("p2-hessian2") && n.contains("rpc_request"))
        .unwrap();
    let mut f = decode_one(&BOLT_V2, &bytes);
    assert_eq!(f.head.request_id, 7);
    BOLT_V2.set_request_id(&mut f, 0x0102_0304);
    let again = BoltFrame::parse(&f.bytes).expect("CRC still valid");
    assert_eq!(again.id, 0x0102_0304);
    // A flipped content byte breaks the CRC.
    let mut bad = bytes.clone();
    bad[100] ^= 0xff;
    let mut buf = BytesMut::from(&bad[..]);
    assert_eq!(
        BOLT_V2.decode(&mut buf, DEFAULT_MAX_FRAME).unwrap_err(),
        FrameError::BadCrc
    );
}

#[test]
fn bolt_heartbeats_and_local_replies_follow_the_request_version() {
    let (_, v2_hb) = frames("bolt-frames")
        .into_iter()
        .find(|(n, _)| n.contains("c2s-01-request-heartbeat-p2"))
        .unwrap();
    let (_, v2_hb_reply) = frames("bolt-frames")
        .into_iter()
        .find(|(n, _)| n.contains("s2c-00-response-heartbeat-p2"))
        .unwrap();
    let req = decode_one(&BOLT_V1, &v2_hb);
    // The reply is what the real sofa-bolt server answered, byte for byte.
    assert_eq!(
        &BOLT_V1.heartbeat_reply(&req.head).bytes[..],
        &v2_hb_reply[..]
    );
    // Heartbeats we originate decode as heartbeats of the codec's version.
    for c in [&BOLT_V1, &BOLT_V2] {
        let hb = c.heartbeat(9);
        let back = decode_one(c, &hb.bytes);
        assert_eq!(
            (back.head.kind, back.head.request_id),
            (FrameKind::HeartbeatRequest, 9)
        );
        assert_eq!(c.detect(&hb.bytes), Detect::Match);
    }
    let (_, v1_req) = frames("bolt-frames")
        .into_iter()
        .find(|(n, _)| n.contains("conn0.c2s-00"))
        .unwrap();
    let req = decode_one(&BOLT_V1, &v1_req);
    for (err, status, http) in [
        (ProxyErrorKind::NoRoute, 6, 500),
        (ProxyErrorKind::UpstreamTimeout, 7, 504),
        (ProxyErrorKind::Overflow, 4, 503),
        (ProxyErrorKind::UpstreamReset, 16, 502),
    ] {
        let reply = BOLT_V1.local_reply(&req.head, err);
        let back = decode_one(&BOLT_V1, &reply.bytes);
        assert_eq!(back.head.kind, FrameKind::Response);
        assert_eq!((back.head.request_id, back.head.status), (1, status));
        assert_eq!(reply.bytes[0], 1, "v1 request, v1 reply");
        assert_eq!(BOLT_V1.http_status(&back.head), http);
    }
}

#[test]
fn every_captured_dubbo_frame_decodes_and_re_encodes_byte_identically() {
    for (name, bytes) in frames("dubbo-frames") {
        let parsed = DubboFrame::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut out = BytesMut::new();
        parsed.encode(&mut out);
        assert_eq!(&out[..], &bytes[..], "{name}");
        let f = decode_one(&DUBBO, &bytes);
        assert_eq!(DUBBO.detect(&bytes), Detect::Match);
        assert_eq!(BOLT_V1.detect(&bytes), Detect::NoMatch);
        let want = match (name.contains("request"), name.contains("event")) {
            (true, true) => FrameKind::HeartbeatRequest,
            (true, false) => FrameKind::Request,
            (false, true) => FrameKind::HeartbeatResponse,
            (false, false) => FrameKind::Response,
        };
        assert_eq!(f.head.kind, want, "{name}");
        if want == FrameKind::Request {
            let h = &f.headers;
            assert_eq!(
                h.get("service"),
                Some("org.apache.dubbo.demo.DemoService"),
                "{name}"
            );
            assert_eq!(h.get("version"), Some("1.0.0"), "{name}");
            assert!(
                matches!(h.get("method"), Some("sayHello" | "plus")),
                "{name}"
            );
            assert!(
                matches!(h.get("parameter_types"), Some("Ljava/lang/String;" | "II")),
                "{name}"
            );
            assert_eq!(
                h.get("path"),
                Some("org.apache.dubbo.demo.DemoService"),
                "{name}: attachments read"
            );
        }
    }
}

#[test]
fn dubbo_attachments_of_each_client_are_exposed() {
    let all = frames("dubbo-frames");
    let get = |n: &str| {
        decode_one(
            &DUBBO,
            &all.iter().find(|(name, _)| name.contains(n)).unwrap().1,
        )
    };
    let remoting = get("conn0.c2s-00");
    assert_eq!(remoting.headers.get("group"), Some("SOFA"));
    assert_eq!(remoting.headers.get("dubbo"), Some("5.3.0"));
    let dubbo2js = get("conn2.c2s-01");
    assert_eq!(dubbo2js.headers.get("application"), Some("dubbo2.js"));
    assert_eq!(
        dubbo2js.headers.get("interface"),
        Some("org.apache.dubbo.demo.DemoService")
    );
    assert_eq!(dubbo2js.headers.get("method"), Some("plus"));
}

#[test]
fn dubbo_heartbeat_reply_matches_the_real_server() {
    let all = frames("dubbo-frames");
    let req = decode_one(
        &DUBBO,
        &all.iter()
            .find(|(n, _)| n.contains("c2s-00-request-event"))
            .unwrap()
            .1,
    );
    let reply = &all
        .iter()
        .find(|(n, _)| n.contains("s2c-00-response-event"))
        .unwrap()
        .1;
    assert_eq!(&DUBBO.heartbeat_reply(&req.head).bytes[..], &reply[..]);
    assert_eq!(&DUBBO.heartbeat(99).bytes[..], &req.bytes[..]);
    let err = DUBBO.local_reply(&req.head, ProxyErrorKind::UpstreamTimeout);
    let back = decode_one(&DUBBO, &err.bytes);
    assert_eq!(
        (back.head.kind, back.head.status, back.head.request_id),
        (FrameKind::Response, 30, 99)
    );
    assert_eq!(DUBBO.http_status(&back.head), 504);
    assert_eq!(&err.bytes[16..], b"\x0b504|timeout");
}

#[test]
fn truncated_oversized_and_corrupted_frames_are_errors_not_panics() {
    let mut all = frames("bolt-frames");
    all.extend(frames("dubbo-frames"));
    for (name, bytes) in &all {
        let c = if name.starts_with("dubbo") {
            &DUBBO as &dyn XCodec
        } else {
            &BOLT_V1
        };
        for cut in 0..bytes.len() {
            let mut buf = BytesMut::from(&bytes[..cut]);
            assert!(
                c.decode(&mut buf, DEFAULT_MAX_FRAME).unwrap().is_none(),
                "{name} cut at {cut}"
            );
        }
        let mut buf = BytesMut::from(&bytes[..]);
        let err = c.decode(&mut buf, bytes.len() - 1).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { .. }), "{name}");
        // Every single-byte corruption either decodes, waits, or errors: never panics.
        for i in 0..bytes.len().min(64) {
            let mut bad = bytes.clone();
            bad[i] ^= 0x5a;
            let mut buf = BytesMut::from(&bad[..]);
            let _ = c.decode(&mut buf, DEFAULT_MAX_FRAME);
        }
    }
    let mut junk = BytesMut::from(&b"GET / HTTP/1.1\r\n\r\n"[..]);
    assert!(BOLT_V1.decode(&mut junk, DEFAULT_MAX_FRAME).is_err());
    assert!(DUBBO.decode(&mut junk, DEFAULT_MAX_FRAME).is_err());
    // Header map lengths running past the header section.
    let mut bolt = frames("bolt-frames").remove(0).1;
    bolt[22 + 44 + 3] = 0xff;
    assert!(BoltFrame::parse(&bolt).is_err());
}

#[test]
fn detection_names_the_codec_of_each_captured_stream() {
    for (name, bytes) in frames("bolt-frames")
        .into_iter()
        .chain(frames("dubbo-frames"))
    {
        let want = match bytes[0] {
            1 => "bolt",
            2 => "boltv2",
            _ => "dubbo",
        };
        assert_eq!(detect(&bytes).map(|c| c.name()), Ok(want), "{name}");
        assert_eq!(
            detect(&bytes[..1]).map(|c| c.name()),
            Err(Detect::NeedMore),
            "{name}"
        );
    }
    assert_eq!(detect(b"").map(|c| c.name()), Err(Detect::NeedMore));
    assert_eq!(
        detect(b"GET / HTTP/1.1\r\n").map(|c| c.name()),
        Err(Detect::NoMatch)
    );
    assert_eq!(
        detect(b"PRI * HTTP/2.0").map(|c| c.name()),
        Err(Detect::NoMatch)
    );
}

#[test]
fn codecs_are_registered_by_mosn_names() {
    for name in ["bolt", "boltv2", "dubbo", "BOLT"] {
        assert!(codec(name).is_some(), "{name}");
    }
    assert!(codec("tars").is_none());
    // Ids wrap to the protocol's width and skip 0 for Bolt.
    assert_eq!(BOLT_V1.next_request_id(u64::from(u32::MAX)), 1);
    assert_eq!(DUBBO.next_request_id(u64::MAX), 0);
}

#[test]
fn bolt_requests_built_from_parts_match_what_sofa_rpc_node_sends() {
    // The transcoder's HTTP → Bolt request: rebuilt from the captured request's parts,
    // it is byte-identical to the real client's frame but for the request id.
    let mut rebuilt = 0;
    for (name, bytes) in frames("bolt-frames") {
        if !name.contains("c2s") || !name.contains("rpc_request") {
            continue;
        }
        let captured = BoltFrame::parse(&bytes).unwrap();
        let codec = if captured.proto == 1 {
            &BOLT_V1
        } else {
            &BOLT_V2
        };
        if captured.proto == 2 && captured.switch & 1 == 0 {
            continue; // v2 without CRC: `request` always asks for one
        }
        let timeout = std::time::Duration::from_millis(u64::from(captured.timeout_or_status));
        let mut built = codec
            .request(
                captured.class,
                captured.codec,
                captured.headers.clone(),
                captured.content,
                timeout,
            )
            .unwrap();
        codec.set_request_id(&mut built, u64::from(captured.id));
        assert_eq!(built.head.kind, FrameKind::Request, "{name}");
        assert_eq!(&built.bytes[..], &bytes[..], "{name}");
        rebuilt += 1;
    }
    assert!(rebuilt >= 4, "only {rebuilt} captured requests rebuilt");
}

#[test]
fn bolt_requests_too_large_for_the_length_fields_are_refused() {
    let mut headers = mosn_protocol::xprotocol::RpcHeaders::default();
    headers.push("big", "x".repeat(70_000));
    let too_long = BOLT_V1.request(b"C", 1, headers, b"", std::time::Duration::from_secs(1));
    assert!(matches!(too_long, Err(FrameError::Malformed(_))));
}
