//! The record layer over a byte stream, shared by the handshakes (async, message at a
//! time) and the established stream (poll-based): received bytes are parsed into
//! records and opened in place, outgoing records are sealed into one buffer and
//! written in as few writes as possible.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::io::poll_read_buf;

use crate::error::{AlertDescription, Error};
use crate::keys::verify_data;
use crate::messages::{frame, kind};
use crate::record::{ContentType, RecordState, HEADER_LEN, MAX_FRAGMENT, MAX_PLAINTEXT, VERSION};

/// The largest handshake message accepted (a certificate list of a few long chains).
const MAX_HANDSHAKE_MESSAGE: usize = 1 << 17;
/// How much room each read from the transport asks for: one whole record.
const READ_CHUNK: usize = HEADER_LEN + MAX_FRAGMENT;

/// Which end of the connection a message comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Server,
}

impl Side {
    fn finished_label(self) -> &'static [u8] {
        match self {
            Self::Client => b"client finished",
            Self::Server => b"server finished",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Server => "server",
        }
    }
}

/// Alert levels.
const WARNING: u8 = 1;
const FATAL: u8 = 2;

/// What an opened record carried, for the layer above.
pub(crate) enum Inbound {
    /// Handshake bytes (possibly part of a message, or several).
    Handshake(BytesMut),
    /// A ChangeCipherSpec record's byte.
    ChangeCipherSpec(BytesMut),
    /// Application data.
    Data(BytesMut),
    /// The peer's close_notify.
    Closed,
}

/// One connection's record layer: the transport, both directions' protection, and the
/// buffers in between.
pub(crate) struct RecordIo<IO> {
    pub(crate) io: IO,
    /// Protection of records received.
    pub(crate) rx: RecordState,
    /// Protection of records sent.
    pub(crate) tx: RecordState,
    rbuf: BytesMut,
    wbuf: Vec<u8>,
    wpos: usize,
    /// Handshake bytes received and not yet returned as whole messages.
    hs: BytesMut,
    /// Every handshake message sent and received so far, for Finished and
    /// CertificateVerify.
    pub(crate) transcript: Vec<u8>,
}

impl<IO> RecordIo<IO> {
    /// Whether received bytes are waiting: after [`Self::next_record`] found no whole
    /// record, a record cut short.
    pub(crate) fn has_received_bytes(&self) -> bool {
        !self.rbuf.is_empty()
    }

