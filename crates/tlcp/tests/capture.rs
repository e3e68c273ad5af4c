//! Tongsuo's own bytes, from captured Tongsuo-to-Tongsuo TLCP connections (made with
//! the shared certificates), fed to this crate through an in-memory transport.
//!
//! What this proves, and what not: a captured handshake cannot be replayed to the end —
//! each side's fresh random changes every later message — so these tests go as far as
//! the captured bytes can carry them:
//! - the server decodes Tongsuo's ClientHello (with its extensions and the renegotiation
//!   SCSV) and answers with the suite it offered, the double certificate in Tongsuo's
//!   order, and the rest of its first flight;
//! - the client decodes Tongsuo's ServerHello, Certificate and ServerKeyExchange, verifies
//!   the server's certificate pair against the shared CA, and fails exactly at the
//!   ServerKeyExchange signature (decrypt_error) — which covers the captured client
//!   random, not ours. Any parsing or certificate problem would be another alert.
//!
//! Full interoperability (Tongsuo completing handshakes with this crate both ways) is
//! checked by hand with ../shared/interop/gmtls, not here.
mod support;

use tlcp::{AlertDescription, CipherSuite, ClientAuth, Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::*;

const ECC_CAPTURE: &str = "tlcp-ECC-SM2-SM4-CBC-SM3.conn0";
const ECDHE_CAPTURE: &str = "tlcp-ECDHE-SM2-SM4-GCM-SM3.conn0";

/// The bytes one direction of a capture carried (`dir`: `c2s` or `s2c`).
fn capture(name: &str, dir: &str) -> Vec<u8> {
    read(CAPTURES, &format!("{name}.{dir}.bin"))
}

/// The suite a ServerHello body picks.
fn chosen_suite(server_hello: &[u8]) -> u16 {
    let session_id_len = usize::from(server_hello[2 + 32]);
    let at = 2 + 32 + 1 + session_id_len;
    u16::from_be_bytes([server_hello[at], server_hello[at + 1]])
}

/// Sends the first record of a captured client stream (its ClientHello) to `accept` and
/// returns the handshake messages of the server's first flight, up to ServerHelloDone;
/// then hangs up and checks the server gave up on the transport's end.
async fn server_flight_for_captured_hello(name: &str) -> Vec<(u8, Vec<u8>)> {
    let c2s = capture(name, "c2s");
    let hello_len = whole_record_len(&c2s).expect("a whole first record");
    let hello = &c2s[..hello_len];
    assert_eq!(handshake_type(hello), Some(CLIENT_HELLO));

    let (mut client_end, server_io) = tokio::io::duplex(PIPE);
    let server = tokio::spawn(tlcp::accept(
        server_config(&[], ClientAuth::None),
        server_io,
    ));
    client_end.write_all(hello).await.unwrap();

    let mut bytes = Vec::new();
    let flight = loop {
        let mut chunk = [0u8; 4096];
        let n = client_end.read(&mut chunk).await.unwrap();
        assert_ne!(n, 0, "server closed mid-flight");
        bytes.extend_from_slice(&chunk[..n]);
        let recs = records(&bytes);
        assert!(
            recs.iter().all(|r| r.version == 0x0101),
            "TLCP record version"
        );
        let messages = handshake_messages(&recs);
        if messages.last().map(|m| m.0) == Some(SERVER_HELLO_DONE) {
            break messages;
        }
    };
    drop(client_end);
    match server.await.unwrap() {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
        Err(e) => panic!("server failed with {e:?}, not at the transport's end"),
        Ok(_) => panic!("server finished a handshake with a hung-up client"),
    }
    flight
}

/// Checks a server's first flight: ServerHello picking `suite`, the shared server pair
/// (signing first), ServerKeyExchange, a CertificateRequest exactly when `request`.
fn check_flight(flight: &[(u8, Vec<u8>)], suite: u16, request: bool) {
    let kinds: Vec<u8> = flight.iter().map(|m| m.0).collect();
    let mut want = vec![SERVER_HELLO, CERTIFICATE, SERVER_KEY_EXCHANGE];
    if request {
        want.push(CERTIFICATE_REQUEST);
    }
    want.push(SERVER_HELLO_DONE);
    assert_eq!(kinds, want);
    let hello = &flight[0].1;
    assert_eq!(hello[..2], [0x01, 0x01], "ServerHello version");
    assert_eq!(chosen_suite(hello), suite);
    assert_eq!(
        certificate_list(&flight[1].1),
        [
            leaf("server_sign").as_ref().to_vec(),
            leaf("server_enc").as_ref().to_vec()
        ]
    );
}

#[tokio::test]
async fn captured_ecc_client_hello_gets_a_server_hello_choosing_e013() {
    bounded(async {
        let flight = server_flight_for_captured_hello(ECC_CAPTURE).await;
        check_flight(&flight, 0xe013, false);
    })
    .await;
}

#[tokio::test]
async fn captured_ecdhe_client_hello_gets_a_server_hello_choosing_e051() {
    bounded(async {
        let flight = server_flight_for_captured_hello(ECDHE_CAPTURE).await;
        // ECDHE always asks for the client's certificates: its encryption key is part of
        // the key agreement.
        check_flight(&flight, 0xe051, true);
    })
    .await;
}

/// Plays a captured server stream to `connect` offering `suite`; returns the client's
/// error and every byte it wrote.
async fn client_against_captured_server(name: &str, suite: CipherSuite) -> (Error, Vec<u8>) {
    let (client_io, mut server_end) = tokio::io::duplex(PIPE);
    server_end.write_all(&capture(name, "s2c")).await.unwrap();
    let result = tlcp::connect(client_config(&[suite], true), Some("localhost"), client_io).await;
    (failed(result, "client"), read_to_end(&mut server_end).await)
}

/// Checks the client got as far as the ServerKeyExchange signature and refused it: its
/// error, and on the wire its ClientHello then the decrypt_error alert, nothing else.
fn check_stopped_at_signature(err: &Error, sent: &[u8]) {
    assert_sent(err, AlertDescription::DECRYPT_ERROR);
    let recs = records(sent);
    assert_eq!(recs.len(), 2, "ClientHello and the alert");
    assert_eq!(recs[0].typ, HANDSHAKE);
    assert_eq!(recs[0].fragment[0], CLIENT_HELLO);
    let hello_len = 5 + recs[0].fragment.len();
    assert_eq!(
        sent[hello_len..],
        fatal_alert_record(AlertDescription::DECRYPT_ERROR)
    );
}

#[tokio::test]
async fn captured_ecc_server_flight_takes_the_client_to_the_signature_check() {
    bounded(async {
        let (err, sent) =
            client_against_captured_server(ECC_CAPTURE, CipherSuite::EccSm4CbcSm3).await;
        check_stopped_at_signature(&err, &sent);
    })
    .await;
}

#[tokio::test]
async fn captured_ecdhe_server_flight_takes_the_client_to_the_signature_check() {
    bounded(async {
        let (err, sent) =
            client_against_captured_server(ECDHE_CAPTURE, CipherSuite::EcdheSm4GcmSm3).await;
        check_stopped_at_signature(&err, &sent);
    })
    .await;
}

/// One port can tell TLCP from TLS by the first three bytes: the captured TLCP
/// ClientHellos are TLCP's, the captured TLS 1.3 (RFC 8998) one is not.
#[test]
fn captured_hellos_are_told_apart_by_is_tlcp_hello() {
    assert!(tlcp::is_tlcp_hello(&capture(ECC_CAPTURE, "c2s")));
    assert!(tlcp::is_tlcp_hello(&capture(ECDHE_CAPTURE, "c2s")));
    assert!(!tlcp::is_tlcp_hello(&capture(
        "tls13-TLS_SM4_GCM_SM3.conn0",
        "c2s"
    )));
    assert!(!tlcp::is_tlcp_hello(&[0x16, 0x01]), "too short to tell");
}
