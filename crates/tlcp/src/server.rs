//! The server side of the TLCP handshake (GB/T 38636-2020 6.4.5): ServerHello, the
//! double certificate, a signed ServerKeyExchange, an optional CertificateRequest,
//! then the client's key exchange, its optional CertificateVerify and Finished.

use std::sync::Arc;

use gm_crypto::hash::sm3;
use gm_crypto::sm2::exchange::{EphemeralKey, KeyAgreement};
use gm_crypto::sm2::keys::{public_key_from_cert, public_key_from_sec1};
use gm_crypto::sm2::{encrypt, sign, DEFAULT_ID};
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::codec::{put_u24, put_vec, Reader};
use crate::config::{ClientAuth, ServerConfig};
use crate::conn::{RecordIo, Side};
use crate::error::{AlertDescription, Error};
use crate::keys::{master_secret, record_states, SECRET_LEN};
use crate::messages::{self, kind, ClientHello, ServerHello};
use crate::record::VERSION;
use crate::stream::{Session, TlcpStream};
use crate::verify::{verify_pair, Peer};
use crate::{random, suite::CipherSuite};

/// Runs the server handshake on `io`; on failure the client is sent an alert saying
/// why.
pub async fn accept<IO>(config: Arc<ServerConfig>, io: IO) -> Result<TlcpStream<IO>, Error>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut conn = RecordIo::new(io);
    match handshake(&config, &mut conn).await {
        Ok(session) => Ok(TlcpStream::new(conn, session)),
        Err(e) => {
            conn.fail(&e).await;
            Err(e)
        }
    }
}

async fn handshake<IO>(cfg: &ServerConfig, c: &mut RecordIo<IO>) -> Result<Session, Error>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let hello = ClientHello::decode(&c.expect(kind::CLIENT_HELLO, "ClientHello").await?)?;
    if hello.version != VERSION {
        return Err(Error::alert(
            AlertDescription::PROTOCOL_VERSION,
            format!(
                "client offers version {:#06x}, not TLCP 0x0101",
                hello.version
            ),
        ));
    }
    let suite = cfg
        .suites
        .iter()
        .copied()
        .find(|s| hello.suites.contains(&s.id()))
        .ok_or_else(|| {
            Error::alert(
                AlertDescription::HANDSHAKE_FAILURE,
                "no TLCP cipher suite in common",
            )
        })?;
    let client_random = hello.random;
    let server_random = random::hello_random();
    c.send_handshake(
        kind::SERVER_HELLO,
        &ServerHello::encode(&server_random, suite.id()),
    );

    // Certificate: signing certificate, encryption certificate, then the signing chain.
    let sign_chain = cfg.sign.chain();
    let enc_cert = &cfg.enc.chain()[0];
    let list = std::iter::once(&sign_chain[0])
        .chain(std::iter::once(enc_cert))
        .chain(&sign_chain[1..])
        .map(|c| c.as_ref());
    c.send_handshake(kind::CERTIFICATE, &messages::encode_certificates(list));

    // ServerKeyExchange, signed over both randoms and the exchanged parameters.
    let ephemeral = suite.is_ecdhe().then(EphemeralKey::generate);
    let params = match &ephemeral {
        Some(e) => messages::encode_ecdhe_point(&e.public_sec1()),
        None => {
            let mut p = Vec::with_capacity(enc_cert.len() + 3);
            put_u24(&mut p, enc_cert.len());
            p.extend_from_slice(enc_cert);
            p
        }
    };
    let tbs = [&client_random[..], &server_random, &params].concat();
    let signature =
        sign::sign(cfg.sign.key(), DEFAULT_ID, &tbs).map_err(|e| Error::Config(e.to_string()))?;
    let mut ske = if ephemeral.is_some() {
        params
    } else {
        Vec::new()
    };
    put_vec(&mut ske, 2, &signature);
    c.send_handshake(kind::SERVER_KEY_EXCHANGE, &ske);

    // ECDHE needs the client's encryption certificate, so it always asks.
    let request = suite.is_ecdhe() || !matches!(cfg.client_auth, ClientAuth::None);
    if request {
        let names = cfg
            .client_auth
            .roots()
            .map(|r| r.names())
            .unwrap_or_default();
        c.send_handshake(
            kind::CERTIFICATE_REQUEST,
            &messages::encode_certificate_request(names),
        );
    }
    c.send_handshake(kind::SERVER_HELLO_DONE, &[]);
    c.flush().await?;

    let peer = if request {
        client_certificates(cfg, suite, c).await?
    } else {
        Vec::new()
    };

    let cke = c
        .expect(kind::CLIENT_KEY_EXCHANGE, "ClientKeyExchange")
        .await?;
    let pre_master = match &ephemeral {
        Some(own) => ecdhe_pre_master(cfg, own, &peer, &cke)?,
        None => ecc_pre_master(cfg, &cke)?,
    };

    if let Some(sign_cert) = peer.first() {
        let hash = sm3(&c.transcript);
        let body = c
            .expect(kind::CERTIFICATE_VERIFY, "CertificateVerify")
            .await?;
        let mut r = Reader::new(&body, "CertificateVerify");
        let sig = r.vec16()?;
        r.finish()?;
        let key = public_key_from_cert(sign_cert)
            .map_err(|e| Error::alert(AlertDescription::BAD_CERTIFICATE, e.to_string()))?;
        sign::verify(&key, DEFAULT_ID, &hash, sig).map_err(|_| {
            Error::alert(
                AlertDescription::DECRYPT_ERROR,
                "client CertificateVerify signature does not verify",
            )
        })?;
    }

    let master = master_secret(&pre_master, &client_random, &server_random);
    let (client_write, server_write) =
        record_states(suite, &master, &client_random, &server_random);
    c.read_change_cipher_spec().await?;
    c.rx = client_write;
    c.expect_finished(&master, Side::Client).await?;
    c.change_cipher_spec(server_write);
    c.send_finished(&master, Side::Server);
    c.flush().await?;
    Ok(Session { suite, peer })
}

