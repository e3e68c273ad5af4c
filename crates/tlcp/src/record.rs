//! The TLCP record layer (GB/T 38636-2020 6.3): 5-byte headers with version 0x0101,
//! and the two protections of the suites — SM4-CBC with HMAC-SM3 (MAC, then pad, then
//! encrypt, with an explicit random IV per record) and SM4-GCM (4-byte implicit IV,
//! 8-byte explicit nonce = sequence number, TLS 1.2's AAD).

use gm_crypto::hash::{hmac_sm3, SM3_LEN};
use gm_crypto::sm4::{self, AeadMode, Sm4Aead, BLOCK_LEN, KEY_LEN, NONCE_LEN, TAG_LEN};
use subtle::ConstantTimeEq;

use crate::error::{AlertDescription, Error};

/// The record-layer version of TLCP ("GMTLS 1.1").
pub(crate) const VERSION: u16 = 0x0101;
/// Record header length: type, version, length.
pub(crate) const HEADER_LEN: usize = 5;
/// The most plaintext one record carries.
pub(crate) const MAX_PLAINTEXT: usize = 1 << 14;
/// The most ciphertext one record may carry (TLS 1.1's 2^14 + 2048).
pub(crate) const MAX_FRAGMENT: usize = MAX_PLAINTEXT + 2048;
/// Explicit nonce length of the GCM suites.
const EXPLICIT_NONCE_LEN: usize = 8;

/// The record content types TLCP uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentType {
    ChangeCipherSpec = 20,
    Alert = 21,
    Handshake = 22,
    ApplicationData = 23,
}

impl ContentType {
    /// The content type of wire byte `b`.
    pub(crate) fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            20 => Self::ChangeCipherSpec,
            21 => Self::Alert,
            22 => Self::Handshake,
            23 => Self::ApplicationData,
            _ => return None,
        })
    }
}

/// How one direction's records are protected.
enum Protection {
    /// Before ChangeCipherSpec.
    Plain,
    /// SM4-CBC + HMAC-SM3.
    Cbc {
        key: [u8; KEY_LEN],
        mac_key: [u8; SM3_LEN],
    },
    /// SM4-GCM.
    Gcm { aead: Sm4Aead, fixed_iv: [u8; 4] },
}

/// One direction of a connection: its protection and its record sequence number.
pub(crate) struct RecordState {
    protection: Protection,
    seq: u64,
}

impl RecordState {
    /// The unprotected state every connection starts in.
    pub(crate) fn plain() -> Self {
        Self {
            protection: Protection::Plain,
            seq: 0,
        }
    }

    /// SM4-CBC with HMAC-SM3 under these keys.
    pub(crate) fn cbc(key: &[u8], mac_key: &[u8]) -> Self {
        Self {
            protection: Protection::Cbc {
                key: key.try_into().expect("key block slices are sized"),
                mac_key: mac_key.try_into().expect("key block slices are sized"),
            },
            seq: 0,
        }
    }

    /// SM4-GCM under `key` with the implicit part of the nonce.
    pub(crate) fn gcm(key: &[u8], fixed_iv: &[u8]) -> Self {
        Self {
            protection: Protection::Gcm {
                aead: Sm4Aead::new(AeadMode::Gcm, key).expect("key block slices are sized"),
                fixed_iv: fixed_iv.try_into().expect("key block slices are sized"),
            },
            seq: 0,
        }
    }

    /// The most bytes sealing adds to a record's plaintext.
    #[cfg(test)]
    fn max_overhead() -> usize {
        HEADER_LEN + BLOCK_LEN + SM3_LEN + BLOCK_LEN
    }

