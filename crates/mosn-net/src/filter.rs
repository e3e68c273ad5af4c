//! The network filter: what a listener hands each accepted connection to.

use crate::socket::Socket;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

/// Facts about an accepted connection that filters, routing and logs read.
#[derive(Debug, Clone, Default)]
pub struct ConnectionInfo {
    /// The listener's `name`.
    pub listener: Arc<str>,
    /// The client's address (`None` for Unix sockets).
    pub remote: Option<SocketAddr>,
    /// The address the client connected to (`None` for Unix sockets).
    pub local: Option<SocketAddr>,
    /// Where the client meant to connect before an iptables REDIRECT brought it here
    /// (`SO_ORIGINAL_DST`), on `use_original_dst` listeners only.
    pub original_dst: Option<SocketAddr>,
    /// The TLS facts, `None` for plaintext connections (the handshake is done when a
    /// filter sees it). Behind one pointer: every connection carries this struct, most of
    /// them without TLS.
    pub tls: Option<Arc<TlsInfo>>,
}

/// What the TLS handshake of a connection settled.
#[derive(Debug, Clone, Default)]
pub struct TlsInfo {
    /// The SNI the client sent in its ClientHello, lower-case.
    pub sni: Option<Arc<str>>,
    /// The negotiated ALPN protocol (`b"h2"`, `b"http/1.1"`), `None` when the client
    /// offered none or the listener accepts none. The HTTP layer picks its codec by it:
    /// `h2` means HTTP/2.
    pub alpn: Option<Arc<[u8]>>,
    /// The verified client certificate's identity: its first `spiffe://` URI SAN (else
    /// its first URI SAN); `None` without a client certificate.
    pub peer_identity: Option<Arc<str>>,
}

impl ConnectionInfo {
    /// True when the connection is TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The ALPN protocol the TLS handshake agreed on, if any.
    pub fn alpn(&self) -> Option<&[u8]> {
        self.tls.as_ref().and_then(|t| t.alpn.as_deref())
    }
}

/// A network filter that takes ownership of an accepted connection and serves it to the
/// end (`proxy`, `tcp_proxy`). One filter instance serves every connection of a listener
/// on a worker; under the work-stealing I/O model a connection's task may move between
/// threads, so filters and what they serve with are `Send`.
pub trait NetworkFilter: Send + Sync {
    /// Serves one connection until it closes.
    fn serve(
        self: Arc<Self>,
        socket: Socket,
        info: ConnectionInfo,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}
