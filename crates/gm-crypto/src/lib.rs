//! ShangMi (Chinese national standard, "GM/T") cryptography for the proxy.
//!
//! Thin, documented wrappers over RustCrypto's constant-time `sm2` and `sm3` crates and
//! its block modes, plus the pieces those crates do not have and both of the project's
//! SM protocols need:
//! - [`hash`]: SM3 and HMAC-SM3; [`prf`]: the TLS 1.2-style PRF over HMAC-SM3 (TLCP).
//! - [`sm4`]: SM4 in CBC (record layer of the TLCP CBC suites), GCM and CCM, over this
//!   crate's own table-driven SM4 block cipher (several times faster than RustCrypto's
//!   `sm4` in bulk; like it, not constant-time against cache-timing attacks).
//! - [`sm2`]: keys (PEM/DER, from certificates), signatures with a distinguishing ID,
//!   public-key encryption in the GM/T 0009 ASN.1 form, raw ECDH, and the GB/T 32918.3
//!   key-agreement protocol; [`sm2::webpki`] lets rustls/webpki check SM2 certificates.
//! - [`provider`]: a rustls `CryptoProvider` for the RFC 8998 TLS 1.3 suites.
#![forbid(unsafe_code)]

mod error;
pub mod hash;
pub mod prf;
pub mod provider;
pub mod sm2;
pub mod sm4;

pub use error::Error;

#[cfg(test)]
mod test_hex;
