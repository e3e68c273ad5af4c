//! Errors produced by the HTTP/1 codec.

/// Why a head or body could not be parsed.
///
/// Every variant maps to a status the proxy can answer a downstream client
/// with (see [`ParseError::status_code`]); for errors coming from an upstream
/// the proxy answers 502 instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The head (or trailer section) exceeds `Limits::max_head_bytes`.
    #[error("message head too large")]
    HeadTooLarge,
    /// More header (or trailer) fields than `Limits::max_headers`.
    #[error("too many header fields")]
    TooManyHeaders,
    /// Syntax or framing error; the string is a short reason.
    #[error("malformed HTTP/1 message: {0}")]
    Malformed(&'static str),
    /// A well-formed `HTTP/x.y` version other than 1.0 or 1.1.
    #[error("unsupported HTTP version")]
    UnsupportedVersion,
    /// The connection starts with the HTTP/2 connection preface (`PRI * HTTP/2.0`).
    #[error("HTTP/2 connection preface received")]
    Http2Preface,
    /// The peer closed the connection before the body was complete.
    #[error("connection closed before the message body was complete")]
    UnexpectedEof,
}

impl ParseError {
    /// The status code a server should answer a client's request with:
    /// 431 for size limits, 505 for unsupported versions, 400 otherwise.
    pub fn status_code(&self) -> u16 {
        match self {
            ParseError::HeadTooLarge | ParseError::TooManyHeaders => 431,
            ParseError::UnsupportedVersion => 505,
            ParseError::Malformed(_) | ParseError::Http2Preface | ParseError::UnexpectedEof => 400,
        }
    }
}
