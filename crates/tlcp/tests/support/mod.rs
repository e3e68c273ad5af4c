//! Helpers shared by the tlcp integration tests: the shared SM2 test certificates and
//! configs built from them, a timeout for every test, assertions on the alert each side
//! reports, a transport wrapper that never half-closes, and a record-aware relay that can
//! rewrite records on their way between client and server.
// Every test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use tlcp::{
    AlertDescription, CertifiedKey, CipherSuite, ClientAuth, ClientConfig, Error, RootCerts,
    ServerConfig, TlcpStream,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The SM2 CA and TLCP double certificates shared with the interop scripts (Tongsuo-made).
pub const SHARED_CERTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/gmtls/certs"
);
/// Certificates only these tests use (see tests/certs/README.md).
pub const LOCAL_CERTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/certs");
/// Captured Tongsuo-to-Tongsuo connections.
pub const CAPTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/gmtls"
);

/// How long any one test may run before it counts as hung.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Room in each in-memory pipe: more than any handshake flight, so a side that fails and
/// drops its end never makes the other side's pending write fail before it reads the alert.
pub const PIPE: usize = 1 << 20;

/// The plaintext record of fatal `alert`: `15 01 01 00 02 02 <description>`.
pub fn fatal_alert_record(alert: AlertDescription) -> [u8; 7] {
    [0x15, 0x01, 0x01, 0x00, 0x02, 0x02, alert.0]
}

/// Runs `fut`, failing the test if it takes longer than [`TEST_TIMEOUT`].
pub async fn bounded<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(TEST_TIMEOUT, fut)
        .await
        .expect("test timed out")
}

/// Reads `name` from directory `dir`.
pub fn read(dir: &str, name: &str) -> Vec<u8> {
    std::fs::read(format!("{dir}/{name}")).unwrap_or_else(|e| panic!("{dir}/{name}: {e}"))
}

/// The shared certificate `name` (e.g. `server_sign`) with its key.
pub fn pair(name: &str) -> CertifiedKey {
    CertifiedKey::from_pem(
        &read(SHARED_CERTS, &format!("{name}.crt")),
        &read(SHARED_CERTS, &format!("{name}.key")),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The DER of the shared certificate `name`, as a peer sees it.
pub fn leaf(name: &str) -> CertificateDer<'static> {
    pair(name).chain()[0].clone()
}

/// The shared CA, which issued every shared certificate.
pub fn roots() -> RootCerts {
    RootCerts::from_pem(&read(SHARED_CERTS, "ca.crt")).expect("shared CA")
}

/// A CA that issued none of the certificates the peers use.
pub fn untrusted_roots() -> RootCerts {
    RootCerts::from_pem(&read(LOCAL_CERTS, "untrusted_ca.crt")).expect("untrusted CA")
}

/// A server with the shared server pairs, allowing `suites`.
pub fn server_config(suites: &[CipherSuite], auth: ClientAuth) -> Arc<ServerConfig> {
    Arc::new(
        ServerConfig::new(
            pair("server_sign"),
            pair("server_enc"),
            suites.to_vec(),
            auth,
        )
        .expect("server config"),
    )
}

/// A client trusting the shared CA, offering `suites`, with the shared client pairs when
/// `certs`.
pub fn client_config(suites: &[CipherSuite], certs: bool) -> Arc<ClientConfig> {
    client_config_trusting(roots(), suites, certs)
}

/// A client trusting `roots`, offering `suites`, with the shared client pairs when `certs`.
pub fn client_config_trusting(
    roots: RootCerts,
    suites: &[CipherSuite],
    certs: bool,
) -> Arc<ClientConfig> {
    let config = ClientConfig::new(Some(roots), suites.to_vec());
    let config = if certs {
        config
            .with_client_certs(pair("client_sign"), pair("client_enc"))
            .expect("client certs")
    } else {
        config
    };
    Arc::new(config)
}

/// The two ends of a handshake: the server's result, then the client's.
pub type Outcome<IO> = (Result<TlcpStream<IO>, Error>, Result<TlcpStream<IO>, Error>);

/// Runs `accept` and `connect` against each other over an in-memory pipe; the client
/// checks the server's certificate against `name`.
pub async fn handshake(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    name: Option<&str>,
) -> Outcome<DuplexStream> {
    let (client_io, server_io) = tokio::io::duplex(PIPE);
    handshake_over(server, client, name, client_io, server_io).await
}

/// Runs `accept` on `server_io` and `connect` on `client_io` concurrently.
pub async fn handshake_over<IO: AsyncRead + AsyncWrite + Unpin>(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    name: Option<&str>,
    client_io: IO,
    server_io: IO,
) -> Outcome<IO> {
    tokio::join!(
        tlcp::accept(server, server_io),
        tlcp::connect(client, name, client_io)
    )
}

/// Two connected loopback TCP sockets: (client end, server end).
pub async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (client.expect("connect"), accepted.expect("accept").0)
}

