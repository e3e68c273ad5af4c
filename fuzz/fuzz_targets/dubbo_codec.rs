//! Arbitrary bytes through the Dubbo codec and its hessian2 reader: decoding never
//! panics, a decoded frame re-encodes byte-identically, and a request id rewrite decodes
//! back with the new id.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mosn_protocol::xprotocol::dubbo::{DubboFrame, DUBBO};
use mosn_protocol::xprotocol::hessian2::Reader;
use mosn_protocol::xprotocol::XCodec;

fuzz_target!(|data: &[u8]| {
    let _ = DUBBO.detect(data);
    let mut reader = Reader::new(data);
    while reader.skip().is_ok() && !reader.is_empty() {}
    let _ = Reader::new(data).read_string_map();
    let mut buf = BytesMut::from(data);
    while let Ok(Some(mut frame)) = DUBBO.decode(&mut buf, 1 << 20) {
        let parsed = DubboFrame::parse(&frame.bytes).expect("a decoded frame parses");
        let mut out = BytesMut::new();
        parsed.encode(&mut out);
        assert_eq!(&out[..], &frame.bytes[..]);
        DUBBO.set_request_id(&mut frame, u64::MAX - 1);
        let mut again = frame.bytes.clone();
        let back = DUBBO.decode(&mut again, 1 << 20).expect("rewritten frame decodes");
        assert_eq!(back.expect("whole frame").head.request_id, u64::MAX - 1);
    }
});