    /// Appends one record of `typ` carrying `payload` (at most [`MAX_PLAINTEXT`] bytes).
    pub(crate) fn seal(&mut self, typ: ContentType, payload: &[u8], out: &mut Vec<u8>) {
        debug_assert!(payload.len() <= MAX_PLAINTEXT);
        let start = out.len();
        out.extend_from_slice(&[typ as u8, 1, 1, 0, 0]);
        match &self.protection {
            Protection::Plain => out.extend_from_slice(payload),
            Protection::Cbc { key, mac_key } => {
                let mut iv = [0u8; BLOCK_LEN];
                crate::random::fill(&mut iv);
                out.extend_from_slice(&iv);
                let body = out.len();
                out.extend_from_slice(payload);
                let mac = record_mac(mac_key, self.seq, typ as u8, payload);
                out.extend_from_slice(&mac);
                let pad = BLOCK_LEN - 1 - (out.len() - body) % BLOCK_LEN;
                out.resize(out.len() + pad + 1, pad as u8);
                sm4::cbc_encrypt(key, &iv, &mut out[body..]).expect("padded to whole blocks");
            }
            Protection::Gcm { aead, fixed_iv } => {
                let explicit = self.seq.to_be_bytes();
                out.extend_from_slice(&explicit);
                let body = out.len();
                out.extend_from_slice(payload);
                let aad = aad(self.seq, typ as u8, payload.len());
                let tag = aead
                    .seal_in_place(&nonce(fixed_iv, &explicit), &aad, &mut out[body..])
                    .expect("records are far below the GCM limit");
                out.extend_from_slice(&tag);
            }
        }
        let len = (out.len() - start - HEADER_LEN) as u16;
        out[start + 3..start + HEADER_LEN].copy_from_slice(&len.to_be_bytes());
        self.seq += 1;
    }

    /// Opens one record's `fragment` of type `typ` in place; returns the plaintext.
    /// Padding and MAC failures are one `bad_record_mac`, told apart by no one.
    pub(crate) fn open<'a>(&mut self, typ: u8, fragment: &'a mut [u8]) -> Result<&'a [u8], Error> {
        let bad_mac = || Error::alert(AlertDescription::BAD_RECORD_MAC, "record failed its MAC");
        let plain: &'a [u8] = match &self.protection {
            Protection::Plain => fragment,
            Protection::Cbc { key, mac_key } => {
                // IV, then at least one block holding the MAC and the padding.
                let min = BLOCK_LEN + SM3_LEN + BLOCK_LEN;
                if fragment.len() < min || !fragment.len().is_multiple_of(BLOCK_LEN) {
                    return Err(bad_mac());
                }
                let (iv, body) = fragment.split_at_mut(BLOCK_LEN);
                sm4::cbc_decrypt(key, iv, body).expect("length checked above");
                let unpadded = sm4::tls_unpad(body);
                // With bad padding, check a MAC over all the data anyway, so both
                // failures cost about the same.
                let len = unpadded.unwrap_or(body.len());
                let content = len.saturating_sub(SM3_LEN);
                let want = record_mac(mac_key, self.seq, typ, &body[..content]);
                let got = &body[content..(content + SM3_LEN).min(body.len())];
                let mac_ok: bool = want[..got.len()].ct_eq(got).into();
                if unpadded.is_none() || len < SM3_LEN || !mac_ok {
                    return Err(bad_mac());
                }
                &body[..content]
            }
            Protection::Gcm { aead, fixed_iv } => {
                if fragment.len() < EXPLICIT_NONCE_LEN + TAG_LEN {
                    return Err(bad_mac());
                }
                let (explicit, rest) = fragment.split_at_mut(EXPLICIT_NONCE_LEN);
                let (body, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
                let aad = aad(self.seq, typ, body.len());
                let explicit: [u8; EXPLICIT_NONCE_LEN] = (&*explicit).try_into().expect("split");
                aead.open_in_place(&nonce(fixed_iv, &explicit), &aad, body, tag)
                    .map_err(|_| bad_mac())?;
                body
            }
        };
        if plain.len() > MAX_PLAINTEXT {
            return Err(Error::alert(
                AlertDescription::RECORD_OVERFLOW,
                format!("record of {} plaintext bytes", plain.len()),
            ));
        }
        self.seq += 1;
        Ok(plain)
    }
}

/// HMAC-SM3 over `seq || type || version || length || payload` (TLS 1.1 6.2.3.1).
fn record_mac(mac_key: &[u8], seq: u64, typ: u8, payload: &[u8]) -> [u8; SM3_LEN] {
    let header = header_for_mac(seq, typ, payload.len());
    hmac_sm3(mac_key, &[&header, payload])
}

