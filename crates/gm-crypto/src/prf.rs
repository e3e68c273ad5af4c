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
