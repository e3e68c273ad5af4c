//! SM2 key exchange in both forms the project's protocols use:
//! - raw ECDH on the SM2 curve ([`EphemeralKey::diffie_hellman`]): RFC 8998's curveSM2
//!   TLS 1.3 key share, uncompressed points, the shared secret being the x coordinate;
//! - the SM2 key-agreement protocol of GB/T 32918.3 ([`KeyAgreement`]), which TLCP's
//!   ECDHE suites use. RustCrypto's `sm2` crate does not have it, so it is written
//!   here on the crate's (constant-time) curve arithmetic. The optional confirmation
//!   hashes S1/SB/S2/SA are left out: TLCP confirms keys with its Finished messages.

use ::sm2::elliptic_curve::sec1::ToEncodedPoint;
use ::sm2::elliptic_curve::PrimeField;
use ::sm2::{NonZeroScalar, PublicKey, Scalar, SecretKey};
use rand_core::OsRng;

use super::asn1::FIELD_LEN;
use super::keys::public_key_from_sec1;
use super::point::{kdf, mul, z_digest};
use crate::Error;

/// A fresh SM2 key pair for one exchange, dropped after it.
pub struct EphemeralKey {
    secret: NonZeroScalar,
    public: PublicKey,
}

impl EphemeralKey {
    /// A new random key pair.
    pub fn generate() -> Self {
        Self::from_secret(NonZeroScalar::random(&mut OsRng))
    }

    fn from_secret(secret: NonZeroScalar) -> Self {
        let public = PublicKey::from_secret_scalar(&secret);
        Self { secret, public }
    }

    /// The public point.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The public point in uncompressed SEC1 form (`04 || x || y`, 65 bytes), as the
    /// TLS 1.3 key share and TLCP's ServerKeyExchange carry it.
    pub fn public_sec1(&self) -> Vec<u8> {
        self.public.to_encoded_point(false).as_bytes().to_vec()
    }

    /// Raw ECDH with a peer's SEC1 point: the x coordinate of `secret * peer`.
    pub fn diffie_hellman(&self, peer_sec1: &[u8]) -> Result<[u8; FIELD_LEN], Error> {
        let peer = public_key_from_sec1(peer_sec1)?;
        let (x, _) = mul(&peer.to_projective(), self.secret.as_ref()).ok_or(Error::Auth)?;
        Ok(x)
    }
}

/// One party's long-term view of a GB/T 32918.3 key agreement: its own certificate key
/// and ID, the peer's, and whether it is the initiator ("user A", whose Z comes first
/// in the KDF input).
pub struct KeyAgreement<'a> {
    /// This party's static (certificate) private key.
    pub own_key: &'a SecretKey,
    /// This party's distinguishing ID (usually [`super::DEFAULT_ID`]).
    pub own_id: &'a str,
    /// The peer's static (certificate) public key.
    pub peer_key: &'a PublicKey,
    /// The peer's distinguishing ID.
    pub peer_id: &'a str,
    /// True for user A (the initiator), false for user B (the responder).
    pub initiator: bool,
}

impl KeyAgreement<'_> {
    /// The shared key of `len` bytes from this party's ephemeral key and the peer's
    /// ephemeral public key: `KDF(xU || yU || Z_A || Z_B, len)`.
    pub fn derive(
        &self,
        own_ephemeral: &EphemeralKey,
        peer_ephemeral: &PublicKey,
        len: usize,
    ) -> Result<Vec<u8>, Error> {
        let own_x = x_bar(&own_ephemeral.public);
        let peer_x = x_bar(peer_ephemeral);
        // t = (d + x̄_own * r) mod n
        let t: Scalar =
            *self.own_key.to_nonzero_scalar().as_ref() + own_x * own_ephemeral.secret.as_ref();
        // U = [h * t](P_peer + [x̄_peer] R_peer), h = 1 for the SM2 curve.
        let base = self.peer_key.to_projective() + peer_ephemeral.to_projective() * peer_x;
        let (xu, yu) = mul(&base, &t).ok_or(Error::Auth)?;
        let own_z = z_digest(self.own_id, &self.own_key.public_key())?;
        let peer_z = z_digest(self.peer_id, self.peer_key)?;
        let (za, zb) = if self.initiator {
            (own_z, peer_z)
        } else {
            (peer_z, own_z)
        };
        Ok(kdf(&[&xu, &yu, &za, &zb], len))
    }
}

/// `x̄ = 2^w + (x & (2^w - 1))` with `w = 127` for the 256-bit SM2 order.
fn x_bar(point: &PublicKey) -> Scalar {
    let encoded = point.to_encoded_point(false);
    let x = encoded.x().expect("a public key is never the identity");
    let mut bytes = [0u8; FIELD_LEN];
    bytes[16..].copy_from_slice(&x[16..]);
    bytes[16] |= 0x80;
    Scalar::from_repr(bytes.into()).expect("below 2^128, so below the order")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm2::keys::private_key_from_pem;
    use crate::sm2::keys::tests::read;
    use crate::sm2::DEFAULT_ID;

    #[test]
    fn ecdh_agrees() {
        let a = EphemeralKey::generate();
        let b = EphemeralKey::generate();
        assert_eq!(a.public_sec1().len(), 65);
        assert_eq!(
            a.diffie_hellman(&b.public_sec1()).unwrap(),
            b.diffie_hellman(&a.public_sec1()).unwrap()
        );
        assert!(a.diffie_hellman(&[4u8; 65]).is_err());
    }

    #[test]
    fn key_agreement_agrees_and_binds_ids() {
        let ka = private_key_from_pem(&read("client_enc.key")).unwrap();
        let kb = private_key_from_pem(&read("server_enc.key")).unwrap();
        let (pa, pb) = (ka.public_key(), kb.public_key());
        let (ra, rb) = (EphemeralKey::generate(), EphemeralKey::generate());
        let a = KeyAgreement {
            own_key: &ka,
            own_id: DEFAULT_ID,
            peer_key: &pb,
            peer_id: DEFAULT_ID,
            initiator: true,
        };
        let b = KeyAgreement {
            own_key: &kb,
            own_id: DEFAULT_ID,
            peer_key: &pa,
            peer_id: DEFAULT_ID,
            initiator: false,
        };
        // Each side sees the other's ephemeral key as it travels: an uncompressed point.
        let rb_seen = public_key_from_sec1(&rb.public_sec1()).unwrap();
        let ra_seen = public_key_from_sec1(&ra.public_sec1()).unwrap();
        let key_a = a.derive(&ra, &rb_seen, 48).unwrap();
        assert_eq!(key_a, b.derive(&rb, &ra_seen, 48).unwrap());
        let wrong_id = KeyAgreement {
            peer_id: "other",
            ..a
        };
        assert_ne!(key_a, wrong_id.derive(&ra, rb.public_key(), 48).unwrap());
    }
}
