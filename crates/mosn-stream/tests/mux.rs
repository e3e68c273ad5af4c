//! Multiplexed RPC connections against small scripted Bolt upstreams: ids are rewritten
//! and matched back, idle connections send heartbeats, a missed heartbeat or a dead
//! upstream fails what is pending, deadlines expire; a connection is offered only under
//! its own TLS identity.

use bytes::BytesMut;
use mosn_api::error::ProxyErrorKind;
use mosn_config::{Address, ClusterConfig};
use mosn_protocol::xprotocol::bolt::BOLT_V1;
use mosn_protocol::xprotocol::{Frame, FrameKind, XCodec, DEFAULT_MAX_FRAME};
use mosn_stream::{MuxPool, MuxSettings, PoolKey};
use mosn_tls::{cluster_tls, TlsContextConfig};
use mosn_upstream::Cluster;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

fn cluster(addr: std::net::SocketAddr) -> Arc<Cluster> {
    let cfg = ClusterConfig::static_hosts("c", &[Address::Tcp(addr)]);
    Arc::new(Cluster::from_config(&cfg, Arc::default()))
}

fn settings(heartbeat_ms: u64) -> MuxSettings {
    MuxSettings {
        heartbeat_interval: Duration::from_millis(heartbeat_ms),
        max_frame: DEFAULT_MAX_FRAME,
    }
}

/// Reads frames off an accepted upstream socket and reports each one.
async fn serve(
    listener: TcpListener,
    seen: mpsc::UnboundedSender<Frame>,
    answer: fn(&Frame) -> Option<Frame>,
) {
    let (mut s, _) = listener.accept().await.unwrap();
    let mut buf = BytesMut::new();
    loop {
        while let Some(f) = BOLT_V1.decode(&mut buf, DEFAULT_MAX_FRAME).unwrap() {
            if let Some(reply) = answer(&f) {
                s.write_all(&reply.bytes).await.unwrap();
            }
            let _ = seen.send(f);
        }
        if s.read_buf(&mut buf).await.unwrap_or(0) == 0 {
            return;
        }
    }
}

/// A minimal Bolt v1 RPC request: the codec's own heartbeat with the request command.
fn request(id: u64) -> Frame {
    let mut f = BOLT_V1.heartbeat(id);
    f.bytes[3] = 1; // cmd: RPC request
    let mut buf = f.bytes.clone();
    BOLT_V1
        .decode(&mut buf, DEFAULT_MAX_FRAME)
        .unwrap()
        .unwrap()
}

type Outcome = Arc<Mutex<Vec<Result<Frame, ProxyErrorKind>>>>;

fn recorder() -> (Outcome, impl Fn() -> mosn_stream::Responder) {
    let got: Outcome = Arc::default();
    let g = got.clone();
    (got, move || {
        let g = g.clone();
        Box::new(move |r| g.lock().unwrap().push(r)) as mosn_stream::Responder
    })
}

