//! The client side of the TLCP handshake: ClientHello, the server's double certificate
//! and signed key exchange checked, then our key exchange (an SM2-encrypted pre-master
//! secret, or SM2 key agreement), our certificates when asked, and Finished.

use std::sync::Arc;

use gm_crypto::hash::sm3;
use gm_crypto::sm2::exchange::{EphemeralKey, KeyAgreement};
use gm_crypto::sm2::keys::{public_key_from_cert, public_key_from_sec1};
use gm_crypto::sm2::{encrypt, sign, PublicKey, DEFAULT_ID};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::codec::{put_u24, put_vec, Reader};
use crate::config::ClientConfig;
use crate::conn::{RecordIo, Side};
use crate::error::{AlertDescription, Error};
use crate::keys::{master_secret, record_states, SECRET_LEN};
use crate::messages::{self, kind, ClientHello, ServerHello};
use crate::random;
use crate::record::VERSION;
use crate::stream::{Session, TlcpStream};
use crate::suite::CipherSuite;
use crate::verify::{verify_pair, Peer};

/// Runs the client handshake on `io`. With `server_name`, the server's signing
/// certificate must be valid for it (a DNS name or an IP address).
pub async fn connect<IO>(
    config: Arc<ClientConfig>,
    server_name: Option<&str>,
    io: IO,
) -> Result<TlcpStream<IO>, Error>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    // Checked before the transport is touched: a handshake that cannot start sends
    // nothing, not an internal_error alert where the server expects a ClientHello.
    if config.offered().next().is_none() {
        return Err(Error::Config(
            "no cipher suite to offer: the ECDHE suites need client certificates".into(),
        ));
    }
    let mut conn = RecordIo::new(io);
    match handshake(&config, server_name, &mut conn).await {
        Ok(session) => Ok(TlcpStream::new(conn, session)),
        Err(e) => {
            conn.fail(&e).await;
            Err(e)
        }
    }
}

