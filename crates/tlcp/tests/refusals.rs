//! Handshakes that must fail, each with the exact alert the failing side sends and the
//! other side receives, and configurations refused before any handshake.
mod support;

use tlcp::{AlertDescription, CertifiedKey, CipherSuite, ClientAuth, ClientConfig, Error};
use tokio::io::AsyncWriteExt;

use support::*;

const ECC: [CipherSuite; 2] = [CipherSuite::EccSm4CbcSm3, CipherSuite::EccSm4GcmSm3];

#[tokio::test]
async fn no_common_suite_is_handshake_failure() {
    bounded(async {
        let outcome = handshake(
            server_config(&[CipherSuite::EccSm4GcmSm3], ClientAuth::None),
            client_config(&[CipherSuite::EccSm4CbcSm3], true),
            Some("localhost"),
        )
        .await;
        assert_server_refused(outcome, AlertDescription::HANDSHAKE_FAILURE);
    })
    .await;
}

#[tokio::test]
async fn required_client_auth_without_client_certs_is_handshake_failure() {
    bounded(async {
        for suite in ECC {
            let outcome = handshake(
                server_config(&[suite], ClientAuth::Required(roots())),
                client_config(&[suite], false),
                Some("localhost"),
            )
            .await;
            assert_server_refused(outcome, AlertDescription::HANDSHAKE_FAILURE);
        }
    })
    .await;
}

/// Optional client authentication lets a client without certificates in (the ECC suites
/// need none), and the server then sees no peer certificates.
#[tokio::test]
async fn optional_client_auth_accepts_a_client_without_certs() {
    bounded(async {
        for suite in ECC {
            let (server, client) = handshake(
                server_config(&[suite], ClientAuth::Optional(roots())),
                client_config(&[suite], false),
                Some("localhost"),
            )
            .await;
            assert!(server
                .expect("server handshake")
                .peer_certificates()
                .is_empty());
            client.expect("client handshake");
        }
    })
    .await;
}

/// The ECDHE key agreement needs the client's encryption key, so a client without
/// certificates has nothing to offer; it must say so before putting a byte on the wire.
#[tokio::test]
async fn client_with_only_ecdhe_suites_and_no_certs_is_config_error_before_any_byte() {
    bounded(async {
        let (client_io, mut server_end) = tokio::io::duplex(PIPE);
        let client = client_config(
            &[CipherSuite::EcdheSm4GcmSm3, CipherSuite::EcdheSm4CbcSm3],
            false,
        );
        let err = failed(
            tlcp::connect(client, Some("localhost"), client_io).await,
            "client",
        );
        assert!(matches!(err, Error::Config(_)), "got {err:?}");
        // connect consumed and dropped its transport: all the server end can read is
        // what the client wrote, then the end.
        assert_eq!(read_to_end(&mut server_end).await, b"");
    })
    .await;
}

#[tokio::test]
async fn wrong_server_name_is_bad_certificate() {
    bounded(async {
        for suite in CipherSuite::ALL {
            let outcome = handshake(
                server_config(&[suite], ClientAuth::None),
                client_config(&[suite], true),
                Some("not-the-server.example"),
            )
            .await;
            assert_client_refused(outcome, AlertDescription::BAD_CERTIFICATE);
        }
    })
    .await;
}

#[tokio::test]
async fn server_certificates_from_an_untrusted_ca_are_unknown_ca() {
    bounded(async {
        for suite in CipherSuite::ALL {
            let outcome = handshake(
                server_config(&[suite], ClientAuth::None),
                client_config_trusting(untrusted_roots(), &[suite], true),
                Some("localhost"),
            )
            .await;
            assert_client_refused(outcome, AlertDescription::UNKNOWN_CA);
        }
    })
    .await;
}

#[tokio::test]
async fn client_certificates_from_an_untrusted_ca_are_unknown_ca() {
    bounded(async {
        for suite in CipherSuite::ALL {
            let outcome = handshake(
                server_config(&[suite], ClientAuth::Required(untrusted_roots())),
                client_config(&[suite], true),
                Some("localhost"),
            )
            .await;
            assert_server_refused(outcome, AlertDescription::UNKNOWN_CA);
        }
    })
    .await;
}

