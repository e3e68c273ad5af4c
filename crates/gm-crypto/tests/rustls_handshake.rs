//! rustls client and server, both on the RFC 8998 provider, over loopback TCP: each
//! suite negotiates, data flows, and the client checks the SM2 chain.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;

use gm_crypto::provider::{provider, TLS_SM4_CCM_SM3, TLS_SM4_GCM_SM3};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{
    ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection, StreamOwned,
    SupportedCipherSuite,
};

fn certs(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/gmtls/certs")
        .join(name)
}

fn server_config() -> Arc<ServerConfig> {
    let chain = vec![CertificateDer::from_pem_file(certs("server_sign.crt")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(certs("server_sign.key")).unwrap();
    let cfg = ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    Arc::new(cfg)
}

fn client_config(suite: SupportedCipherSuite, root: &str) -> Arc<ClientConfig> {
    let mut p = provider();
    p.cipher_suites = vec![suite];
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(certs(root)).unwrap())
        .unwrap();
    let cfg = ClientConfig::builder_with_provider(Arc::new(p))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(cfg)
}

/// Runs one connection; returns what the client read back (the server echoes reversed).
fn run(
    client: Arc<ClientConfig>,
) -> Result<(Vec<u8>, Option<rustls::CipherSuite>), std::io::Error> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = server_config();
    let srv = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut tls = StreamOwned::new(ServerConnection::new(server).unwrap(), tcp);
        let mut buf = [0u8; 5];
        if tls.read_exact(&mut buf).is_ok() {
            buf.reverse();
            let _ = tls.write_all(&buf);
            let _ = tls.flush();
        }
    });
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = StreamOwned::new(ClientConnection::new(client, name).unwrap(), tcp);
    let result = tls.write_all(b"hello").and_then(|_| {
        let mut back = [0u8; 5];
        tls.read_exact(&mut back)?;
        Ok(back.to_vec())
    });
    let suite = tls.conn.negotiated_cipher_suite().map(|s| s.suite());
    drop(tls);
    srv.join().unwrap();
    result.map(|r| (r, suite))
}

#[test]
fn both_suites_handshake_and_carry_data() {
    for suite in [TLS_SM4_GCM_SM3, TLS_SM4_CCM_SM3] {
        let (back, negotiated) = run(client_config(suite, "ca.crt")).unwrap();
        assert_eq!(back, b"olleh");
        assert_eq!(negotiated, Some(suite.suite()));
    }
}

#[test]
fn wrong_root_is_refused() {
    let err = run(client_config(TLS_SM4_GCM_SM3, "client_sign.crt")).unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
}
