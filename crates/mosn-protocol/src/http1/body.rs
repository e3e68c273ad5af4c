//! Incremental body decoding and encoding (Content-Length, chunked,
//! close-delimited). Decoded data is split off the input buffer without
//! copying; nothing buffers a whole body.

use bytes::{Buf, Bytes, BytesMut};
use http::header::{HeaderMap, CONTENT_LENGTH, TRANSFER_ENCODING};

use super::head::build_headers;
use super::{BodyKind, Limits, ParseError, MAX_HEADERS_CAP};

/// Longest accepted chunk-size line (size + extensions), CRLF not counted.
const MAX_CHUNK_LINE: usize = 1024;

/// One step of a decoded body.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyEvent {
    /// A piece of body data (never empty).
    Data(Bytes),
    /// The trailer section of a chunked body (only if it had fields); `End` follows.
    Trailers(HeaderMap),
    /// The body is complete.
    End,
}

#[derive(Debug, Clone)]
enum DecodeState {
    Length { remaining: u64 },
    ChunkSize,
    ChunkData { remaining: u64 },
    ChunkDataEnd,
    Trailers,
    Close,
    EndPending,
    Done,
    Failed(ParseError),
}

/// Streaming body decoder for one message.
///
/// Feed it the connection's read buffer with [`BodyDecoder::decode`]; it
/// splits consumed bytes off the front, so whatever is left after `End`
/// belongs to the next message.
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    state: DecodeState,
    limits: Limits,
}

impl BodyDecoder {
    /// A decoder for a body framed as `kind`, with default [`Limits`] for trailers.
    pub fn new(kind: BodyKind) -> Self {
        Self::with_limits(kind, Limits::default())
    }

    /// A decoder for a body framed as `kind`; `limits` bound the trailer section.
    pub fn with_limits(kind: BodyKind, limits: Limits) -> Self {
        let state = match kind {
            BodyKind::Empty | BodyKind::Length(0) => DecodeState::EndPending,
            BodyKind::Length(n) => DecodeState::Length { remaining: n },
            BodyKind::Chunked => DecodeState::ChunkSize,
            BodyKind::CloseDelimited => DecodeState::Close,
        };
        BodyDecoder { state, limits }
    }

    /// Consumes bytes from the front of `buf` (split off, no copy) and returns
    /// the next event, or `Ok(None)` if more bytes are needed.
    ///
    /// A body always ends with `End` (`Empty` and `Length(0)` yield it
    /// immediately). For `CloseDelimited` all buffered bytes come back as
    /// `Data` and only [`BodyDecoder::eof`] ends the body. After `End`, returns
    /// `Ok(None)` without touching `buf`. After an error, returns that error again.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<BodyEvent>, ParseError> {
        match self.step(buf) {
            Ok(ev) => Ok(ev),
            Err(e) => {
                self.state = DecodeState::Failed(e);
                Err(e)
            }
        }
    }

    /// Tells the decoder the peer closed the connection (after draining the
    /// buffer through [`BodyDecoder::decode`]). Returns `End` if that is a
    /// legitimate end of the body (close-delimited, or already complete), or
    /// `UnexpectedEof` if the body was truncated.
    pub fn eof(&mut self) -> Result<BodyEvent, ParseError> {
        match self.state {
            DecodeState::Close | DecodeState::EndPending | DecodeState::Done => {
                self.state = DecodeState::Done;
                Ok(BodyEvent::End)
            }
            DecodeState::Failed(e) => Err(e),
            _ => {
                self.state = DecodeState::Failed(ParseError::UnexpectedEof);
                Err(ParseError::UnexpectedEof)
            }
        }
    }

    /// Whether `End` has been returned.
    pub fn is_done(&self) -> bool {
        matches!(self.state, DecodeState::Done)
    }

    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<BodyEvent>, ParseError> {
        loop {
            match self.state {
                DecodeState::Done => return Ok(None),
                DecodeState::Failed(e) => return Err(e),
                DecodeState::EndPending => {
                    self.state = DecodeState::Done;
                    return Ok(Some(BodyEvent::End));
                }
                DecodeState::Close => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    return Ok(Some(BodyEvent::Data(buf.split().freeze())));
                }
                DecodeState::Length { remaining } => {
                    let Some((data, left)) = take(buf, remaining) else {
                        return Ok(None);
                    };
                    self.state = if left == 0 {
                        DecodeState::EndPending
                    } else {
                        DecodeState::Length { remaining: left }
                    };
                    return Ok(Some(BodyEvent::Data(data)));
                }
                DecodeState::ChunkData { remaining } => {
                    let Some((data, left)) = take(buf, remaining) else {
                        return Ok(None);
                    };
                    self.state = if left == 0 {
                        DecodeState::ChunkDataEnd
                    } else {
                        DecodeState::ChunkData { remaining: left }
                    };
                    return Ok(Some(BodyEvent::Data(data)));
                }
                DecodeState::ChunkSize => {
                    let Some((size, line_len)) = chunk_size_line(buf)? else {
                        return Ok(None);
                    };
                    buf.advance(line_len);
                    self.state = if size == 0 {
                        DecodeState::Trailers
                    } else {
                        DecodeState::ChunkData { remaining: size }
                    };
                }
                DecodeState::ChunkDataEnd => match buf.get(..2) {
                    Some(b"\r\n") => {
                        buf.advance(2);
                        self.state = DecodeState::ChunkSize;
                    }
                    Some(_) => return Err(ParseError::Malformed("missing CRLF after chunk data")),
                    None if buf.first().is_some_and(|&b| b != b'\r') => {
                        return Err(ParseError::Malformed("missing CRLF after chunk data"))
                    }
                    None => return Ok(None),
                },
                DecodeState::Trailers => return self.trailers(buf),
            }
        }
    }

    fn trailers(&mut self, buf: &mut BytesMut) -> Result<Option<BodyEvent>, ParseError> {
        match buf.first() {
            None => return Ok(None),
            Some(b'\r') => {
                return match buf.get(1) {
                    None => Ok(None),
                    Some(b'\n') => {
                        buf.advance(2);
                        self.state = DecodeState::Done;
                        Ok(Some(BodyEvent::End))
                    }
                    Some(_) => Err(ParseError::Malformed("invalid line ending in trailers")),
                };
            }
            Some(b'\n') => return Err(ParseError::Malformed("bare LF in chunked body")),
            Some(_) => {}
        }
        let max = self.limits.max_head_bytes;
        let window = &buf[..buf.len().min(max)];
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS_CAP];
        let (n, map) =
            match httparse::parse_headers(window, &mut slots[..self.limits.header_slots()]) {
                Ok(httparse::Status::Complete((n, fields))) => {
                    let section = &window[..n];
                    if has_bare_lf(section) {
                        return Err(ParseError::Malformed("bare LF in chunked body"));
                    }
                    let shared = Bytes::copy_from_slice(section);
                    let (map, _) = build_headers(fields, &shared, window)?;
                    (n, map)
                }
                Ok(httparse::Status::Partial) => {
                    return if buf.len() >= max {
                        Err(ParseError::HeadTooLarge)
                    } else {
                        Ok(None)
                    };
                }
                Err(httparse::Error::TooManyHeaders) => return Err(ParseError::TooManyHeaders),
                Err(_) => return Err(ParseError::Malformed("invalid trailer section")),
            };
        buf.advance(n);
        self.state = DecodeState::EndPending;
        Ok(Some(BodyEvent::Trailers(map)))
    }
}

