//! The curve arithmetic shared by encryption and key agreement: scalar multiplication
//! to affine coordinates, the SM3 KDF of GB/T 32918.4 and the user hash `Z`.

use ::sm2::elliptic_curve::sec1::ToEncodedPoint;
use ::sm2::{ProjectivePoint, PublicKey, Scalar, Sm2};
use primeorder::PrimeCurveParams;
use sm3::{Digest, Sm3};

use super::asn1::FIELD_LEN;
use crate::Error;

/// The affine coordinates of `k * point`; `None` for the point at infinity.
pub(crate) fn mul(
    point: &ProjectivePoint,
    k: &Scalar,
) -> Option<([u8; FIELD_LEN], [u8; FIELD_LEN])> {
    coordinates(&(*point * k))
}

/// The affine coordinates of a point; `None` for the point at infinity.
pub(crate) fn coordinates(p: &ProjectivePoint) -> Option<([u8; FIELD_LEN], [u8; FIELD_LEN])> {
    let encoded = p.to_affine().to_encoded_point(false);
    let x = encoded.x()?;
    let y = encoded.y()?;
    Some(((*x).into(), (*y).into()))
}

/// The public key with these coordinates, checked to be on the curve.
pub(crate) fn from_coordinates(
    x: &[u8; FIELD_LEN],
    y: &[u8; FIELD_LEN],
) -> Result<PublicKey, Error> {
    let mut sec1 = [0u8; 1 + 2 * FIELD_LEN];
    sec1[0] = 4;
    sec1[1..1 + FIELD_LEN].copy_from_slice(x);
    sec1[1 + FIELD_LEN..].copy_from_slice(y);
    PublicKey::from_sec1_bytes(&sec1).map_err(|_| Error::Invalid("SM2 point not on the curve"))
}

/// The key derivation function of GB/T 32918.4 section 5.4.3: SM3 over
/// `z || counter` with a 32-bit big-endian counter from 1, truncated to `len` bytes.
pub(crate) fn kdf(z: &[&[u8]], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + FIELD_LEN);
    let mut counter: u32 = 1;
    while out.len() < len {
        let mut h = Sm3::new();
        for part in z {
            h.update(part);
        }
        h.update(counter.to_be_bytes());
        out.extend_from_slice(&h.finalize());
        counter += 1;
    }
    out.truncate(len);
    out
}

/// `Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA)`, the hash binding a user's
/// distinguishing ID to their public key (GB/T 32918.2 section 5.5), which key
/// agreement mixes into the shared key.
pub fn z_digest(id: &str, key: &PublicKey) -> Result<[u8; 32], Error> {
    let bits = u16::try_from(id.len() * 8).map_err(|_| Error::Invalid("SM2 ID too long"))?;
    let encoded = key.to_encoded_point(false);
    let mut h = Sm3::new();
    h.update(bits.to_be_bytes());
    h.update(id.as_bytes());
    h.update(Sm2::EQUATION_A.to_bytes());
    h.update(Sm2::EQUATION_B.to_bytes());
    h.update(Sm2::GENERATOR.0.to_bytes());
    h.update(Sm2::GENERATOR.1.to_bytes());
    h.update(encoded.x().expect("a public key is never the identity"));
    h.update(encoded.y().expect("uncompressed"));
    Ok(h.finalize().into())
}
