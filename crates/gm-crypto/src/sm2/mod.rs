//! SM2 (GB/T 32918): keys, signatures, public-key encryption, ECDH and key agreement.

mod asn1;
pub mod encrypt;
pub mod exchange;
pub mod keys;
mod point;
pub mod sign;
pub mod webpki;

pub use ::sm2::{PublicKey, SecretKey};
pub use point::z_digest;

/// The distinguishing ID GM/T 0009 fixes as the default for signatures and key
/// agreement when the parties agree on no other ("1234567812345678").
pub const DEFAULT_ID: &str = "1234567812345678";
