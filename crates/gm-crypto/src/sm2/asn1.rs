//! The ASN.1 forms SM2 values travel in: signatures as `SEQUENCE { r, s }` (GM/T 0009,
//! same shape as ECDSA's) and ciphertexts as `SEQUENCE { x, y, hash, ciphertext }`.

use der::asn1::{OctetStringRef, UintRef};
use der::{Decode, Encode, Sequence};

use crate::Error;

/// Length of a coordinate or scalar in bytes.
pub(crate) const FIELD_LEN: usize = 32;

#[derive(Sequence)]
struct SignatureDer<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

#[derive(Sequence)]
struct CiphertextDer<'a> {
    x: UintRef<'a>,
    y: UintRef<'a>,
    hash: OctetStringRef<'a>,
    ciphertext: OctetStringRef<'a>,
}

/// An SM2 ciphertext's parts, C1 as its coordinates.
pub(crate) struct Ciphertext<'a> {
    pub x: [u8; FIELD_LEN],
    pub y: [u8; FIELD_LEN],
    pub hash: &'a [u8],
    pub ciphertext: &'a [u8],
}

pub(crate) fn encode_signature(r: &[u8], s: &[u8]) -> Vec<u8> {
    let sig = SignatureDer {
        r: uint(r),
        s: uint(s),
    };
    sig.to_der().expect("a signature always encodes")
}

pub(crate) fn decode_signature(der: &[u8]) -> Result<([u8; FIELD_LEN], [u8; FIELD_LEN]), Error> {
    let sig = SignatureDer::from_der(der).map_err(|_| Error::Invalid("SM2 signature DER"))?;
    Ok((fixed(sig.r)?, fixed(sig.s)?))
}

pub(crate) fn encode_ciphertext(c: &Ciphertext<'_>) -> Vec<u8> {
    let der = CiphertextDer {
        x: uint(&c.x),
        y: uint(&c.y),
        hash: OctetStringRef::new(c.hash).expect("short"),
        ciphertext: OctetStringRef::new(c.ciphertext).expect("bounded by the caller"),
    };
    der.to_der().expect("a ciphertext always encodes")
}

pub(crate) fn decode_ciphertext(der: &[u8]) -> Result<Ciphertext<'_>, Error> {
    let c = CiphertextDer::from_der(der).map_err(|_| Error::Invalid("SM2 ciphertext DER"))?;
    Ok(Ciphertext {
        x: fixed(c.x)?,
        y: fixed(c.y)?,
        hash: c.hash.as_bytes(),
        ciphertext: c.ciphertext.as_bytes(),
    })
}

fn uint(bytes: &[u8]) -> UintRef<'_> {
    UintRef::new(bytes).expect("32-byte integers always encode")
}

/// A big-endian integer left-padded to the field length.
fn fixed(n: UintRef<'_>) -> Result<[u8; FIELD_LEN], Error> {
    let bytes = n.as_bytes();
    let mut out = [0u8; FIELD_LEN];
    if bytes.len() > FIELD_LEN {
        return Err(Error::Invalid("SM2 integer longer than 32 bytes"));
    }
    out[FIELD_LEN - bytes.len()..].copy_from_slice(bytes);
    Ok(out)
}