/// Reads and checks the client's Certificate message.
async fn client_certificates<IO>(
    cfg: &ServerConfig,
    suite: CipherSuite,
    c: &mut RecordIo<IO>,
) -> Result<Vec<CertificateDer<'static>>, Error>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let certs = messages::decode_certificates(&c.expect(kind::CERTIFICATE, "Certificate").await?)?;
    let needed = if suite.is_ecdhe() { 2 } else { 1 };
    if certs.is_empty() {
        if suite.is_ecdhe() || matches!(cfg.client_auth, ClientAuth::Required(_)) {
            return Err(Error::alert(
                AlertDescription::HANDSHAKE_FAILURE,
                format!("client sent no certificate; {suite} with this server needs one"),
            ));
        }
        return Ok(certs);
    }
    if certs.len() < needed {
        return Err(Error::alert(
            AlertDescription::BAD_CERTIFICATE,
            "client sent no encryption certificate, which ECDHE needs",
        ));
    }
    let anchors = cfg.client_auth.roots().map(|r| r.anchors());
    // With one certificate (ECC suites) only the signing one is checked.
    let checked = if certs.len() == 1 {
        &certs[..1]
    } else {
        &certs[..]
    };
    verify_pair(checked, anchors, Peer::Client, None)?;
    Ok(certs)
}

/// ECC: the client encrypted the pre-master secret to our encryption certificate.
/// A decryption failure or a wrong version inside does not stop the handshake here:
/// a random secret takes its place and the Finished check fails, so the client learns
/// nothing about why (the RFC 5246 7.4.7.1 defence, which GB/T 38636 6.4.5.8 keeps).
fn ecc_pre_master(cfg: &ServerConfig, cke: &[u8]) -> Result<Vec<u8>, Error> {
    let mut r = Reader::new(cke, "ClientKeyExchange");
    let ciphertext = r.vec16()?;
    r.finish()?;
    let mut fallback = vec![0u8; SECRET_LEN];
    random::fill(&mut fallback);
    Ok(match encrypt::decrypt(cfg.enc.key(), ciphertext) {
        Ok(pm) if pm.len() == SECRET_LEN && pm[..2] == VERSION.to_be_bytes() => pm,
        _ => fallback,
    })
}

/// ECDHE: SM2 key agreement (GB/T 32918.3) with the server as initiator, as Tongsuo
/// does it, from both sides' encryption keys and ephemeral keys.
fn ecdhe_pre_master(
    cfg: &ServerConfig,
    own: &EphemeralKey,
    peer: &[CertificateDer<'static>],
    cke: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut r = Reader::new(cke, "ClientKeyExchange");
    // Tongsuo accepts the parameters with or without GB/T 38636's 2-byte length.
    if cke.len() >= 2 && usize::from(u16::from_be_bytes([cke[0], cke[1]])) == cke.len() - 2 {
        r.u16()?;
    }
    let point = messages::read_ecdhe_point(&mut r)?;
    r.finish()?;
    let illegal = |what: &str| Error::alert(AlertDescription::ILLEGAL_PARAMETER, what.to_string());
    let peer_ephemeral = public_key_from_sec1(point).map_err(|_| illegal("client ECDHE point"))?;
    let peer_enc = public_key_from_cert(&peer[1])
        .map_err(|e| Error::alert(AlertDescription::BAD_CERTIFICATE, e.to_string()))?;
    KeyAgreement {
        own_key: cfg.enc.key(),
        own_id: DEFAULT_ID,
        peer_key: &peer_enc,
        peer_id: DEFAULT_ID,
        initiator: true,
    }
    .derive(own, &peer_ephemeral, SECRET_LEN)
    .map_err(|_| illegal("SM2 key agreement failed"))
}