/// Splits up to `remaining` bytes off `buf`; `None` if `buf` is empty.
fn take(buf: &mut BytesMut, remaining: u64) -> Option<(Bytes, u64)> {
    if buf.is_empty() {
        return None;
    }
    let n = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
    Some((buf.split_to(n).freeze(), remaining - n as u64))
}

fn has_bare_lf(s: &[u8]) -> bool {
    s.iter()
        .enumerate()
        .any(|(i, &c)| c == b'\n' && (i == 0 || s[i - 1] != b'\r'))
}

/// Parses `chunk-size [ chunk-ext ] CRLF` at the front of `buf`.
/// Returns the size and the line length including CRLF, or `None` if the
/// line is incomplete.
fn chunk_size_line(buf: &[u8]) -> Result<Option<(u64, usize)>, ParseError> {
    let limit = MAX_CHUNK_LINE + 2;
    let scan = &buf[..buf.len().min(limit)];
    let Some(lf) = scan.iter().position(|&c| c == b'\n') else {
        return if buf.len() >= limit {
            Err(ParseError::Malformed("chunk size line too long"))
        } else {
            Ok(None)
        };
    };
    let line = match buf[..lf].strip_suffix(b"\r") {
        Some(l) => l,
        None => return Err(ParseError::Malformed("bare LF in chunked body")),
    };
    let mut size: u64 = 0;
    let mut digits = 0;
    for &c in line {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => break,
        };
        if size >> 60 != 0 {
            return Err(ParseError::Malformed("chunk size overflow"));
        }
        size = (size << 4) | u64::from(d);
        digits += 1;
    }
    if digits == 0 {
        return Err(ParseError::Malformed("invalid chunk size"));
    }
    // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ): skipped,
    // but it must start with ';' and contain no control characters.
    let rest = &line[digits..];
    let ws = rest
        .iter()
        .take_while(|&&c| c == b' ' || c == b'\t')
        .count();
    let ext = &rest[ws..];
    if !rest.is_empty() {
        let ok = ext.first() == Some(&b';')
            && ext
                .iter()
                .all(|&c| c == b'\t' || (0x20..0x7f).contains(&c) || c >= 0x80);
        if !ok {
            return Err(ParseError::Malformed("invalid chunk extension"));
        }
    }
    Ok(Some((size, lf + 1)))
}

