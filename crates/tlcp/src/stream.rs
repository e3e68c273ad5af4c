//! An established TLCP connection as a tokio byte stream: application data in and out
//! through the record layer, close_notify on shutdown, a fatal alert to the peer when
//! its records fail their checks.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BytesMut};
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::conn::{Inbound, RecordIo};
use crate::error::{AlertDescription, Error};
use crate::record::{ContentType, MAX_PLAINTEXT};
use crate::suite::CipherSuite;

/// The most plaintext one `poll_write` seals before returning (four full records).
const MAX_WRITE: usize = 4 * MAX_PLAINTEXT;

/// What the handshake agreed.
pub(crate) struct Session {
    pub(crate) suite: CipherSuite,
    /// The peer's certificates: signing, encryption, then its chain; empty for a
    /// client that sent none.
    pub(crate) peer: Vec<CertificateDer<'static>>,
}

/// A TLCP connection after its handshake, readable and writable like the transport.
pub struct TlcpStream<IO> {
    conn: RecordIo<IO>,
    session: Session,
    /// Application data opened and not yet read.
    plain: BytesMut,
    /// The peer sent close_notify or closed the transport.
    read_closed: bool,
    close_sent: bool,
}

impl<IO: std::fmt::Debug> std::fmt::Debug for TlcpStream<IO> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlcpStream")
            .field("io", &self.conn.io)
            .field("suite", &self.session.suite)
            .finish_non_exhaustive()
    }
}

impl<IO> TlcpStream<IO> {
    /// The suite the handshake agreed on.
    pub fn cipher_suite(&self) -> CipherSuite {
        self.session.suite
    }

    /// The peer's certificates as sent: signing certificate, encryption certificate,
    /// then the rest of the chain. Empty when a client sent none.
    pub fn peer_certificates(&self) -> &[CertificateDer<'static>] {
        &self.session.peer
    }

    /// Whether a read would return without waiting on the transport: plaintext, a
    /// whole record or the end of the stream is already buffered. Lets a caller park
    /// an idle connection on the transport's readiness alone.
    pub fn has_buffered_input(&self) -> bool {
        !self.plain.is_empty() || self.read_closed || self.conn.has_whole_record()
    }

    /// The transport.
    pub fn get_ref(&self) -> &IO {
        &self.conn.io
    }

    /// The transport, mutably (reading or writing it directly breaks the records).
    pub fn get_mut(&mut self) -> &mut IO {
        &mut self.conn.io
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> TlcpStream<IO> {
    pub(crate) fn new(conn: RecordIo<IO>, session: Session) -> Self {
        Self {
            conn,
            session,
            plain: BytesMut::new(),
            read_closed: false,
            close_sent: false,
        }
    }

    /// Sends the alert `error` calls for (best effort) and turns it into an I/O error.
    fn fail(&mut self, cx: &mut Context<'_>, error: Error) -> io::Error {
        if let Some(alert) = error.alert_to_send() {
            if !self.close_sent {
                self.conn.queue_alert(alert);
                self.close_sent = true;
                let _ = self.conn.poll_write_out(cx);
            }
        }
        error.into()
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlcpStream<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.plain.is_empty() {
                let n = this.plain.len().min(buf.remaining());
                buf.put_slice(&this.plain[..n]);
                this.plain.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.read_closed {
                return Poll::Ready(Ok(()));
            }
            match this.conn.next_record() {
                Ok(Some(Inbound::Data(data))) => this.plain = data,
                Ok(Some(Inbound::Closed)) => this.read_closed = true,
                Ok(Some(Inbound::Handshake(_) | Inbound::ChangeCipherSpec(_))) => {
                    let e = Error::alert(
                        AlertDescription::UNEXPECTED_MESSAGE,
                        "handshake after the handshake (renegotiation is not supported)",
                    );
                    return Poll::Ready(Err(this.fail(cx, e)));
                }
                Ok(None) => {
                    if ready!(this.conn.poll_fill(cx))? == 0 {
                        // The end without close_notify reads as the end (many peers
                        // close so), but not in the middle of a record.
                        if this.conn.has_received_bytes() {
                            return Poll::Ready(Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "TLCP connection closed inside a record",
                            )));
                        }
                        this.read_closed = true;
                    }
                }
                Err(e) => return Poll::Ready(Err(this.fail(cx, e))),
            }
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlcpStream<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // Earlier records go first, which also bounds what is buffered.
        ready!(this.conn.poll_write_out(cx))?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = buf.len().min(MAX_WRITE);
        this.conn.queue(ContentType::ApplicationData, &buf[..n]);
        // Start sending now; what the transport does not take goes on the next write
        // or flush.
        if let Poll::Ready(Err(e)) = this.conn.poll_write_out(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.conn.poll_write_out(cx))?;
        Pin::new(&mut this.conn.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.close_sent {
            this.conn.queue_alert(AlertDescription::CLOSE_NOTIFY);
            this.close_sent = true;
        }
        ready!(this.conn.poll_write_out(cx))?;
        Pin::new(&mut this.conn.io).poll_shutdown(cx)
    }
}
