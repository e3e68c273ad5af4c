//! The gRPC check (`grpc.health.v1.Health/Check`, as Envoy's `grpc_health_check`): one
//! call per check over a new HTTP/2 connection; healthy only when the call ends with
//! `grpc-status: 0` and the reply says `SERVING`.

use super::{address_text, CheckFuture, CheckResult, HealthChecker};
use crate::host::Host;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::header::{CONTENT_TYPE, TE};
use http::{HeaderValue, Method, Request, StatusCode, Version};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::{TokioExecutor, TokioIo};
use mosn_config::{Address, GrpcHealthCheck};
use std::time::Duration;

/// Replies larger than this are not health replies.
const MAX_REPLY: usize = 1024;

/// `grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING`.
const SERVING: u64 = 1;

/// Connect limit of one check, under the check's own `timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks a host's `grpc.health.v1.Health` service about `service_name`.
#[derive(Debug, Clone)]
pub struct GrpcChecker {
    config: GrpcHealthCheck,
}

impl GrpcChecker {
    /// A checker for one `grpc_check_config`.
    pub fn new(config: GrpcHealthCheck) -> Self {
        Self { config }
    }

    async fn call(&self, target: &Address) -> CheckResult {
        let what = address_text(target);
        let socket = mosn_net::connect(target, CONNECT_TIMEOUT)
            .await
            .map_err(|e| format!("connect to {what}: {e}"))?;
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(socket))
                .await
                .map_err(|e| format!("HTTP/2 handshake with {what}: {e}"))?;
        let driver = tokio::spawn(connection);
        let authority = match (&self.config.authority, target) {
            (Some(a), _) => a.clone(),
            (None, Address::Tcp(addr)) => addr.to_string(),
            (None, Address::Unix(_)) => "localhost".to_owned(),
        };
        let mut req = Request::new(Full::new(request_message(&self.config.service_name)));
        *req.method_mut() = Method::POST;
        *req.version_mut() = Version::HTTP_2;
        *req.uri_mut() = format!("http://{authority}/grpc.health.v1.Health/Check")
            .parse()
            .map_err(|e| format!("invalid authority {authority:?}: {e}"))?;
        let headers = req.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(TE, HeaderValue::from_static("trailers"));
        let result = async {
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| format!("call to {what}: {e}"))?;
            if resp.status() != StatusCode::OK {
                return Err(format!("{what} answered HTTP {}", resp.status()));
            }
            let trailers_only = resp.headers().get("grpc-status").cloned();
            let collected = Limited::new(resp.into_body(), MAX_REPLY)
                .collect()
                .await
                .map_err(|e| format!("reply from {what}: {e}"))?;
            let status = trailers_only.or_else(|| {
                collected
                    .trailers()
                    .and_then(|t| t.get("grpc-status").cloned())
            });
            match status.as_ref().map(HeaderValue::as_bytes) {
                Some(b"0") => {}
                Some(code) => {
                    return Err(format!(
                        "{what} answered grpc-status {}",
                        String::from_utf8_lossy(code)
                    ))
                }
                None => return Err(format!("{what} sent no grpc-status")),
            }
            match serving_status(collected.to_bytes()) {
                Some(SERVING) => Ok(()),
                Some(other) => Err(format!("{what} reports serving status {other}")),
                None => Err(format!("{what} sent a malformed health reply")),
            }
        }
        .await;
        driver.abort();
        result
    }
}

impl HealthChecker for GrpcChecker {
    fn check<'a>(&'a self, host: &'a Host) -> CheckFuture<'a> {
        Box::pin(self.call(&host.address))
    }
}

/// One gRPC message (uncompressed) holding `HealthCheckRequest { service }`.
fn request_message(service: &str) -> Bytes {
    let mut message = BytesMut::new();
    if !service.is_empty() {
        message.put_u8(0x0a); // field 1, length-delimited
        put_varint(&mut message, service.len() as u64);
        message.put_slice(service.as_bytes());
    }
    let mut framed = BytesMut::with_capacity(5 + message.len());
    framed.put_u8(0);
    framed.put_u32(message.len() as u32);
    framed.put_slice(&message);
    framed.freeze()
}

fn put_varint(out: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        out.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

fn get_varint(buf: &mut Bytes) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        if !buf.has_remaining() {
            return None;
        }
        let b = buf.get_u8();
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// The `status` (field 1) of the one `HealthCheckResponse` message in `body`; other
/// fields are skipped. `None` when the body is not one uncompressed gRPC message.
fn serving_status(mut body: Bytes) -> Option<u64> {
    if body.len() < 5 || body.get_u8() != 0 {
        return None;
    }
    let len = body.get_u32() as usize;
    if body.len() != len {
        return None;
    }
    let mut status = 0; // proto3: an absent field is its default, UNKNOWN
    while body.has_remaining() {
        let key = get_varint(&mut body)?;
        match (key >> 3, key & 7) {
            (1, 0) => status = get_varint(&mut body)?,
            (_, 0) => {
                get_varint(&mut body)?;
            }
            (_, 2) => {
                let n = usize::try_from(get_varint(&mut body)?).ok()?;
                if body.len() < n {
                    return None;
                }
                body.advance(n);
            }
            (_, 1) if body.len() >= 8 => body.advance(8),
            (_, 5) if body.len() >= 4 => body.advance(4),
            _ => return None,
        }
    }
    Some(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_carries_the_service_name() {
        assert_eq!(&request_message("")[..], &[0, 0, 0, 0, 0]);
        assert_eq!(
            &request_message("a.B")[..],
            &[0, 0, 0, 0, 5, 0x0a, 3, b'a', b'.', b'B']
        );
        let long = "s".repeat(200);
        let msg = request_message(&long);
        assert_eq!(&msg[5..8], &[0x0a, 0xc8, 0x01], "200 as a two-byte varint");
    }

    #[test]
    fn replies_are_read_leniently_and_checked_strictly() {
        let reply = |payload: &[u8]| {
            let mut b = vec![0, 0, 0, 0, payload.len() as u8];
            b.extend_from_slice(payload);
            Bytes::from(b)
        };
        assert_eq!(serving_status(reply(&[0x08, 0x01])), Some(SERVING));
        assert_eq!(serving_status(reply(&[0x08, 0x02])), Some(2));
        assert_eq!(
            serving_status(reply(&[])),
            Some(0),
            "absent field is UNKNOWN"
        );
        assert_eq!(
            serving_status(reply(&[0x12, 0x01, b'x', 0x08, 0x01])),
            Some(SERVING),
            "unknown fields are skipped"
        );
        assert_eq!(
            serving_status(Bytes::from_static(&[1, 0, 0, 0, 0])),
            None,
            "compressed"
        );
        assert_eq!(
            serving_status(Bytes::from_static(&[0, 0, 0, 0, 9, 8])),
            None,
            "short"
        );
        assert_eq!(serving_status(reply(&[0x08])), None, "cut varint");
    }
}
