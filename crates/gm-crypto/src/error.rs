//! The one error type of the crate: callers of crypto learn what failed, never why a
//! secret did not match (no oracle beyond "failed").

/// Why a ShangMi operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A key, nonce or input had the wrong length or form.
    #[error("invalid input: {0}")]
    Invalid(&'static str),
    /// A key or certificate could not be parsed as SM2.
    #[error("not an SM2 key: {0}")]
    Key(String),
    /// Authentication failed: a tag, a signature or an SM2 ciphertext hash did not match.
    #[error("authentication failed")]
    Auth,
}