async fn settle(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[tokio::test(flavor = "current_thread")]
async fn responses_match_by_rewritten_id_and_idle_connections_send_heartbeats() {
    tokio::task::LocalSet::new()
        .run_until(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let c = cluster(listener.local_addr().unwrap());
            let (tx, mut rx) = mpsc::unbounded_channel();
            // Answers requests with a success response and heartbeats with a reply.
            tokio::task::spawn_local(serve(listener, tx, |f| match f.head.kind {
                FrameKind::HeartbeatRequest => Some(BOLT_V1.heartbeat_reply(&f.head)),
                FrameKind::Request => {
                    let mut r = BOLT_V1.local_reply(&f.head, ProxyErrorKind::NoRoute);
                    r.bytes[11] = 0; // status SUCCESS
                    r.bytes[12] = 0;
                    Some(r)
                }
                _ => None,
            }));
            let pool = MuxPool::new(settings(100));
            let host = c.hosts()[0].clone();
            let conn = pool.get(&c, &host, &BOLT_V1).await.unwrap();
            let (got, responder) = recorder();
            let far = Instant::now() + Duration::from_secs(10);
            conn.send(request(500), far, Some(responder()));
            conn.send(request(500), far, Some(responder()));
            settle(50).await;
            let ids: Vec<u64> = got
                .lock()
                .unwrap()
                .iter()
                .map(|r| r.as_ref().unwrap().head.request_id)
                .collect();
            assert_eq!(
                ids,
                [1, 2],
                "each request got a fresh id on this connection"
            );
            assert_eq!(rx.recv().await.unwrap().head.request_id, 1);
            assert_eq!(rx.recv().await.unwrap().head.request_id, 2);
            // Idle: heartbeats go out and are answered; the connection stays up.
            settle(350).await;
            let mut heartbeats = 0;
            while let Ok(f) = rx.try_recv() {
                assert_eq!(f.head.kind, FrameKind::HeartbeatRequest);
                heartbeats += 1;
            }
            assert!(heartbeats >= 2, "{heartbeats} heartbeats");
            assert!(!conn.is_closed());
            assert!(Arc::ptr_eq(
                &conn,
                &pool.live(&PoolKey::new(&c, &host), &BOLT_V1).unwrap()
            ));
        })
        .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_missed_heartbeat_closes_the_connection_and_fails_what_is_pending() {
    tokio::task::LocalSet::new()
        .run_until(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let c = cluster(listener.local_addr().unwrap());
            let (tx, _rx) = mpsc::unbounded_channel();
            tokio::task::spawn_local(serve(listener, tx, |_| None));
            let pool = MuxPool::new(settings(100));
            let host = c.hosts()[0].clone();
            let conn = pool.get(&c, &host, &BOLT_V1).await.unwrap();
            let (got, responder) = recorder();
            // One request with a short deadline, one that outlives the connection.
            conn.send(
                request(1),
                Instant::now() + Duration::from_millis(50),
                Some(responder()),
            );
            conn.send(
                request(2),
                Instant::now() + Duration::from_secs(10),
                Some(responder()),
            );
            settle(120).await;
            assert_eq!(got.lock().unwrap().len(), 1);
            assert_eq!(
                got.lock().unwrap()[0].as_ref().unwrap_err(),
                &ProxyErrorKind::UpstreamTimeout
            );
            settle(300).await;
            assert!(conn.is_closed(), "no heartbeat reply within an interval");
            assert_eq!(got.lock().unwrap().len(), 2);
            assert_eq!(
                got.lock().unwrap()[1].as_ref().unwrap_err(),
                &ProxyErrorKind::UpstreamReset
            );
            assert!(pool.live(&PoolKey::new(&c, &host), &BOLT_V1).is_none());
            assert_eq!(c.stats.upstream_cx_active.get(), 0);
            // A send on the dead connection fails at once.
            conn.send(
                request(3),
                Instant::now() + Duration::from_secs(1),
                Some(responder()),
            );
            assert_eq!(got.lock().unwrap().len(), 3);
        })
        .await;
}

#[tokio::test(flavor = "current_thread")]
async fn an_upstream_that_dies_fails_pending_requests_at_once() {
    tokio::task::LocalSet::new()
        .run_until(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let c = cluster(listener.local_addr().unwrap());
            let pool = MuxPool::new(settings(10_000));
            let host = c.hosts()[0].clone();
            let accept = tokio::task::spawn_local(async move { listener.accept().await });
            let conn = pool.get(&c, &host, &BOLT_V1).await.unwrap();
            let (got, responder) = recorder();
            conn.send(
                request(1),
                Instant::now() + Duration::from_secs(10),
                Some(responder()),
            );
            let (upstream, _): (TcpStream, _) = accept.await.unwrap().unwrap();
            drop(upstream);
            settle(100).await;
            assert_eq!(got.lock().unwrap().len(), 1);
            assert_eq!(
                got.lock().unwrap()[0].as_ref().unwrap_err(),
                &ProxyErrorKind::UpstreamReset
            );
        })
        .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_connection_is_offered_only_under_its_own_tls_identity() {
    tokio::task::LocalSet::new()
        .run_until(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let accept = tokio::task::spawn_local(async move { listener.accept().await });
            let pool = MuxPool::new(settings(10_000));
            let plain = cluster(addr);
            let conn = pool.get(&plain, &plain.hosts()[0], &BOLT_V1).await.unwrap();
            let _upstream = accept.await.unwrap().unwrap();
            // Another plaintext cluster to the address would make the same connection.
            let other = cluster(addr);
            let shared = pool.live(&PoolKey::new(&other, &other.hosts()[0]), &BOLT_V1);
            assert!(Arc::ptr_eq(&conn, &shared.unwrap()));
            // A cluster reaching the address over TLS must not get it.
            let cfg = ClusterConfig::static_hosts("t", &[Address::Tcp(addr)]);
            let mut tls = Cluster::from_config(&cfg, Arc::default());
            let ctx = TlsContextConfig {
                server_name: Some("t.test".to_owned()),
                ..Default::default()
            };
            tls.tls = Some(cluster_tls("t", Arc::new(ctx)).unwrap());
            let key = PoolKey::new(&tls, &tls.hosts()[0]);
            assert!(pool.live(&key, &BOLT_V1).is_none());
        })
        .await;
}
