//! Arbitrary bytes as everything a TLCP peer sends, fed to one side's handshake (the first
//! byte chooses: even, the server; odd, the client): it answers or refuses, never panics.
//! The server trusts the shared test CA and asks for optional client certificates, the
//! client trusts the same CA and has its pairs, so certificate parsing and chain
//! verification are in reach on both sides, not just the hellos.
#![no_main]

use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use libfuzzer_sys::fuzz_target;
use tlcp::{CertifiedKey, ClientAuth, ClientConfig, RootCerts, ServerConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::runtime::Runtime;

macro_rules! cert {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/testdata/gmtls/certs/",
            $name
        ))
    };
}

/// The server's configuration, built once from the shared test certificates.
fn config() -> Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let sign = CertifiedKey::from_pem(cert!("server_sign.crt"), cert!("server_sign.key"));
            let enc = CertifiedKey::from_pem(cert!("server_enc.crt"), cert!("server_enc.key"));
            let roots = RootCerts::from_pem(cert!("ca.crt")).expect("shared CA");
            let auth = ClientAuth::Optional(roots);
            let config = ServerConfig::new(
                sign.expect("sign pair"),
                enc.expect("enc pair"),
                vec![],
                auth,
            );
            Arc::new(config.expect("server config"))
        })
        .clone()
}

/// The client's configuration: the shared CA, the client's pairs, every suite.
fn client_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let sign = CertifiedKey::from_pem(cert!("client_sign.crt"), cert!("client_sign.key"));
            let enc = CertifiedKey::from_pem(cert!("client_enc.crt"), cert!("client_enc.key"));
            let roots = RootCerts::from_pem(cert!("ca.crt")).expect("shared CA");
            let config = ClientConfig::new(Some(roots), vec![])
                .with_client_certs(sign.expect("sign pair"), enc.expect("enc pair"));
            Arc::new(config.expect("client config"))
        })
        .clone()
}

/// One current-thread runtime for every input.
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("tokio runtime")
    })
}

/// The client's side of the connection: reads yield the fuzz input, then the end; what
/// the server writes is dropped. Never pending, so a handshake cannot hang.
struct Replay<'a> {
    input: &'a [u8],
}

impl AsyncRead for Replay<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.input.len().min(buf.remaining());
        buf.put_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Replay<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&side, input)) = data.split_first() else {
        return;
    };
    let peer = Replay { input };
    runtime().block_on(async move {
        // Should the input ever complete a handshake, read what follows too.
        let stream = if side % 2 == 0 {
            tlcp::accept(config(), peer).await
        } else {
            tlcp::connect(client_config(), Some("localhost"), peer).await
        };
        if let Ok(mut stream) = stream {
            let _ = stream.read_to_end(&mut Vec::new()).await;
        }
    });
});
