//! SM2 signatures (GB/T 32918.2) with a distinguishing ID, DER-encoded as TLS, TLCP and
//! X.509 carry them. Signing is RFC 6979-deterministic hedged with fresh randomness
//! (RustCrypto `sm2`), so a weak RNG cannot leak the key.

use ::sm2::dsa::signature::{RandomizedSigner, Verifier};
use ::sm2::dsa::{Signature, SigningKey, VerifyingKey};
use ::sm2::{PublicKey, SecretKey};
use rand_core::OsRng;

use super::asn1;
use crate::Error;

/// Signs `msg` as `id`'s holder of `key`; returns the DER `SEQUENCE { r, s }`.
pub fn sign(key: &SecretKey, id: &str, msg: &[u8]) -> Result<Vec<u8>, Error> {
    let signer = SigningKey::new(id, key).map_err(|_| Error::Invalid("SM2 ID too long"))?;
    let sig: Signature = signer
        .try_sign_with_rng(&mut OsRng, msg)
        .map_err(|_| Error::Invalid("SM2 signing failed"))?;
    Ok(asn1::encode_signature(&sig.r_bytes(), &sig.s_bytes()))
}

/// Checks a DER SM2 signature of `msg` by `id`'s holder of `key`.
pub fn verify(key: &PublicKey, id: &str, msg: &[u8], der: &[u8]) -> Result<(), Error> {
    let (r, s) = asn1::decode_signature(der)?;
    let sig = Signature::from_scalars(r, s).map_err(|_| Error::Auth)?;
    let verifier = VerifyingKey::new(id, *key).map_err(|_| Error::Invalid("SM2 ID too long"))?;
    verifier.verify(msg, &sig).map_err(|_| Error::Auth)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm2::keys::tests::{cert_der, read};
    use crate::sm2::keys::{private_key_from_pem, public_key_from_cert};
    use crate::sm2::DEFAULT_ID;
    use crate::test_hex::unhex;

    /// GM/T 0003.5 (GB/T 32918.5) example on the recommended curve: the published
    /// signature of "message digest" verifies (the crate derives k itself, so signing
    /// cannot reproduce it; the published k is what Tongsuo's own tests inject).
    #[test]
    fn verifies_the_standards_signature() {
        let public = PublicKey::from_sec1_bytes(&unhex(
            "04 09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020
                ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13",
        ))
        .unwrap();
        let der = asn1::encode_signature(
            &unhex("f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3"),
            &unhex("b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa"),
        );
        verify(&public, DEFAULT_ID, b"message digest", &der).unwrap();
        assert_eq!(
            verify(&public, DEFAULT_ID, b"message digesT", &der),
            Err(Error::Auth)
        );
        assert_eq!(
            verify(&public, "other id", b"message digest", &der),
            Err(Error::Auth)
        );
    }

    /// Made by `tongsuo dgst -sm3 -sign server_sign.key` (Tongsuo 8.5.0, default ID).
    #[test]
    fn verifies_a_tongsuo_signature() {
        let public = public_key_from_cert(&cert_der("server_sign.crt")).unwrap();
        let sig = unhex(
            "304502203ff1b242174ee27867bb2dce1152fa5eea3f9641dd7c2c22085929df5d1ddd0a
             022100fffc26b297a81da95ce796fac34cd36a9948adcbcf10b672bb80c2113e08c1b8",
        );
        let msg = b"pre-master-secret-48-bytes-long-xxxxxxxxxxxxxxxx";
        verify(&public, DEFAULT_ID, msg, &sig).unwrap();
    }

    #[test]
    fn round_trip_with_tongsuo_key() {
        let key = private_key_from_pem(&read("server_sign.key")).unwrap();
        let public = public_key_from_cert(&cert_der("server_sign.crt")).unwrap();
        let sig = sign(&key, DEFAULT_ID, b"hello").unwrap();
        verify(&public, DEFAULT_ID, b"hello", &sig).unwrap();
        assert!(verify(&public, DEFAULT_ID, b"hellO", &sig).is_err());
        assert!(verify(&public, DEFAULT_ID, b"hello", &sig[1..]).is_err());
    }
}
