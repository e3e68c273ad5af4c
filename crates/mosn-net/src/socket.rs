//! One socket type for TCP, Unix and TLS-over-TCP connections, both directions.

use mosn_config::{Address, TcpKeepalive};
use mosn_tls::rustls::ConnectionCommon;
use mosn_tls::tlcp::TlcpStream;
use mosn_tls::tokio_rustls::{client, server};
use mosn_tls::{ClientStream, ClientTls};
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

/// A connected stream socket: TCP, Unix, or TLS over TCP. Every layer above reads and
/// writes it the same way.
#[derive(Debug)]
pub enum Socket {
    /// TCP, with Nagle disabled.
    Tcp(TcpStream),
    /// Unix domain stream socket.
    Unix(UnixStream),
    /// An accepted TLS connection (handshake done).
    TlsServer(Box<server::TlsStream<TcpStream>>),
    /// An upstream TLS connection (handshake done).
    TlsClient(Box<client::TlsStream<TcpStream>>),
    /// A TLCP (GB/T 38636) connection, accepted or upstream (handshake done).
    Tlcp(Box<TlcpStream<TcpStream>>),
}

/// Why an outgoing connection failed, so the proxy can answer 502 or 504.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// `connect_timeout` elapsed (connect and TLS handshake together).
    #[error("connect timeout")]
    Timeout,
    /// The TLS handshake failed (bad certificate, no common protocol...).
    #[error("TLS handshake failed: {0}")]
    Tls(io::Error),
    /// The connect itself failed (refused, unreachable...).
    #[error("connect failed: {0}")]
    Failed(#[from] io::Error),
}

/// Connects to `addr` within `timeout`.
pub async fn connect(addr: &Address, timeout: Duration) -> Result<Socket, ConnectError> {
    connect_with(addr, timeout, None).await
}

/// Connects to `addr` and, with `tls` (the cluster's context and the SNI fallback name),
/// handshakes; both within `timeout`.
pub async fn connect_with(
    addr: &Address,
    timeout: Duration,
    tls: Option<(&ClientTls, &str)>,
) -> Result<Socket, ConnectError> {
    connect_with_keepalive(addr, timeout, tls, None).await
}

/// [`connect_with`], turning TCP keepalive on (a cluster's `tcp_keepalive`) before any TLS
/// handshake; failing to set it fails the connect, as in Envoy. A Unix socket has no TCP
/// to probe, so `keepalive` does not apply to it.
pub async fn connect_with_keepalive(
    addr: &Address,
    timeout: Duration,
    tls: Option<(&ClientTls, &str)>,
    keepalive: Option<&TcpKeepalive>,
) -> Result<Socket, ConnectError> {
    let fut = async {
        let tcp = match addr {
            Address::Tcp(sa) => {
                let s = TcpStream::connect(sa).await?;
                s.set_nodelay(true)?;
                if let Some(keepalive) = keepalive {
                    set_keepalive(&s, keepalive)?;
                }
                s
            }
            Address::Unix(path) => return Ok(Socket::Unix(UnixStream::connect(path).await?)),
        };
        match tls {
            None => Ok(Socket::Tcp(tcp)),
            Some((tls, name)) => tls
                .connect(tcp, name)
                .await
                .map(|s| match s {
                    ClientStream::Tls(s) => Socket::TlsClient(s),
                    ClientStream::Tlcp(s) => Socket::Tlcp(s),
                })
                .map_err(ConnectError::Tls),
        }
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(ConnectError::Timeout),
    }
}

/// `SO_KEEPALIVE` on, and the settings `keepalive` gives; the others stay the kernel's.
fn set_keepalive(tcp: &TcpStream, keepalive: &TcpKeepalive) -> io::Result<()> {
    let mut options = socket2::TcpKeepalive::new();
    if let Some(time) = keepalive.time {
        options = options.with_time(time);
    }
    if let Some(interval) = keepalive.interval {
        options = options.with_interval(interval);
    }
    if let Some(probes) = keepalive.probes {
        options = options.with_retries(probes);
    }
    socket2::SockRef::from(tcp).set_tcp_keepalive(&options)
}