/// The GCM additional data: the same fields as the CBC MAC's header.
fn aad(seq: u64, typ: u8, len: usize) -> [u8; 13] {
    header_for_mac(seq, typ, len)
}

fn header_for_mac(seq: u64, typ: u8, len: usize) -> [u8; 13] {
    let mut h = [0u8; 13];
    h[..8].copy_from_slice(&seq.to_be_bytes());
    h[8] = typ;
    h[9..11].copy_from_slice(&VERSION.to_be_bytes());
    h[11..].copy_from_slice(&(len as u16).to_be_bytes());
    h
}

fn nonce(fixed_iv: &[u8; 4], explicit: &[u8; EXPLICIT_NONCE_LEN]) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n[..4].copy_from_slice(fixed_iv);
    n[4..].copy_from_slice(explicit);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(gcm: bool) -> (RecordState, RecordState) {
        let make = || {
            if gcm {
                RecordState::gcm(&[7; 16], &[1, 2, 3, 4])
            } else {
                RecordState::cbc(&[7; 16], &[9; 32])
            }
        };
        (make(), make())
    }

    fn open_one(rx: &mut RecordState, record: &mut [u8]) -> Result<Vec<u8>, Error> {
        let typ = record[0];
        rx.open(typ, &mut record[HEADER_LEN..]).map(<[u8]>::to_vec)
    }

    #[test]
    fn seal_open_round_trip_with_sequence_numbers() {
        for gcm in [false, true] {
            let (mut tx, mut rx) = pair(gcm);
            for len in [0usize, 1, 15, 16, 31, 32, 1000, MAX_PLAINTEXT] {
                let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let mut out = Vec::new();
                tx.seal(ContentType::ApplicationData, &payload, &mut out);
                assert_eq!(&out[..3], &[23, 1, 1]);
                assert_eq!(
                    usize::from(u16::from_be_bytes([out[3], out[4]])),
                    out.len() - 5
                );
                assert!(out.len() - payload.len() <= RecordState::max_overhead());
                assert_eq!(
                    open_one(&mut rx, &mut out).unwrap(),
                    payload,
                    "gcm={gcm} len={len}"
                );
            }
        }
    }

    #[test]
    fn tampering_replay_and_type_change_fail_as_bad_record_mac() {
        for gcm in [false, true] {
            let (mut tx, mut rx) = pair(gcm);
            let mut rec = Vec::new();
            tx.seal(ContentType::ApplicationData, b"hello tlcp", &mut rec);
            let mut flipped = rec.clone();
            let last = flipped.len() - 1;
            flipped[last] ^= 1;
            let bad = |r: Result<Vec<u8>, Error>| matches!(r, Err(Error::Protocol { alert, .. }) if alert == AlertDescription::BAD_RECORD_MAC);
            assert!(bad(open_one(&mut rx, &mut flipped)), "gcm={gcm}");
            let mut retyped = rec.clone();
            retyped[0] = 22;
            let (_, mut rx2) = pair(gcm);
            assert!(bad(open_one(&mut rx2, &mut retyped)));
            // The right record at the wrong sequence number (a replay) fails too.
            let (_, mut rx3) = pair(gcm);
            open_one(&mut rx3, &mut rec.clone()).unwrap();
            assert!(bad(open_one(&mut rx3, &mut rec)));
            // Truncated below the minimum.
            let (_, mut rx4) = pair(gcm);
            assert!(bad(open_one(&mut rx4, &mut rec[..HEADER_LEN + 8])));
        }
    }

    #[test]
    fn plain_records_pass_through_and_overflow_is_refused() {
        let mut tx = RecordState::plain();
        let mut out = Vec::new();
        tx.seal(ContentType::Handshake, b"abc", &mut out);
        assert_eq!(out, [22, 1, 1, 0, 3, b'a', b'b', b'c']);
        let mut big = vec![0u8; MAX_PLAINTEXT + 1];
        let err = RecordState::plain().open(22, &mut big).unwrap_err();
        assert!(
            matches!(err, Error::Protocol { alert, .. } if alert == AlertDescription::RECORD_OVERFLOW)
        );
    }
}
