//! TLCP — GB/T 38636-2020, China's Transport Layer Cryptography Protocol — in Rust.
//!
//! TLCP is TLS 1.1's shape with the ShangMi algorithms and two certificates per
//! party: a signing certificate (ServerKeyExchange and CertificateVerify signatures)
//! and an encryption certificate (the key exchange). This crate implements:
//! - the four suites of the standard ([`CipherSuite`]): ECC (the client encrypts the
//!   pre-master secret to the server's encryption key with SM2) and ECDHE (SM2 key
//!   agreement from both parties' encryption keys and ephemeral keys), each with
//!   SM4-CBC + HMAC-SM3 or SM4-GCM records;
//! - server ([`accept`]) and client ([`connect`]) handshakes, client certificates
//!   optional (required by the ECDHE suites), certificate chains verified with webpki;
//! - the established connection as a tokio [`AsyncRead`](tokio::io::AsyncRead) +
//!   [`AsyncWrite`](tokio::io::AsyncWrite) stream ([`TlcpStream`]).
//!
//! It interoperates with Tongsuo (Ant Group's OpenSSL fork, the reference TLCP
//! implementation), whose choices it follows where the standard leaves room: the
//! certificate order (signing, encryption, chain), the default SM2 ID
//! "1234567812345678", and the server as the initiator of SM2 key agreement.
//! Not implemented: session resumption (every connection runs the full handshake),
//! renegotiation (refused), and the IBC and RSA suites.
#![forbid(unsafe_code)]

mod client;
mod codec;
mod config;
mod conn;
mod error;
mod keys;
mod messages;
mod random;
mod record;
mod server;
mod stream;
mod suite;
mod verify;

pub use client::connect;
pub use config::{CertifiedKey, ClientAuth, ClientConfig, RootCerts, ServerConfig};
pub use error::{AlertDescription, Error};
pub use server::accept;
pub use stream::TlcpStream;
pub use suite::CipherSuite;

/// Whether the first bytes of a connection start a TLCP handshake: a handshake record
/// (0x16) with TLCP's record version 0x0101. TLS ClientHellos carry 0x0301..0x0303, so
/// one port can tell the two apart from three peeked bytes.
pub fn is_tlcp_hello(peeked: &[u8]) -> bool {
    peeked.len() >= 3 && peeked[0] == 0x16 && peeked[1..3] == record::VERSION.to_be_bytes()
}
