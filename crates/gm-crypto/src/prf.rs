//! The TLS 1.2-style PRF with HMAC-SM3 (RFC 5246 section 5, `P_SM3`), which TLCP
//! (GB/T 38636) uses for its master secret, key block and Finished messages.

use crate::hash::hmac_sm3;

/// Fills `out` with `PRF(secret, label, seed) = P_SM3(secret, label || seed)`.
pub fn prf_sm3(secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) {
    // A(1) = HMAC(secret, label || seed); A(i) = HMAC(secret, A(i-1)).
    let mut a = hmac_sm3(secret, &[label, seed]);
    for chunk in out.chunks_mut(a.len()) {
        let block = hmac_sm3(secret, &[&a, label, seed]);
        chunk.copy_from_slice(&block[..chunk.len()]);
        a = hmac_sm3(secret, &[&a]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_hex::unhex;

    /// Tongsuo 8.5.0: `tongsuo kdf -keylen 100 -kdfopt digest:SM3 -kdfopt secret:secret
    /// -kdfopt seed:"master secretseed" TLS1-PRF` (its seed is label || seed).
    #[test]
    fn matches_tongsuo() {
        let mut out = [0u8; 100];
        prf_sm3(b"secret", b"master secret", b"seed", &mut out);
        let want = unhex(
            "f9fa0ec2a2f0eb85654e67bb1d3116eb99f903ad9b56959f278d3bf3a9b70281
             f2cd5401dc29ea39266a5b16b3c01fb5fa466abd0eeb220ea9c77f719d155179
             1db63e318d24124bda0da8f4f11272e6e4369489ff7141e07802ab0f519b3092
             29ebc2b9",
        );
        assert_eq!(out.to_vec(), want);
    }

    #[test]
    fn prefix_stable_and_keyed() {
        let mut long = [0u8; 100];
        let mut short = [0u8; 48];
        prf_sm3(b"secret", b"master secret", b"seed", &mut long);
        prf_sm3(b"secret", b"master secret", b"seed", &mut short);
        assert_eq!(long[..48], short);
        // The first block is HMAC(secret, A(1) || label || seed).
        let a1 = hmac_sm3(b"secret", &[b"master secret", b"seed"]);
        assert_eq!(
            long[..32],
            hmac_sm3(b"secret", &[&a1, b"master secret", b"seed"])
        );
        prf_sm3(b"Secret", b"master secret", b"seed", &mut short);
        assert_ne!(long[..48], short);
    }
}
