//! A man in the middle changing records between client and server: every change is
//! caught, by the check the protocol puts there, and both sides learn the same alert.
mod support;

use tlcp::{AlertDescription, CipherSuite, ClientAuth};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::*;

/// A handshake of `suite` through a relay applying `c2s` and `s2c`. The client has
/// certificates (ECDHE needs them), the server asks for none beyond what the suite needs.
async fn handshake_through(
    suite: CipherSuite,
    client_certs: bool,
    c2s: Edit,
    s2c: Edit,
) -> Outcome<tokio::io::DuplexStream> {
    let (client_io, server_io) = relay(c2s, s2c);
    handshake_over(
        server_config(&[suite], ClientAuth::None),
        client_config(&[suite], client_certs),
        Some("localhost"),
        client_io,
        server_io,
    )
    .await
}

/// A change to one record.
type Damage = fn(&mut [u8]);

/// Flips the low bit of the record's last byte.
fn flip_last(record: &mut [u8]) {
    *record.last_mut().expect("non-empty record") ^= 1;
}

/// The control: the relay itself changes nothing, so the failures below come from the
/// edits alone.
#[tokio::test]
async fn relay_without_edits_is_transparent() {
    bounded(async {
        for suite in CipherSuite::ALL {
            let (server, client) = handshake_through(suite, true, unchanged(), unchanged()).await;
            let (mut server, mut client) = (server.unwrap(), client.unwrap());
            client.write_all(b"ping").await.unwrap();
            client.flush().await.unwrap();
            let mut got = [0u8; 4];
            server.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"ping", "{suite}");
        }
    })
    .await;
}

/// The last byte of ServerKeyExchange is inside the SM2 signature over both randoms and
/// the key-exchange parameters: the client must refuse it and never connect.
#[tokio::test]
async fn flipped_server_key_exchange_signature_is_decrypt_error() {
    bounded(async {
        for suite in CipherSuite::ALL {
            let s2c = edit_first(
                |r| handshake_type(r) == Some(SERVER_KEY_EXCHANGE),
                flip_last,
            );
            let outcome = handshake_through(suite, true, unchanged(), s2c).await;
            assert_client_refused(outcome, AlertDescription::DECRYPT_ERROR);
        }
    })
    .await;
}

/// One flipped bit in an application-data record: the server's read fails with
/// bad_record_mac, and the client's next read reports the server's bad_record_mac alert.
#[tokio::test]
async fn flipped_application_data_is_bad_record_mac_on_both_sides() {
    bounded(async {
        for suite in CipherSuite::ALL {
            let c2s = edit_first(
                |r| r[0] == APPLICATION_DATA,
                |r| {
                    let mid = r.len() / 2;
                    r[mid] ^= 0x80;
                },
            );
            let (server, client) = handshake_through(suite, true, c2s, unchanged()).await;
            let (mut server, mut client) = (server.unwrap(), client.unwrap());
            client.write_all(&pattern(1000, 3)).await.unwrap();
            client.flush().await.unwrap();

            let err = server.read(&mut [0u8; 1000]).await.unwrap_err();
            assert_sent(tlcp_error(&err), AlertDescription::BAD_RECORD_MAC);
            let err = client.read(&mut [0u8; 16]).await.unwrap_err();
            assert_received(tlcp_error(&err), AlertDescription::BAD_RECORD_MAC);
        }
    })
    .await;
}

/// The client's Finished travels in the first protected record, so a flipped byte fails
/// the record's MAC or GCM tag before the verify data is compared: bad_record_mac (a
/// wrong verify data in an intact record, decrypt_error, needs the keys to forge).
#[tokio::test]
async fn flipped_client_finished_is_bad_record_mac() {
    bounded(async {
        for suite in CipherSuite::ALL {
            let mut after_ccs = false;
            let c2s = edit_first(
                move |r| {
                    after_ccs |= r[0] == CHANGE_CIPHER_SPEC;
                    after_ccs && r[0] == HANDSHAKE
                },
                flip_last,
            );
            let outcome = handshake_through(suite, true, c2s, unchanged()).await;
            assert_server_refused(outcome, AlertDescription::BAD_RECORD_MAC);
        }
    })
    .await;
}

/// The ECC suites' ClientKeyExchange is the pre-master secret SM2-encrypted to the
/// server. However it is damaged — a ciphertext that decrypts to garbage (flipped last
/// byte of C2, so C3's hash fails) or one that does not even parse (SEQUENCE tag broken)
/// — the server must not say so: it goes on with a random pre-master secret, reads the
/// client's ChangeCipherSpec, and fails only at the client's Finished, which no longer
/// opens under the keys it derived. bad_record_mac is the one alert that can only come
/// from opening a protected record, so seeing it on both sides (and no decode_error or
/// decrypt_error at ClientKeyExchange) shows the failure happened at Finished and that
/// both damages look the same from outside: no padding/decryption oracle.
#[tokio::test]
async fn damaged_ecc_key_exchange_fails_only_at_finished_whatever_the_damage() {
    bounded(async {
        // Record header (5), handshake header (4), ciphertext length (2), then the DER.
        const DER_TAG: usize = 5 + 4 + 2;
        let damages: [(&str, Damage); 2] = [
            ("ciphertext that does not decrypt", flip_last),
            ("ciphertext that does not parse", |r| {
                assert_eq!(r[DER_TAG], 0x30, "SM2 ciphertext is a DER SEQUENCE");
                r[DER_TAG] ^= 1;
            }),
        ];
        for suite in [CipherSuite::EccSm4CbcSm3, CipherSuite::EccSm4GcmSm3] {
            for (what, damage) in damages {
                let c2s = edit_first(|r| handshake_type(r) == Some(CLIENT_KEY_EXCHANGE), damage);
                // No client certificates: no CertificateVerify over the changed transcript
                // stands between ClientKeyExchange and Finished.
                let (server, client) = handshake_through(suite, false, c2s, unchanged()).await;
                let server = failed(server, "server");
                let client = failed(client, "client");
                assert!(
                    matches!(&server, tlcp::Error::Protocol { alert, .. } if *alert == AlertDescription::BAD_RECORD_MAC),
                    "{suite}, {what}: server {server:?}"
                );
                assert_received(&client, AlertDescription::BAD_RECORD_MAC);
            }
        }
    })
    .await;
}

/// The server's Certificate with its signing and encryption certificates swapped: the
/// first one's key usage has no digitalSignature, so the client refuses it as the signing
/// certificate.
#[tokio::test]
async fn swapped_server_certificates_are_bad_certificate() {
    bounded(async {
        for suite in CipherSuite::ALL {
            let s2c = edit_first(|r| handshake_type(r) == Some(CERTIFICATE), swap_first_two);
            let outcome = handshake_through(suite, true, unchanged(), s2c).await;
            assert_client_refused(outcome, AlertDescription::BAD_CERTIFICATE);
        }
    })
    .await;
}

/// Swaps the first two certificates of a record holding one whole Certificate message.
fn swap_first_two(record: &mut [u8]) {
    const LIST: usize = 5 + 4 + 3;
    let certs = certificate_list(&record[5 + 4..]);
    assert!(certs.len() >= 2, "a TLCP server sends two certificates");
    assert_eq!(
        certs[0],
        leaf("server_sign").as_ref(),
        "signing certificate first"
    );
    let mut swapped = Vec::new();
    for cert in [&certs[1], &certs[0]] {
        swapped.extend_from_slice(&(cert.len() as u32).to_be_bytes()[1..]);
        swapped.extend_from_slice(cert);
    }
    record[LIST..LIST + swapped.len()].copy_from_slice(&swapped);
}
