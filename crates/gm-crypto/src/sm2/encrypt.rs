//! SM2 public-key encryption (GB/T 32918.4), ciphertext in the GM/T 0009 ASN.1 form
//! `SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING, ciphertext OCTET STRING }`
//! (C1 as coordinates, then C3, then C2), which is what Tongsuo's `pkeyutl -encrypt`
//! and TLCP's ECC key exchange (the encrypted pre-master secret) use.

use ::sm2::{NonZeroScalar, PublicKey, SecretKey};
use primeorder::elliptic_curve::ops::MulByGenerator;
use rand_core::OsRng;
use subtle::ConstantTimeEq;

use super::asn1::{self, Ciphertext};
use super::point::{coordinates, from_coordinates, kdf, mul};
use crate::hash::Sm3;
use crate::Error;
use sm3::Digest;

/// Encrypts `msg` to `key`; returns the DER ciphertext.
pub fn encrypt(key: &PublicKey, msg: &[u8]) -> Result<Vec<u8>, Error> {
    loop {
        let k = NonZeroScalar::random(&mut OsRng);
        // An all-zero keystream (probability ~2^-256 per try) means: pick another k.
        if let Some(der) = encrypt_with(key, msg, &k)? {
            return Ok(der);
        }
    }
}

/// Encryption with a given ephemeral scalar `k`; `None` when `k` gives an all-zero
/// keystream. Separate so the standard's example (a fixed k) can be checked.
fn encrypt_with(key: &PublicKey, msg: &[u8], k: &NonZeroScalar) -> Result<Option<Vec<u8>>, Error> {
    let (x1, y1) =
        coordinates(&::sm2::ProjectivePoint::mul_by_generator(k.as_ref())).expect("k is non-zero");
    let (x2, y2) = mul(&key.to_projective(), k).expect("the key is a valid point");
    let mut c2 = kdf(&[&x2, &y2], msg.len());
    if !msg.is_empty() && c2.iter().all(|&b| b == 0) {
        return Ok(None);
    }
    c2.iter_mut().zip(msg).for_each(|(c, m)| *c ^= m);
    let c3 = Sm3::new()
        .chain_update(x2)
        .chain_update(msg)
        .chain_update(y2)
        .finalize();
    Ok(Some(asn1::encode_ciphertext(&Ciphertext {
        x: x1,
        y: y1,
        hash: &c3,
        ciphertext: &c2,
    })))
}

/// Decrypts a DER SM2 ciphertext with `key`; fails with [`Error::Auth`] when its hash
/// does not match (wrong key or tampering).
pub fn decrypt(key: &SecretKey, der: &[u8]) -> Result<Vec<u8>, Error> {
    let c = asn1::decode_ciphertext(der)?;
    let c1 = from_coordinates(&c.x, &c.y)?;
    let (x2, y2) = mul(&c1.to_projective(), key.to_nonzero_scalar().as_ref()).ok_or(Error::Auth)?;
    let mut msg = kdf(&[&x2, &y2], c.ciphertext.len());
    if !msg.is_empty() && msg.iter().all(|&b| b == 0) {
        return Err(Error::Auth);
    }
    msg.iter_mut().zip(c.ciphertext).for_each(|(m, c)| *m ^= c);
    let u = Sm3::new()
        .chain_update(x2)
        .chain_update(&msg)
        .chain_update(y2)
        .finalize();
    if bool::from(u.as_slice().ct_eq(c.hash)) {
        Ok(msg)
    } else {
        Err(Error::Auth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm2::keys::tests::{cert_der, read};
    use crate::sm2::keys::{private_key_from_pem, public_key_from_cert};
    use crate::test_hex::unhex;

    /// GM/T 0003.5 (GB/T 32918.5) encryption example on the recommended curve, in the
    /// ASN.1 form (the same bytes OpenSSL/Tongsuo's SM2 tests expect).
    #[test]
    fn standard_example() {
        let secret = SecretKey::from_slice(&unhex(
            "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8",
        ))
        .unwrap();
        let k = NonZeroScalar::try_from(
            &unhex("59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21")[..],
        )
        .unwrap();
        let want = unhex(
            "307c022004ebfc718e8d1798620432268e77feb6415e2ede0e073c0f4f640ecd2e149a73
             022100e858f9d81e5430a57b36daab8f950a3c64e6ee6a63094d99283aff767e124df0
             042059983c18f809e262923c53aec295d30383b54e39d609d160afcb1908d0bd8766
             041321886ca989ca9c7d58087307ca93092d651efa",
        );
        let got = encrypt_with(&secret.public_key(), b"encryption standard", &k)
            .unwrap()
            .unwrap();
        assert_eq!(got, want);
        assert_eq!(decrypt(&secret, &want).unwrap(), b"encryption standard");
    }

    /// Made by `tongsuo pkeyutl -encrypt -certin -inkey server_enc.crt` (Tongsuo 8.5.0).
    #[test]
    fn decrypts_what_tongsuo_encrypted() {
        let key = private_key_from_pem(&read("server_enc.key")).unwrap();
        let ct = unhex(
            "308198022018e950392f8747c8a3179680c18653cae1da4d9e8a8287cabf3871e37b9e9596
             02202a96811a2cea471c93b4f038d8784819954743c7b05156149e19f237a3f04ed7
             04205db6999dbde02e367b67d17b2e6cee137d3a37cb58237c6aefe22ef6407871ee
             043056de8ec319559e929f121e967fad8f80481f3258c030d13a0a1aeae1bd78968d
             c3f53395461eb524b960446f903eafca",
        );
        assert_eq!(
            decrypt(&key, &ct).unwrap(),
            b"pre-master-secret-48-bytes-long-xxxxxxxxxxxxxxxx"
        );
    }

    #[test]
    fn round_trip_and_tamper() {
        let key = private_key_from_pem(&read("server_enc.key")).unwrap();
        let public = public_key_from_cert(&cert_der("server_enc.crt")).unwrap();
        let pms = [3u8; 48];
        let mut ct = encrypt(&public, &pms).unwrap();
        assert_eq!(decrypt(&key, &ct).unwrap(), pms);
        let last = ct.len() - 1;
        ct[last] ^= 1;
        assert_eq!(decrypt(&key, &ct), Err(Error::Auth));
        let other = private_key_from_pem(&read("client_enc.key")).unwrap();
        ct[last] ^= 1;
        assert_eq!(decrypt(&other, &ct), Err(Error::Auth));
    }
}
