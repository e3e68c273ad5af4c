//! Arbitrary bytes through the SOFA Bolt codec (v1 and v2): decoding never panics, and a
//! decoded frame survives parse → encode → parse unchanged, and a request id rewrite
//! (which recomputes v2's CRC32) decodes back with the new id.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mosn_protocol::xprotocol::bolt::{BoltFrame, BOLT_V1, BOLT_V2};
use mosn_protocol::xprotocol::XCodec;

fuzz_target!(|data: &[u8]| {
    for codec in [&BOLT_V1, &BOLT_V2] {
        let _ = codec.detect(data);
        let mut buf = BytesMut::from(data);
        while let Ok(Some(mut frame)) = codec.decode(&mut buf, 1 << 20) {
            let parsed = BoltFrame::parse(&frame.bytes).expect("a decoded frame parses");
            let mut out = BytesMut::new();
            parsed.encode(&mut out);
            assert_eq!(BoltFrame::parse(&out).expect("re-encoded frame parses"), parsed);
            codec.set_request_id(&mut frame, 0xfeed_beef);
            let mut again = frame.bytes.clone();
            let back = codec.decode(&mut again, 1 << 20).expect("rewritten frame decodes");
            assert_eq!(back.expect("whole frame").head.request_id, 0xfeed_beef);
        }
    }
});