#[derive(Debug, Clone, Copy)]
enum EncodeState {
    Empty,
    Length { remaining: u64 },
    Chunked,
    Close,
}

/// Frames outgoing body data to match the `BodyKind` written in the head.
#[derive(Debug, Clone)]
pub struct BodyEncoder {
    state: EncodeState,
    ended: bool,
    /// A chunk handed out by [`BodyEncoder::data_by_ref`] still needs its closing CRLF,
    /// written at the start of whatever comes next.
    pending_crlf: bool,
}

impl BodyEncoder {
    /// An encoder for a body framed as `kind`.
    pub fn new(kind: BodyKind) -> Self {
        let state = match kind {
            BodyKind::Empty => EncodeState::Empty,
            BodyKind::Length(n) => EncodeState::Length { remaining: n },
            BodyKind::Chunked => EncodeState::Chunked,
            BodyKind::CloseDelimited => EncodeState::Close,
        };
        BodyEncoder {
            state,
            ended: false,
            pending_crlf: false,
        }
    }

    /// Like [`BodyEncoder::data`], but without copying `data`: the framing before it goes
    /// into `out`, and the bytes to send right after `out` are returned (truncated to a
    /// declared length; empty when nothing may be sent). A chunk's closing CRLF is
    /// written at the start of the next `data`, `data_by_ref` or `end` call. For large
    /// bodies, so they go to the socket with one vectored write instead of a copy.
    pub fn data_by_ref(&mut self, data: bytes::Bytes, out: &mut BytesMut) -> bytes::Bytes {
        self.flush_crlf(out);
        if self.ended || data.is_empty() {
            return bytes::Bytes::new();
        }
        match &mut self.state {
            EncodeState::Empty => bytes::Bytes::new(),
            EncodeState::Close => data,
            EncodeState::Length { remaining } => {
                let n = usize::try_from(*remaining).map_or(data.len(), |r| r.min(data.len()));
                *remaining -= n as u64;
                data.slice(..n)
            }
            EncodeState::Chunked => {
                let mut hex = [0u8; 16];
                out.extend_from_slice(hex_digits(data.len() as u64, &mut hex));
                out.extend_from_slice(b"\r\n");
                self.pending_crlf = true;
                data
            }
        }
    }

    fn flush_crlf(&mut self, out: &mut BytesMut) {
        if std::mem::take(&mut self.pending_crlf) {
            out.extend_from_slice(b"\r\n");
        }
    }

    /// Appends `data` to `out`: as one chunk (`{hex}\r\n{data}\r\n`) when
    /// chunked, raw otherwise. Empty data writes nothing (an empty chunk
    /// would end the body). For `Length` bodies, bytes beyond the declared
    /// length are dropped rather than corrupting the connection; for `Empty`
    /// bodies and after `end`, everything is dropped.
    pub fn data(&mut self, data: &[u8], out: &mut BytesMut) {
        self.flush_crlf(out);
        if self.ended || data.is_empty() {
            return;
        }
        match &mut self.state {
            EncodeState::Empty => {}
            EncodeState::Close => out.extend_from_slice(data),
            EncodeState::Length { remaining } => {
                let n = usize::try_from(*remaining).map_or(data.len(), |r| r.min(data.len()));
                out.extend_from_slice(&data[..n]);
                *remaining -= n as u64;
            }
            EncodeState::Chunked => {
                let mut hex = [0u8; 16];
                let digits = hex_digits(data.len() as u64, &mut hex);
                out.reserve(digits.len() + data.len() + 4);
                out.extend_from_slice(digits);
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Finishes the body. Chunked: writes `0\r\n`, the trailers (framing
    /// fields among them are skipped) and the final `\r\n`. Other kinds write
    /// nothing and drop the trailers. Calling it again does nothing.
    pub fn end(&mut self, trailers: Option<&HeaderMap>, out: &mut BytesMut) {
        self.flush_crlf(out);
        if self.ended {
            return;
        }
        self.ended = true;
        if let EncodeState::Chunked = self.state {
            out.extend_from_slice(b"0\r\n");
            if let Some(t) = trailers {
                for (name, value) in t {
                    if name == TRANSFER_ENCODING || name == CONTENT_LENGTH {
                        continue;
                    }
                    out.extend_from_slice(name.as_str().as_bytes());
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(value.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
            }
            out.extend_from_slice(b"\r\n");
        }
    }

    /// Whether every byte promised by a `Length` framing has been written
    /// (always true for other kinds). If false when the body ends, the
    /// connection must be closed.
    pub fn is_complete(&self) -> bool {
        !matches!(self.state, EncodeState::Length { remaining } if remaining > 0)
    }
}

/// Lowercase hex of `n` without leading zeros.
fn hex_digits(mut n: u64, buf: &mut [u8; 16]) -> &[u8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = HEX[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            return &buf[i..];
        }
    }
}
