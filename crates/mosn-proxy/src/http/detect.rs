//! Protocol detection for `downstream_protocol: "Auto"`: the first bytes of a connection
//! pick its codec. The HTTP/2 connection preface means HTTP/2 (h2c, prior knowledge); an
//! HTTP method token means HTTP/1.1; bytes that are still a prefix of either mean "need
//! more"; anything else (counted as `downstream_cx_protocol_unknown`) goes to the
//! `fallback_for_unknown_protocol` tcp_proxy with the bytes read so far, or is closed.
//! The RPC codecs (Bolt v1/v2, Dubbo) are asked too, by their magic bytes; their
//! connections go to an RPC proxy whose upstream speaks the same protocol.

use super::connection::Http1Connection;
use super::{h2_connection, HttpProxyFilter};
use crate::xprotocol::XProxyFilter;
use bytes::BytesMut;
use mosn_config::Protocol;
use mosn_net::{ConnectionGuard, ConnectionInfo, Rewind, Socket};
use mosn_protocol::xprotocol::{self, Detect, XCodec};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// The HTTP/2 client connection preface (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Longest HTTP/1 method token accepted while detecting (longer ones are unknown).
const MAX_METHOD_LEN: usize = 20;

/// What the first bytes say.
#[derive(Clone, Copy)]
pub(super) enum Detection {
    /// An HTTP codec claims the bytes.
    Found(Protocol),
    /// An RPC codec (Bolt, Dubbo) claims the bytes.
    Rpc(&'static dyn XCodec),
    /// Every byte so far fits a codec: read more.
    NeedMore,
    /// No codec knows these bytes.
    Unknown,
}

/// Classifies the first bytes of a connection.
pub(super) fn detect(bytes: &[u8]) -> Detection {
    if bytes.is_empty() {
        return Detection::NeedMore;
    }
    let n = bytes.len().min(H2_PREFACE.len());
    if bytes[..n] == H2_PREFACE[..n] {
        return if n == H2_PREFACE.len() {
            Detection::Found(Protocol::Http2)
        } else {
            Detection::NeedMore
        };
    }
    match xprotocol::detect(bytes) {
        Ok(codec) => return Detection::Rpc(codec),
        Err(Detect::NeedMore) => return Detection::NeedMore,
        Err(_) => {}
    }
    // An HTTP/1 request line starts with a method token (RFC 9110 tchar) and a space.
    for (i, &b) in bytes.iter().enumerate().take(MAX_METHOD_LEN + 1) {
        if b == b' ' {
            return if i == 0 {
                Detection::Unknown
            } else {
                Detection::Found(Protocol::Http1)
            };
        }
        if !is_tchar(b) {
            return Detection::Unknown;
        }
    }
    if bytes.len() > MAX_METHOD_LEN {
        Detection::Unknown
    } else {
        Detection::NeedMore
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Reads until a codec claims the connection, then serves it with that codec. The wait
/// for the first byte is the listener's idle timeout; the rest must follow within the
/// request header timeout.
pub(super) async fn serve_detected(
    filter: Arc<HttpProxyFilter>,
    mut socket: Socket,
    info: ConnectionInfo,
    guard: ConnectionGuard,
) {
    let mut buf = BytesMut::with_capacity(64);
    let mut deadline = Instant::now() + filter.idle_timeout;
    let found = loop {
        match detect(&buf) {
            Detection::NeedMore => {}
            Detection::Unknown => break None,
            found => break Some(found),
        }
        match tokio::time::timeout_at(deadline, socket.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                filter.stats.downstream_cx_rx_bytes_total.add(n as u64);
                deadline = deadline.min(Instant::now() + filter.header_timeout);
            }
            // Closed before a full protocol signature: nothing to serve.
            Ok(_) if buf.is_empty() => return,
            _ => break None,
        }
    };
    match found {
        Some(Detection::Rpc(codec)) => {
            let rpc = XProxyFilter::detected(
                codec,
                filter.router_name.clone(),
                filter.idle_timeout,
                filter.state.clone(),
                filter.worker.clone(),
                filter.scope.clone(),
                filter.stats.clone(),
            );
            let io = Rewind::new(buf.freeze(), socket);
            Box::pin(Arc::new(rpc).serve_rewound(io, info)).await;
        }
        Some(Detection::Found(Protocol::Http2)) => {
            filter.stats.downstream_cx_http2_total.inc();
            let io = Rewind::new(buf.freeze(), socket);
            Box::pin(h2_connection::serve(filter, io, info)).await;
        }
        Some(_) => Box::pin(Http1Connection::new(filter, socket, info, buf, guard).run()).await,
        None => {
            filter.stats.downstream_cx_total.inc();
            filter.stats.downstream_cx_protocol_unknown.inc();
            match filter.fallback.clone() {
                Some(tcp) => {
                    let io = Rewind::new(buf.freeze(), socket);
                    Box::pin(tcp.serve_rewound(io, info)).await;
                }
                None => {
                    tracing::debug!(listener = %info.listener, "no protocol matched the first bytes; closing");
                    let _ = socket.shutdown().await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `detect` says, in words.
    fn says(bytes: &[u8]) -> String {
        match detect(bytes) {
            Detection::Found(p) => format!("{p:?}"),
            Detection::Rpc(codec) => format!("rpc:{}", codec.name()),
            Detection::NeedMore => "need more".into(),
            Detection::Unknown => "unknown".into(),
        }
    }

    #[test]
    fn the_h2_preface_and_its_prefixes() {
        assert_eq!(says(H2_PREFACE), "Http2");
        assert_eq!(says(b"PRI * HTTP/2"), "need more");
        assert_eq!(says(b"P"), "need more");
    }

    #[test]
    fn http1_methods_are_found_once_the_token_ends() {
        assert_eq!(says(b"GET / HTTP/1.1\r\n"), "Http1");
        assert_eq!(says(b"PRIX "), "Http1");
        assert_eq!(says(b"DELE"), "need more");
        assert_eq!(says(b"M-SEARCH * HTTP/1.1"), "Http1");
    }

    #[test]
    fn rpc_magic_bytes_pick_their_codec() {
        // Bolt v1 requests start 0x01 0x01; Dubbo frames with the magic 0xdabb.
        assert_eq!(says(&[0x01, 0x01, 0x00, 0x01]), "rpc:bolt");
        assert_eq!(says(&[0xda, 0xbb, 0xc2, 0x00]), "rpc:dubbo");
        assert_eq!(says(&[0xda]), "need more");
    }

    #[test]
    fn other_bytes_are_unknown() {
        assert_eq!(says(b"\x16\x03\x01\x02\x00"), "unknown");
        assert_eq!(says(b" GET"), "unknown");
        assert_eq!(says(&[b'A'; 40]), "unknown");
        assert_eq!(says(b""), "need more");
    }
}
