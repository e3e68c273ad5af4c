//! The network filter: what a listener hands each accepted connection to.

use crate::socket::Socket;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

/// Facts about an accepted connection that filters, routing and logs read.
#[derive(Debug, Clone, Default)]
pub struct ConnectionInfo {
    /// The listener's `name`. An `Arc<String>` rather than `Arc<str>`: a thin pointer,
    /// 8 bytes less in the state every connection keeps.
    pub listener: Arc<String>,
    /// The client's address (`None` for Unix sockets).
    pub remote: Option<SocketAddr>,
    /// The address the client connected to (`None` for Unix sockets).
    pub local: Option<SocketAddr>,
    /// Where the client meant to connect before an iptables REDIRECT brought it here
    /// (`SO_ORIGINAL_DST`), on `use_original_dst` listeners only. Boxed: 8 bytes
    /// instead of 32 in every connection's state, for a fact few listeners have.
    pub original_dst: Option<Box<SocketAddr>>,
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
    /// Serves one connection until it closes, on a task of its own spawned on the current
    /// runtime (see [`spawn_guarded`]) that holds `guard` until then.
    ///
    /// The filter spawns rather than returning a boxed future so that the connection's
    /// state sits inline in its task: one allocation per connection instead of a task
    /// plus a box, which is most of what an idle keep-alive connection costs.
    fn spawn(self: Arc<Self>, socket: Socket, info: ConnectionInfo, guard: ConnectionGuard);
}

/// Counts a worker's open connections, so draining knows when it is done.
#[derive(Debug, Default)]
pub struct OpenConnections(AtomicUsize);

impl OpenConnections {
    /// How many connections are open.
    pub fn count(&self) -> usize {
        self.0.load(Relaxed)
    }

    /// Counts one more connection until the returned guard is dropped.
    pub fn open(self: &Arc<Self>) -> ConnectionGuard {
        self.0.fetch_add(1, Relaxed);
        ConnectionGuard(self.clone())
    }
}

/// Keeps one connection counted in [`OpenConnections`] while its task lives.
#[derive(Debug)]
pub struct ConnectionGuard(Arc<OpenConnections>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Relaxed);
    }
}

pin_project_lite::pin_project! {
    /// A connection's future with its guard, released when the future ends.
    struct Guarded<F> {
        #[pin]
        serving: F,
        guard: ConnectionGuard,
    }
}

impl<F: Future<Output = ()>> Future for Guarded<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().serving.poll(cx)
    }
}

/// Spawns `serving` on the current runtime as the connection's task, holding `guard`
/// until it ends. A wrapper type, not an `async` block: a block awaiting a captured
/// future keeps it twice in its state.
pub fn spawn_guarded<F>(serving: F, guard: ConnectionGuard)
where
    F: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(Guarded { serving, guard });
}