#[tokio::test]
async fn expired_server_signing_certificate_is_certificate_expired() {
    bounded(async {
        let expired = CertifiedKey::from_pem(
            &read(LOCAL_CERTS, "expired_server_sign.crt"),
            &read(LOCAL_CERTS, "expired_server_sign.key"),
        )
        .expect("expired pair");
        let server = tlcp::ServerConfig::new(
            expired,
            pair("server_enc"),
            vec![CipherSuite::EccSm4CbcSm3],
            ClientAuth::None,
        )
        .expect("an expired certificate is the client's problem, not a config error");
        let outcome = handshake(
            server.into(),
            client_config(&[CipherSuite::EccSm4CbcSm3], false),
            Some("localhost"),
        )
        .await;
        assert_client_refused(outcome, AlertDescription::CERTIFICATE_EXPIRED);
    })
    .await;
}

/// A ClientHello body offering ECC_SM4_CBC_SM3 with `version` inside, in a handshake
/// record of `record_version`.
fn client_hello_record(record_version: u16, version: u16) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    body.extend_from_slice(&[0x42; 32]); // random
    body.push(0); // no session id
    body.extend_from_slice(&[0, 2, 0xe0, 0x13]); // one suite
    body.extend_from_slice(&[1, 0]); // null compression
    let mut msg = vec![CLIENT_HELLO, 0, 0, body.len() as u8];
    msg.extend_from_slice(&body);
    let mut record = vec![HANDSHAKE];
    record.extend_from_slice(&record_version.to_be_bytes());
    record.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    record.extend_from_slice(&msg);
    record
}

/// Sends `bytes` to a server as its client and returns what the server did and every
/// byte it sent back before closing.
async fn server_answer(bytes: &[u8]) -> (Error, Vec<u8>) {
    let (mut client_end, server_io) = tokio::io::duplex(PIPE);
    let server = server_config(&[], ClientAuth::None);
    client_end.write_all(bytes).await.expect("write");
    let result = tlcp::accept(server, server_io).await;
    (failed(result, "server"), read_to_end(&mut client_end).await)
}

#[tokio::test]
async fn client_hello_with_tls_1_2_version_gets_protocol_version_alert() {
    bounded(async {
        let hello = client_hello_record(0x0101, 0x0303);
        assert!(tlcp::is_tlcp_hello(&hello), "the record itself is TLCP's");
        let (err, answer) = server_answer(&hello).await;
        assert_sent(&err, AlertDescription::PROTOCOL_VERSION);
        assert_eq!(answer, [0x15, 0x01, 0x01, 0x00, 0x02, 0x02, 0x46]);
    })
    .await;
}

#[tokio::test]
async fn tls_record_version_gets_protocol_version_alert() {
    bounded(async {
        let hello = client_hello_record(0x0303, 0x0101);
        assert!(!tlcp::is_tlcp_hello(&hello));
        let (err, answer) = server_answer(&hello).await;
        assert_sent(&err, AlertDescription::PROTOCOL_VERSION);
        assert_eq!(
            answer,
            fatal_alert_record(AlertDescription::PROTOCOL_VERSION)
        );
    })
    .await;
}

/// An encryption certificate (key usage without digitalSignature) cannot be the signing
/// pair, nor a signing certificate the encryption pair, on either side.
#[test]
fn configs_refuse_certificates_of_the_wrong_usage() {
    let config_error = |r: Result<_, Error>, what: &str| match r {
        Err(Error::Config(_)) => {}
        Err(e) => panic!("{what}: expected Error::Config, got {e:?}"),
        Ok(_) => panic!("{what}: accepted"),
    };
    config_error(
        tlcp::ServerConfig::new(
            pair("server_enc"),
            pair("server_enc"),
            vec![],
            ClientAuth::None,
        )
        .map(drop),
        "server enc certificate as signing pair",
    );
    config_error(
        tlcp::ServerConfig::new(
            pair("server_sign"),
            pair("server_sign"),
            vec![],
            ClientAuth::None,
        )
        .map(drop),
        "server sign certificate as encryption pair",
    );
    config_error(
        ClientConfig::new(Some(roots()), vec![])
            .with_client_certs(pair("client_enc"), pair("client_enc"))
            .map(drop),
        "client enc certificate as signing pair",
    );
    config_error(
        ClientConfig::new(Some(roots()), vec![])
            .with_client_certs(pair("client_sign"), pair("client_sign"))
            .map(drop),
        "client sign certificate as encryption pair",
    );
}

/// A key that is not the certificate's is refused when the pair is built.
#[test]
fn certified_key_refuses_a_key_of_another_certificate() {
    let err = CertifiedKey::from_pem(
        &read(SHARED_CERTS, "server_sign.crt"),
        &read(SHARED_CERTS, "server_enc.key"),
    );
    assert!(matches!(err, Err(Error::Config(_))));
}
