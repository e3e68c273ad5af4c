//! Full connections over loopback TCP for every suite, with and without client
//! authentication: what each side learns from the handshake, 1 MiB each way at once, and
//! an orderly close with close_notify.
mod support;

use tlcp::{CipherSuite, ClientAuth, TlcpStream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use support::*;

const MIB: usize = 1 << 20;

/// Writes `data` then shuts down (close_notify) on one half of `stream` while reading the
/// other half to its end; returns what was read.
async fn exchange<S: AsyncRead + AsyncWrite>(stream: S, data: &[u8]) -> Vec<u8> {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let write = async {
        writer.write_all(data).await.expect("write");
        writer.shutdown().await.expect("shutdown");
    };
    let read = async {
        let mut got = Vec::new();
        reader.read_to_end(&mut got).await.expect("read to end");
        // Still at the end when asked again.
        assert_eq!(reader.read(&mut [0u8; 8]).await.expect("read after end"), 0);
        got
    };
    tokio::join!(write, read).1
}

/// One connection of `suite`: with `required`, the server demands client certificates
/// (ClientAuth::Required); without, it asks for none (ClientAuth::None) and the client
/// has certificates only when the suite needs them (ECDHE always does, and sends them).
async fn round_trip(suite: CipherSuite, required: bool) {
    let (client_tcp, server_tcp) = tcp_pair().await;
    let auth = if required {
        ClientAuth::Required(roots())
    } else {
        ClientAuth::None
    };
    let client_has_certs = required || suite.is_ecdhe();
    // KeepOpen: the transports never end, so each reader's EOF must be a close_notify.
    let (server, client) = handshake_over(
        server_config(&[suite], auth),
        client_config(&[suite], client_has_certs),
        Some("localhost"),
        KeepOpen(client_tcp),
        KeepOpen(server_tcp),
    )
    .await;
    let (server, client): (TlcpStream<_>, TlcpStream<_>) = (
        server.expect("server handshake"),
        client.expect("client handshake"),
    );

    assert_eq!(server.cipher_suite(), suite);
    assert_eq!(client.cipher_suite(), suite);
    assert_eq!(
        client.peer_certificates(),
        [leaf("server_sign"), leaf("server_enc")]
    );
    let client_certs = if client_has_certs {
        vec![leaf("client_sign"), leaf("client_enc")]
    } else {
        vec![]
    };
    assert_eq!(server.peer_certificates(), client_certs);

    let up = pattern(MIB, 1);
    let down = pattern(MIB, 2);
    let (at_server, at_client) = tokio::join!(exchange(server, &down), exchange(client, &up));
    assert_eq!(at_server.len(), MIB);
    assert!(at_server == up, "client-to-server bytes changed");
    assert_eq!(at_client.len(), MIB);
    assert!(at_client == down, "server-to-client bytes changed");
}

macro_rules! round_trips {
    ($($name:ident: $suite:ident, $required:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            bounded(round_trip(CipherSuite::$suite, $required)).await;
        }
    )*};
}

round_trips! {
    ecc_sm4_cbc_sm3_without_client_auth: EccSm4CbcSm3, false;
    ecc_sm4_cbc_sm3_with_required_client_certs: EccSm4CbcSm3, true;
    ecc_sm4_gcm_sm3_without_client_auth: EccSm4GcmSm3, false;
    ecc_sm4_gcm_sm3_with_required_client_certs: EccSm4GcmSm3, true;
    ecdhe_sm4_cbc_sm3_without_client_auth: EcdheSm4CbcSm3, false;
    ecdhe_sm4_cbc_sm3_with_required_client_certs: EcdheSm4CbcSm3, true;
    ecdhe_sm4_gcm_sm3_without_client_auth: EcdheSm4GcmSm3, false;
    ecdhe_sm4_gcm_sm3_with_required_client_certs: EcdheSm4GcmSm3, true;
}

/// The server's preference decides among suites both sides allow, and the client sees the
/// same choice.
#[tokio::test]
async fn server_preference_picks_the_suite() {
    bounded(async {
        let server = server_config(
            &[CipherSuite::EccSm4CbcSm3, CipherSuite::EcdheSm4GcmSm3],
            ClientAuth::None,
        );
        let (server, client) = handshake(
            server,
            client_config(&CipherSuite::ALL, true),
            Some("localhost"),
        )
        .await;
        assert_eq!(server.unwrap().cipher_suite(), CipherSuite::EccSm4CbcSm3);
        assert_eq!(client.unwrap().cipher_suite(), CipherSuite::EccSm4CbcSm3);
    })
    .await;
}

/// The signing certificate's IP-address SAN matches a server name given as an address.
#[tokio::test]
async fn server_name_may_be_the_ip_address_in_the_san() {
    bounded(async {
        let (server, client) = handshake(
            server_config(&[CipherSuite::EccSm4GcmSm3], ClientAuth::None),
            client_config(&[CipherSuite::EccSm4GcmSm3], false),
            Some("127.0.0.1"),
        )
        .await;
        server.expect("server handshake");
        client.expect("client handshake");
    })
    .await;
}