/// The TLCP error inside an I/O error from a [`TlcpStream`] read or write.
pub fn tlcp_error(e: &io::Error) -> &Error {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<Error>())
        .unwrap_or_else(|| panic!("not a TLCP error: {e:?}"))
}

/// Asserts this side failed on its own finding and sent `alert`.
#[track_caller]
pub fn assert_sent(e: &Error, alert: AlertDescription) {
    match e {
        Error::Protocol { alert: sent, .. } if *sent == alert => {}
        other => panic!("expected to send {alert}, got {other:?}"),
    }
}

/// Asserts this side failed because the peer sent `alert`.
#[track_caller]
pub fn assert_received(e: &Error, alert: AlertDescription) {
    match e {
        Error::PeerAlert(got) if *got == alert => {}
        other => panic!("expected to receive {alert}, got {other:?}"),
    }
}

/// The error of a result that must have failed.
#[track_caller]
pub fn failed<T>(r: Result<T, Error>, side: &str) -> Error {
    match r {
        Ok(_) => panic!("the {side} handshake succeeded"),
        Err(e) => e,
    }
}

/// Asserts a handshake failed with the server sending `alert` and the client receiving
/// it.
#[track_caller]
pub fn assert_server_refused<IO>(outcome: Outcome<IO>, alert: AlertDescription) {
    let (server, client) = outcome;
    assert_sent(&failed(server, "server"), alert);
    assert_received(&failed(client, "client"), alert);
}

/// Asserts a handshake failed with the client sending `alert` and the server receiving
/// it.
#[track_caller]
pub fn assert_client_refused<IO>(outcome: Outcome<IO>, alert: AlertDescription) {
    let (server, client) = outcome;
    assert_sent(&failed(client, "client"), alert);
    assert_received(&failed(server, "server"), alert);
}

/// `len` bytes of a pattern that differs per `seed` and does not repeat every record, so
/// reordered, dropped or duplicated records would show.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed) | 0x9e37_0000;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A transport whose shutdown only flushes: the peer never sees the transport end, so
/// when its TLCP reader reports end of stream, that can only be the close_notify alert.
pub struct KeepOpen<T>(pub T);

impl<T: AsyncRead + Unpin> AsyncRead for KeepOpen<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for KeepOpen<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
}

// ---- records on the wire ----

/// Record content types.
pub const CHANGE_CIPHER_SPEC: u8 = 20;
pub const ALERT: u8 = 21;
pub const HANDSHAKE: u8 = 22;
pub const APPLICATION_DATA: u8 = 23;

/// Handshake message types.
pub const CLIENT_HELLO: u8 = 1;
pub const SERVER_HELLO: u8 = 2;
pub const CERTIFICATE: u8 = 11;
pub const SERVER_KEY_EXCHANGE: u8 = 12;
pub const CERTIFICATE_REQUEST: u8 = 13;
pub const SERVER_HELLO_DONE: u8 = 14;
pub const CLIENT_KEY_EXCHANGE: u8 = 16;

/// The length of the whole record (header included) at the start of `buf`, once all of
/// it is there.
pub fn whole_record_len(buf: &[u8]) -> Option<usize> {
    let len = 5 + usize::from(u16::from_be_bytes([*buf.get(3)?, *buf.get(4)?]));
    (buf.len() >= len).then_some(len)
}

/// One record: content type, record version and fragment.
pub struct Record<'a> {
    pub typ: u8,
    pub version: u16,
    pub fragment: &'a [u8],
}