async fn handshake<IO>(
    cfg: &ClientConfig,
    server_name: Option<&str>,
    c: &mut RecordIo<IO>,
) -> Result<Session, Error>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let offered: Vec<u16> = cfg.offered().map(CipherSuite::id).collect();
    let client_random = random::hello_random();
    c.send_handshake(
        kind::CLIENT_HELLO,
        &ClientHello::encode(&client_random, &offered),
    );
    c.flush().await?;

    let hello = ServerHello::decode(&c.expect(kind::SERVER_HELLO, "ServerHello").await?)?;
    if hello.version != VERSION {
        return Err(Error::alert(
            AlertDescription::PROTOCOL_VERSION,
            format!(
                "server answers version {:#06x}, not TLCP 0x0101",
                hello.version
            ),
        ));
    }
    let suite = CipherSuite::from_id(hello.suite)
        .filter(|s| offered.contains(&s.id()))
        .ok_or_else(|| {
            Error::alert(
                AlertDescription::ILLEGAL_PARAMETER,
                format!(
                    "server picked suite {:#06x}, which was not offered",
                    hello.suite
                ),
            )
        })?;
    let server_random = hello.random;

    let certs = messages::decode_certificates(&c.expect(kind::CERTIFICATE, "Certificate").await?)?;
    if certs.len() < 2 {
        return Err(Error::alert(
            AlertDescription::BAD_CERTIFICATE,
            format!(
                "server sent {} certificate(s); TLCP needs a signing and an encryption one",
                certs.len()
            ),
        ));
    }
    let name = server_name.filter(|_| cfg.roots.is_some());
    verify_pair(
        &certs,
        cfg.roots.as_ref().map(|r| r.anchors()),
        Peer::Server,
        name,
    )?;
    let bad_cert =
        |e: gm_crypto::Error| Error::alert(AlertDescription::BAD_CERTIFICATE, e.to_string());
    let server_sign = public_key_from_cert(&certs[0]).map_err(bad_cert)?;
    let server_enc = public_key_from_cert(&certs[1]).map_err(bad_cert)?;

    // ServerKeyExchange: the server's ECDHE point, or nothing, signed.
    let ske = c
        .expect(kind::SERVER_KEY_EXCHANGE, "ServerKeyExchange")
        .await?;
    let mut r = Reader::new(&ske, "ServerKeyExchange");
    let (params, server_point) = if suite.is_ecdhe() {
        let point = messages::read_ecdhe_point(&mut r)?;
        (ske[..4 + point.len()].to_vec(), Some(point.to_vec()))
    } else {
        let mut p = Vec::with_capacity(certs[1].len() + 3);
        put_u24(&mut p, certs[1].len());
        p.extend_from_slice(&certs[1]);
        (p, None)
    };
    let signature = r.vec16()?;
    r.finish()?;
    let tbs = [&client_random[..], &server_random, &params].concat();
    sign::verify(&server_sign, DEFAULT_ID, &tbs, signature).map_err(|_| {
        Error::alert(
            AlertDescription::DECRYPT_ERROR,
            "ServerKeyExchange signature does not verify with the signing certificate",
        )
    })?;

    let (next, msg) = c.read_handshake().await?;
    c.transcript.extend_from_slice(&msg);
    let asked = next == kind::CERTIFICATE_REQUEST;
    if asked {
        messages::check_certificate_request(&msg[4..])?;
        c.expect(kind::SERVER_HELLO_DONE, "ServerHelloDone").await?;
    } else if next != kind::SERVER_HELLO_DONE {
        return Err(Error::alert(
            AlertDescription::UNEXPECTED_MESSAGE,
            format!("expected ServerHelloDone, got handshake message type {next}"),
        ));
    }

    // Our certificates, when asked: signing, encryption, then the signing chain.
    let ours = cfg.certs.as_ref().filter(|_| asked);
    if asked {
        let list: Vec<&[u8]> = match ours {
            Some((sign, enc)) => std::iter::once(&sign.chain()[0])
                .chain(std::iter::once(&enc.chain()[0]))
                .chain(&sign.chain()[1..])
                .map(|c| c.as_ref())
                .collect(),
            None => Vec::new(),
        };
        c.send_handshake(kind::CERTIFICATE, &messages::encode_certificates(list));
    }

    let (cke, pre_master) = match server_point {
        Some(point) => ecdhe_exchange(cfg, &server_enc, &point)?,
        None => ecc_exchange(&server_enc)?,
    };
    c.send_handshake(kind::CLIENT_KEY_EXCHANGE, &cke);

    if let Some((sign_pair, _)) = ours {
        let hash = sm3(&c.transcript);
        let sig = sign::sign(sign_pair.key(), DEFAULT_ID, &hash)
            .map_err(|e| Error::Config(e.to_string()))?;
        let mut body = Vec::new();
        put_vec(&mut body, 2, &sig);
        c.send_handshake(kind::CERTIFICATE_VERIFY, &body);
    }

    let master = master_secret(&pre_master, &client_random, &server_random);
    let (client_write, server_write) =
        record_states(suite, &master, &client_random, &server_random);
    c.change_cipher_spec(client_write);
    c.send_finished(&master, Side::Client);
    c.flush().await?;

    c.read_change_cipher_spec().await?;
    c.rx = server_write;
    c.expect_finished(&master, Side::Server).await?;
    Ok(Session { suite, peer: certs })
}

/// ECC: a fresh pre-master secret (version, then 46 random bytes) encrypted to the
/// server's encryption certificate.
fn ecc_exchange(server_enc: &PublicKey) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let mut pre_master = vec![0u8; SECRET_LEN];
    random::fill(&mut pre_master[2..]);
    pre_master[..2].copy_from_slice(&VERSION.to_be_bytes());
    let ciphertext =
        encrypt::encrypt(server_enc, &pre_master).map_err(|e| Error::Config(e.to_string()))?;
    let mut cke = Vec::with_capacity(ciphertext.len() + 2);
    put_vec(&mut cke, 2, &ciphertext);
    Ok((cke, pre_master))
}

/// ECDHE: our ephemeral point, and SM2 key agreement as the responder.
fn ecdhe_exchange(
    cfg: &ClientConfig,
    server_enc: &PublicKey,
    server_point: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let (_, enc) = cfg
        .certs
        .as_ref()
        .ok_or_else(|| Error::Config("ECDHE needs client certificates".into()))?;
    let peer_ephemeral = public_key_from_sec1(server_point).map_err(|_| {
        Error::alert(
            AlertDescription::ILLEGAL_PARAMETER,
            "server ECDHE point is not on SM2",
        )
    })?;
    let own = EphemeralKey::generate();
    let pre_master = KeyAgreement {
        own_key: enc.key(),
        own_id: DEFAULT_ID,
        peer_key: server_enc,
        peer_id: DEFAULT_ID,
        initiator: false,
    }
    .derive(&own, &peer_ephemeral, SECRET_LEN)
    .map_err(|_| {
        Error::alert(
            AlertDescription::ILLEGAL_PARAMETER,
            "SM2 key agreement failed",
        )
    })?;
    Ok((messages::encode_ecdhe_point(&own.public_sec1()), pre_master))
}
