//! Writes around the 16 KiB record limit arrive intact and cut into the fewest records,
//! a reader with a tiny buffer drains a full record a byte at a time, and a transport
//! cut inside a record is an error.
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tlcp::{CipherSuite, ClientAuth, TlcpStream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use support::*;

const SIZES: [usize; 6] = [0, 1, 16383, 16384, 16385, 100_000];

/// An established client and server of `suite` over `client_io` and `server_io`.
async fn connected<IO: AsyncRead + AsyncWrite + Unpin>(
    suite: CipherSuite,
    client_io: IO,
    server_io: IO,
) -> (TlcpStream<IO>, TlcpStream<IO>) {
    let (server, client) = handshake_over(
        server_config(&[suite], ClientAuth::None),
        client_config(&[suite], true),
        Some("localhost"),
        client_io,
        server_io,
    )
    .await;
    (
        client.expect("client handshake"),
        server.expect("server handshake"),
    )
}

/// Each size, written in one `write_all` over loopback TCP, is read back exactly, in
/// order, with nothing in between.
/// Writes `size` patterned bytes from `client` and checks `server` reads them unchanged.
async fn send_and_check<C, S>(
    client: &mut C,
    server: &mut S,
    size: usize,
    seed: u8,
    suite: CipherSuite,
) where
    C: AsyncWrite + Unpin,
    S: AsyncRead + Unpin,
{
    let data = pattern(size, seed);
    client.write_all(&data).await.unwrap();
    client.flush().await.unwrap();
    let mut got = vec![0u8; size];
    server.read_exact(&mut got).await.unwrap();
    assert!(got == data, "{suite}: {size} bytes changed");
}

#[tokio::test]
async fn writes_around_the_record_limit_arrive_intact() {
    bounded(async {
        for suite in CipherSuite::ALL {
            let (client_tcp, server_tcp) = tcp_pair().await;
            let (mut client, mut server) = connected(suite, client_tcp, server_tcp).await;
            for (i, &size) in SIZES.iter().enumerate() {
                send_and_check(&mut client, &mut server, size, i as u8, suite).await;
            }
            // Nothing else was sent: the next bytes are the close_notify's end.
            client.shutdown().await.unwrap();
            assert_eq!(read_to_end(&mut server).await, b"", "{suite}");
        }
    })
    .await;
}

/// A zero-length write sends no record at all, and each write becomes
/// ceil(size / 16384) application-data records, counted by a relay in between.
#[tokio::test]
async fn writes_become_the_fewest_records_of_at_most_16384_bytes() {
    bounded(async {
        for suite in CipherSuite::ALL {
            let count = Arc::new(AtomicUsize::new(0));
            let seen = count.clone();
            let c2s: Edit = Box::new(move |r| {
                if r[0] == APPLICATION_DATA {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
            });
            let (client_io, server_io) = relay(c2s, unchanged());
            let (mut client, mut server) = connected(suite, client_io, server_io).await;

            assert_eq!(client.write(&[]).await.unwrap(), 0);
            for (i, &size) in SIZES.iter().enumerate() {
                let before = count.load(Ordering::SeqCst);
                send_and_check(&mut client, &mut server, size, i as u8, suite).await;
                // The relay counts each record before forwarding it, so all of them are
                // counted once the server has read the last byte.
                let records = count.load(Ordering::SeqCst) - before;
                assert_eq!(records, size.div_ceil(16384), "{suite}: {size} bytes");
            }
        }
    })
    .await;
}

/// A 16384-byte record read through a 1-byte buffer: 16384 reads of one byte each,
/// in order.
#[tokio::test]
async fn one_byte_reads_drain_a_16_kib_record() {
    bounded(async {
        for suite in CipherSuite::ALL {
            let (client_io, server_io) = tokio::io::duplex(PIPE);
            let (mut client, mut server) = connected(suite, client_io, server_io).await;
            let data = pattern(16384, 9);
            client.write_all(&data).await.unwrap();
            client.flush().await.unwrap();
            let mut got = Vec::with_capacity(data.len());
            let mut byte = [0u8; 1];
            while got.len() < data.len() {
                assert_eq!(server.read(&mut byte).await.unwrap(), 1, "{suite}");
                got.push(byte[0]);
            }
            assert!(got == data, "{suite}: bytes changed");
        }
    })
    .await;
}

/// The transport ending without close_notify reads as the end of the stream (many peers
/// close so) at a record boundary, and as an error inside a record.
#[tokio::test]
async fn a_transport_cut_inside_a_record_is_an_error_and_between_records_the_end() {
    bounded(async {
        for cut_inside in [false, true] {
            let suite = CipherSuite::EccSm4GcmSm3;
            let (server, client) = handshake(
                server_config(&[suite], ClientAuth::None),
                client_config(&[suite], false),
                Some("localhost"),
            )
            .await;
            let (mut server, mut client) = (server.unwrap(), client.unwrap());
            if cut_inside {
                // A header promising 50 bytes, then 3 of them.
                client
                    .get_mut()
                    .write_all(&[23, 1, 1, 0, 50, 1, 2, 3])
                    .await
                    .unwrap();
            }
            client.get_mut().shutdown().await.unwrap();
            let mut buf = [0u8; 16];
            let got = server.read(&mut buf).await;
            if cut_inside {
                let e = got.expect_err("a record cut short is an error");
                assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}");
            } else {
                assert_eq!(got.unwrap(), 0, "the end between records");
            }
        }
    })
    .await;
}
