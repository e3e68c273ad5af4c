//! One socket type for TCP and Unix connections, both directions.

use mosn_config::Address;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

/// A connected stream socket, TCP or Unix.
#[derive(Debug)]
pub enum Socket {
    /// TCP, with Nagle disabled.
    Tcp(TcpStream),
    /// Unix domain stream socket.
    Unix(UnixStream),
}

/// Why an outgoing connection failed, so the proxy can answer 502 or 504.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// `connect_timeout` elapsed.
    #[error("connect timeout")]
    Timeout,
    /// The connect itself failed (refused, unreachable...).
    #[error("connect failed: {0}")]
    Failed(#[from] io::Error),
}

/// Connects to `addr` within `timeout`.
pub async fn connect(addr: &Address, timeout: Duration) -> Result<Socket, ConnectError> {
    let fut = async {
        match addr {
            Address::Tcp(sa) => {
                let s = TcpStream::connect(sa).await?;
                s.set_nodelay(true)?;
                Ok::<_, io::Error>(Socket::Tcp(s))
            }
            Address::Unix(path) => Ok(Socket::Unix(UnixStream::connect(path).await?)),
        }
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r.map_err(ConnectError::Failed),
        Err(_) => Err(ConnectError::Timeout),
    }
}

impl Socket {
    /// Waits until the socket has bytes (or EOF) to read, without holding a buffer, so an
    /// idle keep-alive connection costs no read buffer memory.
    pub async fn readable(&self) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.readable().await,
            Socket::Unix(s) => s.readable().await,
        }
    }

    /// True when the peer has closed or sent unexpected bytes, i.e. an idle pooled
    /// connection must not be reused. Never blocks.
    pub fn is_closed_or_dirty(&self) -> bool {
        let mut byte = [0u8; 1];
        let r = match self {
            Socket::Tcp(s) => s.try_read(&mut byte),
            Socket::Unix(s) => s.try_read(&mut byte),
        };
        !matches!(r, Err(ref e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Socket::Tcp($s) => $e,
            Socket::Unix($s) => $e,
        }
    };
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_read(cx, buf))
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