/// Splits a byte stream into its whole records (a trailing partial record is left out).
pub fn records(mut bytes: &[u8]) -> Vec<Record<'_>> {
    let mut out = Vec::new();
    while let Some(len) = whole_record_len(bytes) {
        out.push(Record {
            typ: bytes[0],
            version: u16::from_be_bytes([bytes[1], bytes[2]]),
            fragment: &bytes[5..len],
        });
        bytes = &bytes[len..];
    }
    out
}

/// The handshake messages (type, body) carried by plaintext handshake records.
pub fn handshake_messages(records: &[Record<'_>]) -> Vec<(u8, Vec<u8>)> {
    let mut data = Vec::new();
    for r in records {
        if r.typ == CHANGE_CIPHER_SPEC {
            break;
        }
        if r.typ == HANDSHAKE {
            data.extend_from_slice(r.fragment);
        }
    }
    let mut out = Vec::new();
    let mut rest = &data[..];
    while rest.len() >= 4 {
        let len = usize::from(rest[1]) << 16 | usize::from(rest[2]) << 8 | usize::from(rest[3]);
        if rest.len() < 4 + len {
            break;
        }
        out.push((rest[0], rest[4..4 + len].to_vec()));
        rest = &rest[4 + len..];
    }
    out
}

/// The certificates of a Certificate message body.
pub fn certificate_list(body: &[u8]) -> Vec<Vec<u8>> {
    let u24 = |b: &[u8]| usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]);
    let mut rest = &body[3..3 + u24(body)];
    let mut certs = Vec::new();
    while !rest.is_empty() {
        let len = u24(rest);
        certs.push(rest[3..3 + len].to_vec());
        rest = &rest[3 + len..];
    }
    certs
}

/// The type of the first handshake message in a record, if it is a handshake record
/// (meaningful before ChangeCipherSpec, while records are plaintext).
pub fn handshake_type(record: &[u8]) -> Option<u8> {
    (record[0] == HANDSHAKE && record.len() > 5).then(|| record[5])
}

/// Reads everything `io` yields until its end.
pub async fn read_to_end<R: AsyncRead + Unpin>(io: &mut R) -> Vec<u8> {
    let mut out = Vec::new();
    io.read_to_end(&mut out).await.expect("read to end");
    out
}

// ---- the relay ----

/// Sees each whole record (header included) going one way and may rewrite it in place.
pub type Edit = Box<dyn FnMut(&mut [u8]) + Send>;

/// An [`Edit`] that forwards every record as it is.
pub fn unchanged() -> Edit {
    Box::new(|_| {})
}

/// An [`Edit`] that applies `change` to the first record `pick` selects, and to no other.
pub fn edit_first(
    mut pick: impl FnMut(&[u8]) -> bool + Send + 'static,
    mut change: impl FnMut(&mut [u8]) + Send + 'static,
) -> Edit {
    let mut done = false;
    Box::new(move |record| {
        if !done && pick(record) {
            change(record);
            done = true;
        }
    })
}

/// A man in the middle: returns the transports of the client and of the server, joined by
/// two tasks that forward whole records, passing each through `c2s` or `s2c` first. When
/// one side's input ends, the other side's output is shut down after the last byte; when
/// one side has gone, what is sent to it is swallowed, so the sender's writes never fail
/// before it has read the alert it is owed.
pub fn relay(c2s: Edit, s2c: Edit) -> (DuplexStream, DuplexStream) {
    let (client_io, relay_client) = tokio::io::duplex(PIPE);
    let (server_io, relay_server) = tokio::io::duplex(PIPE);
    let (from_client, to_client) = tokio::io::split(relay_client);
    let (from_server, to_server) = tokio::io::split(relay_server);
    tokio::spawn(pump(from_client, to_server, c2s));
    tokio::spawn(pump(from_server, to_client, s2c));
    (client_io, server_io)
}

/// One direction of [`relay`].
async fn pump<R, W>(mut from: R, to: W, mut edit: Edit)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut to = Some(to);
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = from.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Some(len) = whole_record_len(&buf) {
            let mut record: Vec<u8> = buf.drain(..len).collect();
            edit(&mut record);
            if let Some(w) = &mut to {
                if w.write_all(&record).await.is_err() {
                    to = None;
                }
            }
        }
    }
    if let Some(mut w) = to {
        let _ = w.write_all(&buf).await;
        let _ = w.shutdown().await;
    }
}