impl Socket {
    /// The TCP stream of a plain TCP socket, for zero-copy relaying
    /// ([`crate::splice_one_way`]); `None` for Unix and TLS sockets.
    pub fn as_tcp(&self) -> Option<&TcpStream> {
        match self {
            Socket::Tcp(s) => Some(s),
            _ => None,
        }
    }

    /// Waits until the socket has bytes (or EOF) to read, without holding a buffer, so an
    /// idle keep-alive connection costs no read buffer memory. For TLS, pending output is
    /// flushed first, and decrypted bytes already buffered count as readable.
    ///
    /// Waits through `poll_read_ready` (the waker sits in the socket's registration), not
    /// through a `readable()` future (~150 B that every idle connection would carry).
    pub async fn readable(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_readable(cx)).await
    }

    /// [`Self::readable`] as a poll function, for waits that keep no state of their own.
    pub fn poll_readable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Socket::Tcp(s) => s.poll_read_ready(cx),
            Socket::Unix(s) => s.poll_read_ready(cx),
            Socket::TlsServer(s) => {
                // Pending output first (see `flush_then_read`).
                ready!(Pin::new(&mut **s).poll_flush(cx))?;
                let (tcp, conn) = s.get_mut();
                if has_buffered_input(conn) {
                    return Poll::Ready(Ok(()));
                }
                tcp.poll_read_ready(cx)
            }
            Socket::TlsClient(s) => {
                ready!(Pin::new(&mut **s).poll_flush(cx))?;
                let (tcp, conn) = s.get_mut();
                if has_buffered_input(conn) {
                    return Poll::Ready(Ok(()));
                }
                tcp.poll_read_ready(cx)
            }
            Socket::Tlcp(s) => {
                ready!(Pin::new(&mut **s).poll_flush(cx))?;
                if s.has_buffered_input() {
                    return Poll::Ready(Ok(()));
                }
                s.get_ref().poll_read_ready(cx)
            }
        }
    }

    /// The ALPN protocol negotiated on a TLS socket (`b"h2"`, `b"http/1.1"`); `None` for
    /// plain sockets or when none was agreed.
    pub fn alpn(&self) -> Option<&[u8]> {
        match self {
            Socket::TlsServer(s) => s.get_ref().1.alpn_protocol(),
            Socket::TlsClient(s) => s.get_ref().1.alpn_protocol(),
            Socket::Tcp(_) | Socket::Unix(_) | Socket::Tlcp(_) => None,
        }
    }

    /// True when the peer has closed or sent unexpected bytes, i.e. an idle pooled
    /// connection must not be reused. Never blocks. For TLS, records that arrived while
    /// idle are decrypted first: session tickets and key updates are fine, application
    /// bytes or a close_notify are not.
    pub fn is_closed_or_dirty(&mut self) -> bool {
        let mut byte = [0u8; 1];
        let r = match self {
            Socket::Tcp(s) => s.try_read(&mut byte),
            Socket::Unix(s) => s.try_read(&mut byte),
            Socket::TlsServer(s) => {
                let (tcp, conn) = s.get_mut();
                return tls_closed_or_dirty(tcp, conn);
            }
            Socket::TlsClient(s) => {
                let (tcp, conn) = s.get_mut();
                return tls_closed_or_dirty(tcp, conn);
            }
            // TLCP sends nothing on an idle connection: any record is a close or data.
            Socket::Tlcp(s) if s.has_buffered_input() => return true,
            Socket::Tlcp(s) => s.get_ref().try_read(&mut byte),
        };
        !matches!(r, Err(ref e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// Whether a TLS connection has decrypted bytes (or a close) waiting to be read.
fn has_buffered_input<D>(conn: &mut ConnectionCommon<D>) -> bool {
    conn.process_new_packets().map_or(true, |s| {
        s.plaintext_bytes_to_read() > 0 || s.peer_has_closed()
    })
}

/// Reads what the peer sent on an idle TLS connection without blocking.
fn tls_closed_or_dirty<D>(tcp: &TcpStream, conn: &mut ConnectionCommon<D>) -> bool {
    struct TryRead<'a>(&'a TcpStream);
    impl io::Read for TryRead<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.try_read(buf)
        }
    }
    // A few records at most arrive on an idle connection (tickets, a key update).
    for _ in 0..8 {
        match conn.read_tls(&mut TryRead(tcp)) {
            Ok(0) => return true,
            Ok(_) => {
                if conn.process_new_packets().is_err() {
                    return true;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(_) => return true,
        }
    }
    has_buffered_input(conn)
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Socket::Tcp($s) => $e,
            Socket::Unix($s) => $e,
            Socket::TlsServer($s) => $e,
            Socket::TlsClient($s) => $e,
            Socket::Tlcp($s) => $e,
        }
    };
}

