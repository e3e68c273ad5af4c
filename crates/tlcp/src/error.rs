//! Why a TLCP connection failed: the alert it sent or received, or the I/O error under
//! it. Every failure the protocol can name maps to an alert, so the peer learns why too.

use std::fmt;
use std::io;

/// A TLCP alert description (GB/T 38636-2020 6.4.4.3: TLS 1.1's list plus the IBC
/// and site-to-site codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertDescription(pub u8);

impl AlertDescription {
    /// The sender closes the connection in order.
    pub const CLOSE_NOTIFY: Self = Self(0);
    /// A message arrived that the state machine did not expect.
    pub const UNEXPECTED_MESSAGE: Self = Self(10);
    /// A record failed its MAC or AEAD tag, or its CBC padding was malformed.
    pub const BAD_RECORD_MAC: Self = Self(20);
    /// A record was longer than the protocol allows.
    pub const RECORD_OVERFLOW: Self = Self(22);
    /// No acceptable set of parameters (suite, key exchange) was found.
    pub const HANDSHAKE_FAILURE: Self = Self(40);
    /// A certificate was corrupt or held a key of the wrong kind or usage.
    pub const BAD_CERTIFICATE: Self = Self(42);
    /// A certificate has expired or is not yet valid.
    pub const CERTIFICATE_EXPIRED: Self = Self(45);
    /// A certificate failed verification for another reason.
    pub const CERTIFICATE_UNKNOWN: Self = Self(46);
    /// A field was out of range or inconsistent.
    pub const ILLEGAL_PARAMETER: Self = Self(47);
    /// A certificate chain did not lead to a trusted CA.
    pub const UNKNOWN_CA: Self = Self(48);
    /// A message could not be decoded.
    pub const DECODE_ERROR: Self = Self(50);
    /// A signature, key exchange or Finished check failed.
    pub const DECRYPT_ERROR: Self = Self(51);
    /// The peer speaks another protocol version (TLS, not TLCP).
    pub const PROTOCOL_VERSION: Self = Self(70);
    /// An error of this implementation, not of the peer.
    pub const INTERNAL_ERROR: Self = Self(80);
    /// The peer tried to renegotiate, which this implementation refuses.
    pub const NO_RENEGOTIATION: Self = Self(100);

    /// The standard's name of the alert, for logs.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "close_notify",
            10 => "unexpected_message",
            20 => "bad_record_mac",
            21 => "decryption_failed",
            22 => "record_overflow",
            30 => "decompression_failure",
            40 => "handshake_failure",
            42 => "bad_certificate",
            43 => "unsupported_certificate",
            44 => "certificate_revoked",
            45 => "certificate_expired",
            46 => "certificate_unknown",
            47 => "illegal_parameter",
            48 => "unknown_ca",
            49 => "access_denied",
            50 => "decode_error",
            51 => "decrypt_error",
            70 => "protocol_version",
            71 => "insufficient_security",
            80 => "internal_error",
            90 => "user_canceled",
            100 => "no_renegotiation",
            200 => "unsupported_site2site",
            201 => "no_area",
            202 => "unsupported_areatype",
            203 => "bad_ibcparam",
            204 => "unsupported_ibcparam",
            205 => "identity_need",
            _ => "unknown_alert",
        }
    }
}

impl fmt::Display for AlertDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// Why a TLCP operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The transport failed or closed mid-handshake.
    #[error("TLCP I/O: {0}")]
    Io(#[from] io::Error),
    /// This side found a protocol violation, sent `alert` to the peer and gave up.
    #[error("TLCP {alert}: {reason}")]
    Protocol {
        /// The fatal alert sent.
        alert: AlertDescription,
        /// What was wrong, for logs.
        reason: String,
    },
    /// The peer sent a fatal alert.
    #[error("TLCP peer sent alert {0}")]
    PeerAlert(AlertDescription),
    /// A configuration (certificate, key, suite list) cannot be used.
    #[error("TLCP config: {0}")]
    Config(String),
}

impl Error {
    /// A protocol failure that sends `alert`.
    pub(crate) fn alert(alert: AlertDescription, reason: impl Into<String>) -> Self {
        Self::Protocol {
            alert,
            reason: reason.into(),
        }
    }

    /// A message that could not be decoded.
    pub(crate) fn decode(what: &str) -> Self {
        Self::alert(AlertDescription::DECODE_ERROR, format!("malformed {what}"))
    }

    /// The alert this side should send for the failure, if any.
    pub(crate) fn alert_to_send(&self) -> Option<AlertDescription> {
        match self {
            Self::Protocol { alert, .. } => Some(*alert),
            Self::Config(_) => Some(AlertDescription::INTERNAL_ERROR),
            Self::Io(_) | Self::PeerAlert(_) => None,
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}