    /// Whether a whole record is waiting in the receive buffer.
    pub(crate) fn has_whole_record(&self) -> bool {
        self.rbuf.len() >= HEADER_LEN
            && self.rbuf.len()
                >= HEADER_LEN + usize::from(u16::from_be_bytes([self.rbuf[3], self.rbuf[4]]))
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> RecordIo<IO> {
    pub(crate) fn new(io: IO) -> Self {
        Self {
            io,
            rx: RecordState::plain(),
            tx: RecordState::plain(),
            rbuf: BytesMut::new(),
            wbuf: Vec::new(),
            wpos: 0,
            hs: BytesMut::new(),
            transcript: Vec::new(),
        }
    }

    /// Opens the next whole record in the receive buffer, if there is one (warning
    /// alerts other than close_notify are skipped).
    pub(crate) fn next_record(&mut self) -> Result<Option<Inbound>, Error> {
        loop {
            match self.open_record()? {
                Some(Some(inbound)) => return Ok(Some(inbound)),
                Some(None) => continue,
                None => return Ok(None),
            }
        }
    }

    /// The next whole record: `None` when incomplete, `Some(None)` for a skipped
    /// warning alert.
    fn open_record(&mut self) -> Result<Option<Option<Inbound>>, Error> {
        if self.rbuf.len() < HEADER_LEN {
            return Ok(None);
        }
        let typ = self.rbuf[0];
        let version = u16::from_be_bytes([self.rbuf[1], self.rbuf[2]]);
        let len = usize::from(u16::from_be_bytes([self.rbuf[3], self.rbuf[4]]));
        let Some(content) = ContentType::from_u8(typ) else {
            return Err(Error::alert(
                AlertDescription::UNEXPECTED_MESSAGE,
                format!("record of unknown type {typ}"),
            ));
        };
        if version != VERSION {
            return Err(Error::alert(
                AlertDescription::PROTOCOL_VERSION,
                format!("record version {version:#06x}, not TLCP's 0x0101"),
            ));
        }
        if len > MAX_FRAGMENT {
            return Err(Error::alert(
                AlertDescription::RECORD_OVERFLOW,
                format!("record of {len} bytes"),
            ));
        }
        if self.rbuf.len() < HEADER_LEN + len {
            return Ok(None);
        }
        let mut record = self.rbuf.split_to(HEADER_LEN + len);
        let (start, plain_len) = {
            let fragment = &mut record[HEADER_LEN..];
            let base = fragment.as_ptr() as usize;
            let plain = self.rx.open(typ, fragment)?;
            (HEADER_LEN + (plain.as_ptr() as usize - base), plain.len())
        };
        record.advance(start);
        record.truncate(plain_len);
        Ok(Some(match content {
            ContentType::Handshake => Some(Inbound::Handshake(record)),
            ContentType::ChangeCipherSpec => Some(Inbound::ChangeCipherSpec(record)),
            ContentType::ApplicationData => Some(Inbound::Data(record)),
            ContentType::Alert => match read_alert(&record) {
                Ok(()) => None,
                Err(Error::PeerAlert(AlertDescription::CLOSE_NOTIFY)) => Some(Inbound::Closed),
                Err(e) => return Err(e),
            },
        }))
    }

    /// Reads more bytes from the transport; `Ok(0)` at its end.
    pub(crate) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        self.rbuf.reserve(READ_CHUNK);
        poll_read_buf(Pin::new(&mut self.io), cx, &mut self.rbuf)
    }

    /// Seals `payload` as records of `typ`, at most [`MAX_PLAINTEXT`] bytes each, into
    /// the send buffer.
    pub(crate) fn queue(&mut self, typ: ContentType, payload: &[u8]) {
        for chunk in payload.chunks(MAX_PLAINTEXT) {
            self.tx.seal(typ, chunk, &mut self.wbuf);
        }
    }

    /// Queues an alert: close_notify as a warning, anything else as fatal.
    pub(crate) fn queue_alert(&mut self, desc: AlertDescription) {
        let level = if desc == AlertDescription::CLOSE_NOTIFY {
            WARNING
        } else {
            FATAL
        };
        self.queue(ContentType::Alert, &[level, desc.0]);
    }

    /// Writes the send buffer out; ready once it is empty.
    pub(crate) fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.wpos < self.wbuf.len() {
            match Pin::new(&mut self.io).poll_write(cx, &self.wbuf[self.wpos..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.wpos += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.wbuf.clear();
        self.wpos = 0;
        Poll::Ready(Ok(()))
    }

    // ---- the handshake's async interface ----

    /// The next record during the handshake; the transport's end is an error here.
    async fn read_record(&mut self) -> Result<Inbound, Error> {
        loop {
            if let Some(inbound) = self.next_record()? {
                return Ok(inbound);
            }
            let n = std::future::poll_fn(|cx| self.poll_fill(cx)).await?;
            if n == 0 {
                return Err(Error::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "peer closed the connection during the TLCP handshake",
                )));
            }
        }
    }

    /// The next whole handshake message (header included), not yet in the transcript.
    pub(crate) async fn read_handshake(&mut self) -> Result<(u8, Vec<u8>), Error> {
        loop {
            if self.hs.len() >= 4 {
                let len = usize::from(self.hs[1]) << 16
                    | usize::from(self.hs[2]) << 8
                    | usize::from(self.hs[3]);
                if len > MAX_HANDSHAKE_MESSAGE {
                    return Err(Error::alert(
                        AlertDescription::ILLEGAL_PARAMETER,
                        format!("handshake message of {len} bytes"),
                    ));
                }
                if self.hs.len() >= 4 + len {
                    let msg = self.hs.split_to(4 + len);
                    return Ok((msg[0], msg.to_vec()));
                }
            }
            match self.read_record().await? {
                Inbound::Handshake(bytes) => self.hs.extend_from_slice(&bytes),
                Inbound::Closed => return Err(Error::PeerAlert(AlertDescription::CLOSE_NOTIFY)),
                Inbound::ChangeCipherSpec(_) | Inbound::Data(_) => {
                    return Err(Error::alert(
                        AlertDescription::UNEXPECTED_MESSAGE,
                        "expected a handshake message",
                    ))
                }
            }
        }
    }

    /// The next handshake message, which must be of `kind`; added to the transcript.
    /// Returns its body.
    pub(crate) async fn expect(&mut self, kind: u8, name: &str) -> Result<Vec<u8>, Error> {
        let (got, msg) = self.read_handshake().await?;
        if got != kind {
            return Err(Error::alert(
                AlertDescription::UNEXPECTED_MESSAGE,
                format!("expected {name}, got handshake message type {got}"),
            ));
        }
        self.transcript.extend_from_slice(&msg);
        Ok(msg[4..].to_vec())
    }

    /// Reads the peer's ChangeCipherSpec (which must not split a handshake message).
    pub(crate) async fn read_change_cipher_spec(&mut self) -> Result<(), Error> {
        if !self.hs.is_empty() {
            return Err(Error::alert(
                AlertDescription::UNEXPECTED_MESSAGE,
                "ChangeCipherSpec inside a handshake message",
            ));
        }
        match self.read_record().await? {
            Inbound::ChangeCipherSpec(b) if b[..] == [1] => Ok(()),
            _ => Err(Error::alert(
                AlertDescription::UNEXPECTED_MESSAGE,
                "expected ChangeCipherSpec",
            )),
        }
    }

    /// Queues a handshake message and adds it to the transcript.
    pub(crate) fn send_handshake(&mut self, kind: u8, body: &[u8]) {
        let msg = frame(kind, body);
        self.queue(ContentType::Handshake, &msg);
        self.transcript.extend_from_slice(&msg);
    }

    /// Queues `side`'s Finished: verify data over the transcript so far.
    pub(crate) fn send_finished(&mut self, master: &[u8], side: Side) {
        let ours = verify_data(master, side.finished_label(), &self.transcript);
        self.send_handshake(kind::FINISHED, &ours);
    }

    /// Reads the peer's (`side`'s) Finished and checks it against the transcript.
    pub(crate) async fn expect_finished(&mut self, master: &[u8], side: Side) -> Result<(), Error> {
        let want = verify_data(master, side.finished_label(), &self.transcript);
        let got = self.expect(kind::FINISHED, "Finished").await?;
        if bool::from(got.ct_eq(&want)) {
            Ok(())
        } else {
            Err(Error::alert(
                AlertDescription::DECRYPT_ERROR,
                format!(
                    "{} Finished does not match: different keys or a tampered handshake",
                    side.name()
                ),
            ))
        }
    }

    /// Queues ChangeCipherSpec and switches the sending side to `next`.
    pub(crate) fn change_cipher_spec(&mut self, next: RecordState) {
        self.queue(ContentType::ChangeCipherSpec, &[1]);
        self.tx = next;
    }

    /// Writes everything queued.
    pub(crate) async fn flush(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.poll_write_out(cx)).await?;
        self.io.flush().await?;
        Ok(())
    }

    /// Tells the peer why the handshake failed (best effort: it may be gone).
    pub(crate) async fn fail(&mut self, error: &Error) {
        if let Some(alert) = error.alert_to_send() {
            self.queue_alert(alert);
            let _ = self.flush().await;
        }
    }
}

/// Handles an alert record: warnings other than close_notify are ignored, close_notify
/// and fatal alerts end the connection.
fn read_alert(payload: &[u8]) -> Result<(), Error> {
    let [level, desc] = payload else {
        return Err(Error::decode("alert"));
    };
    let desc = AlertDescription(*desc);
    if desc == AlertDescription::CLOSE_NOTIFY || *level != WARNING {
        return Err(Error::PeerAlert(desc));
    }
    Ok(())
}