/// For TLS, a write may leave encrypted bytes inside rustls when the kernel buffer is
/// full, and nothing above calls `flush` (plain sockets need none). Reading pushes them
/// out first (and registers for writability), so a response's tail is never held back
/// while the connection waits for the peer's next bytes.
fn flush_then_read<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    if let Poll::Ready(Err(e)) = Pin::new(&mut *s).poll_flush(cx) {
        return Poll::Ready(Err(e));
    }
    Pin::new(s).poll_read(cx, buf)
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Socket::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Socket::TlsServer(s) => flush_then_read(&mut **s, cx, buf),
            Socket::TlsClient(s) => flush_then_read(&mut **s, cx, buf),
            Socket::Tlcp(s) => flush_then_read(&mut **s, cx, buf),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A connection to a local listener with `keepalive`, as the socket's options read it.
    async fn connected(keepalive: Option<&TcpKeepalive>) -> socket2::Socket {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = Address::Tcp(listener.local_addr().unwrap());
        let socket = connect_with_keepalive(&addr, Duration::from_secs(5), None, keepalive)
            .await
            .unwrap();
        let tcp = socket.as_tcp().expect("a TCP socket");
        socket2::SockRef::from(tcp).try_clone().unwrap()
    }

    #[tokio::test]
    async fn keepalive_is_on_with_the_settings_given_and_the_kernels_for_the_rest() {
        let plain = connected(None).await;
        assert!(!plain.keepalive().unwrap());
        let kernel_interval = plain.keepalive_interval().unwrap();
        let kernel_probes = plain.keepalive_retries().unwrap();

        let only_time = TcpKeepalive {
            time: Some(Duration::from_secs(300)),
            ..TcpKeepalive::default()
        };
        let s = connected(Some(&only_time)).await;
        assert!(s.keepalive().unwrap());
        assert_eq!(s.keepalive_time().unwrap(), Duration::from_secs(300));
        assert_eq!(s.keepalive_interval().unwrap(), kernel_interval);
        assert_eq!(s.keepalive_retries().unwrap(), kernel_probes);

        let all = TcpKeepalive {
            time: Some(Duration::from_secs(30)),
            interval: Some(Duration::from_secs(7)),
            probes: Some(4),
        };
        let s = connected(Some(&all)).await;
        assert_eq!(s.keepalive_time().unwrap(), Duration::from_secs(30));
        assert_eq!(s.keepalive_interval().unwrap(), Duration::from_secs(7));
        assert_eq!(s.keepalive_retries().unwrap(), 4);
    }

    #[tokio::test]
    async fn keepalive_does_not_apply_to_a_unix_socket() {
        let dir = std::env::temp_dir().join(format!("mosn-net-ka-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let _listener = tokio::net::UnixListener::bind(&dir).unwrap();
        let keepalive = TcpKeepalive {
            time: Some(Duration::from_secs(300)),
            ..TcpKeepalive::default()
        };
        let socket = connect_with_keepalive(
            &Address::Unix(dir.clone()),
            Duration::from_secs(5),
            None,
            Some(&keepalive),
        )
        .await;
        let _ = std::fs::remove_file(&dir);
        assert!(matches!(socket, Ok(Socket::Unix(_))));
    }
}
