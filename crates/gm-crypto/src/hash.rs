//! SM3 (GB/T 32905) and HMAC-SM3: the hash of every ShangMi protocol.

use hmac::{Hmac, Mac};
use sm3::Digest;

pub use sm3::Sm3;

/// Length of an SM3 digest in bytes.
pub const SM3_LEN: usize = 32;

/// HMAC over SM3, as TLCP's record MAC and PRF and RFC 8998's HKDF use it.
pub type HmacSm3 = Hmac<Sm3>;

/// The SM3 digest of `data`.
pub fn sm3(data: &[u8]) -> [u8; SM3_LEN] {
    Sm3::digest(data).into()
}

/// HMAC-SM3 of the concatenation of `parts` under `key`.
pub fn hmac_sm3(key: &[u8], parts: &[&[u8]]) -> [u8; SM3_LEN] {
    let mut mac = HmacSm3::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_hex::unhex;

    /// GB/T 32905 Appendix A, examples 1 and 2.
    #[test]
    fn sm3_standard_examples() {
        assert_eq!(
            sm3(b"abc").to_vec(),
            unhex("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
        );
        assert_eq!(
            sm3(&b"abcd".repeat(16)).to_vec(),
            unhex("debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")
        );
    }

    /// Tongsuo 8.5.0: `tongsuo mac -digest SM3 -macopt key:Jefe HMAC` (RFC 2202's case 2).
    #[test]
    fn hmac_matches_tongsuo() {
        assert_eq!(
            hmac_sm3(b"Jefe", &[b"what do ya want for nothing?"]).to_vec(),
            unhex("2e87f1d16862e6d964b50a5200bf2b10b764faa9680a296a2405f24bec39f882")
        );
    }

    #[test]
    fn hmac_splits_input_freely() {
        assert_eq!(hmac_sm3(b"k", &[b"ab", b"c"]), hmac_sm3(b"k", &[b"abc"]));
        assert_ne!(hmac_sm3(b"k", &[b"abc"]), hmac_sm3(b"K", &[b"abc"]));
    }
}
