//! The RPC heartbeat check (`protocol: "bolt"`, `"boltv2"`, `"dubbo"`, `"SofaRpc"`): one
//! heartbeat of the cluster's protocol on a fresh connection; healthy when a successful
//! heartbeat reply with the same id comes back. MOSN only dials TCP for these protocols;
//! a heartbeat also proves the server's RPC stack answers.

use super::{address_text, CheckFuture, HealthChecker};
use crate::host::Host;
use bytes::BytesMut;
use mosn_protocol::xprotocol::{FrameKind, XCodec};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The id of every check's heartbeat (one per connection, so any id would do).
const HEARTBEAT_ID: u64 = 1;

/// Largest reply accepted: a heartbeat reply is a few dozen bytes.
const MAX_REPLY: usize = 64 * 1024;

/// Healthy when the host answers a heartbeat.
#[derive(Debug, Clone)]
pub struct HeartbeatChecker {
    codec: &'static dyn XCodec,
    connect_timeout: Duration,
}

impl HeartbeatChecker {
    /// A checker speaking `codec`; the runner's check timeout bounds the whole exchange.
    pub fn new(codec: &'static dyn XCodec, connect_timeout: Duration) -> Self {
        Self {
            codec,
            connect_timeout,
        }
    }
}

impl HealthChecker for HeartbeatChecker {
    fn check<'a>(&'a self, host: &'a Host) -> CheckFuture<'a> {
        Box::pin(async move {
            let addr = address_text(&host.address);
            let mut socket = mosn_net::connect(&host.address, self.connect_timeout)
                .await
                .map_err(|e| format!("connect to {addr}: {e}"))?;
            let heartbeat = self.codec.heartbeat(HEARTBEAT_ID);
            socket
                .write_all(&heartbeat.bytes)
                .await
                .map_err(|e| format!("send heartbeat to {addr}: {e}"))?;
            let mut buf = BytesMut::with_capacity(256);
            loop {
                let decoded = self
                    .codec
                    .decode(&mut buf, MAX_REPLY)
                    .map_err(|e| format!("heartbeat reply from {addr}: {e}"))?;
                if let Some(reply) = decoded {
                    let head = reply.head;
                    return match (head.kind, head.request_id) {
                        (FrameKind::HeartbeatResponse, HEARTBEAT_ID)
                            if self.codec.http_status(&head) == 200 =>
                        {
                            Ok(())
                        }
                        _ => Err(format!(
                            "{addr} answered the heartbeat with {:?} id {} status {}",
                            head.kind, head.request_id, head.status
                        )),
                    };
                }
                match socket.read_buf(&mut buf).await {
                    Ok(0) => return Err(format!("{addr} closed without a heartbeat reply")),
                    Ok(_) => {}
                    Err(e) => return Err(format!("read heartbeat reply from {addr}: {e}")),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosn_config::Address;
    use mosn_protocol::xprotocol::bolt::BOLT_V1;
    use mosn_protocol::xprotocol::dubbo::DUBBO;
    use tokio::net::TcpListener;

    /// A host whose server reads one frame and answers with `reply(frame)` (or nothing).
    async fn host_answering(
        codec: &'static dyn XCodec,
        reply: fn(&'static dyn XCodec, &mosn_protocol::xprotocol::Frame) -> Option<BytesMut>,
    ) -> Host {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = BytesMut::new();
            loop {
                if let Ok(Some(f)) = codec.decode(&mut buf, MAX_REPLY) {
                    if let Some(bytes) = reply(codec, &f) {
                        s.write_all(&bytes).await.unwrap();
                    }
                    // Keep the connection open: the check must decide on the reply.
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    return;
                }
                if s.read_buf(&mut buf).await.unwrap() == 0 {
                    return;
                }
            }
        });
        Host::new(Address::Tcp(addr), None, 1)
    }

    #[tokio::test]
    async fn a_heartbeat_reply_is_healthy_anything_else_is_not() {
        for codec in [&BOLT_V1 as &'static dyn XCodec, &DUBBO] {
            let checker = HeartbeatChecker::new(codec, Duration::from_secs(1));
            let good = host_answering(codec, |c, f| Some(c.heartbeat_reply(&f.head).bytes)).await;
            assert_eq!(checker.check(&good).await, Ok(()), "{}", codec.name());
            // An error frame instead of a heartbeat reply.
            let bad = host_answering(codec, |c, f| {
                Some(
                    c.local_reply(&f.head, mosn_api::error::ProxyErrorKind::Overflow)
                        .bytes,
                )
            })
            .await;
            let err = checker.check(&bad).await.unwrap_err();
            assert!(err.contains("answered the heartbeat"), "{err}");
            // Silence: the runner's timeout decides; here the check is still waiting.
            let silent = host_answering(codec, |_, _| None).await;
            let waited =
                tokio::time::timeout(Duration::from_millis(200), checker.check(&silent)).await;
            assert!(waited.is_err(), "{}: no reply is no success", codec.name());
        }
    }
}
