//! SM4 (GB/T 32907) block cipher modes: CBC for the TLCP CBC suites, GCM and CCM with a
//! 12-byte nonce and a 16-byte tag for the TLCP GCM suites and RFC 8998.
//!
//! The modes are RustCrypto's; the cipher under them, [`Sm4`], is this crate's own
//! table-driven SM4, over twice as fast as the `sm4` crate but not constant-time against
//! cache-timing attacks (the module `block` explains the trade-off).

use aes_gcm::aead::{AeadInPlace, KeyInit};
use cipher::consts::{U12, U16};
use cipher::inout::InOutBuf;
use cipher::{Block, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use subtle::{Choice, ConstantTimeEq};

use crate::Error;

mod block;
mod tables;

pub use block::Sm4;

/// SM4 key length in bytes.
pub const KEY_LEN: usize = 16;
/// SM4 block length in bytes (also the CBC IV length).
pub const BLOCK_LEN: usize = 16;
/// AEAD nonce length (GCM and CCM) in bytes.
pub const NONCE_LEN: usize = 12;
/// AEAD tag length (GCM and CCM) in bytes.
pub const TAG_LEN: usize = 16;

/// SM4-GCM with a 12-byte nonce (RFC 8998 `AEAD_SM4_GCM`).
pub type Sm4Gcm = aes_gcm::AesGcm<Sm4, U12>;
/// SM4-CCM with a 16-byte tag and 12-byte nonce (RFC 8998 `AEAD_SM4_CCM`).
pub type Sm4Ccm = ccm::Ccm<Sm4, U16, U12>;

/// Encrypts whole blocks in place with SM4-CBC; the caller adds the padding (TLS
/// padding: see [`tls_pad`] and [`tls_unpad`]).
pub fn cbc_encrypt(key: &[u8], iv: &[u8], buf: &mut [u8]) -> Result<(), Error> {
    check_blocks(buf)?;
    let mut enc = cbc::Encryptor::<Sm4>::new_from_slices(key, iv)
        .map_err(|_| Error::Invalid("SM4-CBC key and IV are 16 bytes"))?;
    enc.encrypt_blocks_inout_mut(blocks(buf));
    Ok(())
}

/// Decrypts whole blocks in place with SM4-CBC; the caller checks and strips padding.
pub fn cbc_decrypt(key: &[u8], iv: &[u8], buf: &mut [u8]) -> Result<(), Error> {
    check_blocks(buf)?;
    let mut dec = cbc::Decryptor::<Sm4>::new_from_slices(key, iv)
        .map_err(|_| Error::Invalid("SM4-CBC key and IV are 16 bytes"))?;
    // All blocks in one call: CBC decryption is parallel, so the cipher interleaves them.
    dec.decrypt_blocks_inout_mut(blocks(buf));
    Ok(())
}

/// Appends TLS CBC padding (RFC 5246 6.2.3.2: `n+1` bytes of value `n`) so `buf` is a
/// whole number of blocks.
pub fn tls_pad(buf: &mut Vec<u8>) {
    let n = BLOCK_LEN - 1 - buf.len() % BLOCK_LEN;
    buf.resize(buf.len() + n + 1, n as u8);
}

/// The length of `buf` without its TLS CBC padding, checked in constant time over the
/// last 256 bytes (so a padding oracle learns nothing from timing here); `None` when the
/// padding is malformed. The caller must still check the MAC in constant time.
pub fn tls_unpad(buf: &[u8]) -> Option<usize> {
    let last = *buf.last()?;
    let pad = usize::from(last) + 1;
    let mut good = Choice::from(u8::from(pad <= buf.len()));
    let checked = buf.len().min(256);
    for (i, &b) in buf[buf.len() - checked..].iter().rev().enumerate() {
        // Bytes within the padding must equal its length byte.
        let inside = Choice::from(u8::from(i < pad));
        good &= !inside | b.ct_eq(&last);
    }
    bool::from(good).then(|| buf.len() - pad)
}

fn check_blocks(buf: &[u8]) -> Result<(), Error> {
    if buf.len().is_multiple_of(BLOCK_LEN) {
        Ok(())
    } else {
        Err(Error::Invalid("SM4-CBC input is a whole number of blocks"))
    }
}

/// `buf`, already checked to be whole blocks, as blocks for the cipher traits.
fn blocks(buf: &mut [u8]) -> InOutBuf<'_, '_, Block<Sm4>> {
    InOutBuf::from(buf).into_chunks().0
}

/// Which SM4 AEAD mode a suite uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AeadMode {
    /// Galois/counter mode.
    Gcm,
    /// Counter with CBC-MAC, 16-byte tag.
    Ccm,
}

/// An SM4 AEAD key, GCM or CCM, with one seal/open interface for both record layers.
#[derive(Clone)]
pub enum Sm4Aead {
    /// SM4-GCM.
    Gcm(Box<Sm4Gcm>),
    /// SM4-CCM.
    Ccm(Box<Sm4Ccm>),
}

impl Sm4Aead {
    /// A key for `mode`; `key` must be 16 bytes.
    pub fn new(mode: AeadMode, key: &[u8]) -> Result<Self, Error> {
        let bad = |_| Error::Invalid("SM4 key is 16 bytes");
        Ok(match mode {
            AeadMode::Gcm => Self::Gcm(Box::new(Sm4Gcm::new_from_slice(key).map_err(bad)?)),
            AeadMode::Ccm => Self::Ccm(Box::new(Sm4Ccm::new_from_slice(key).map_err(bad)?)),
        })
    }

    /// Encrypts `buf` in place and returns the 16-byte tag (for records that place
    /// the tag themselves).
    pub fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN], Error> {
        let tag = match self {
            Self::Gcm(k) => k.encrypt_in_place_detached(nonce.into(), aad, buf),
            Self::Ccm(k) => k.encrypt_in_place_detached(nonce.into(), aad, buf),
        };
        tag.map(Into::into)
            .map_err(|_| Error::Invalid("SM4 AEAD input too long"))
    }

    /// Checks `tag` and decrypts `buf` in place; `buf` is left unspecified on failure.
    pub fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Error> {
        if tag.len() != TAG_LEN {
            return Err(Error::Auth);
        }
        let done = match self {
            Self::Gcm(k) => k.decrypt_in_place_detached(nonce.into(), aad, buf, tag.into()),
            Self::Ccm(k) => k.decrypt_in_place_detached(nonce.into(), aad, buf, tag.into()),
        };
        done.map_err(|_| Error::Auth)
    }

    /// Encrypts `buf` in place and appends the 16-byte tag.
    pub fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let tag = self.seal_in_place(nonce, aad, buf)?;
        buf.extend_from_slice(&tag);
        Ok(())
    }

    /// Checks and strips the trailing tag of `buf`, decrypting it in place.
    pub fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let body = buf.len().checked_sub(TAG_LEN).ok_or(Error::Auth)?;
        let (data, tag) = buf.split_at_mut(body);
        self.open_in_place(nonce, aad, data, tag)?;
        buf.truncate(body);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_hex::unhex;

    const KEY: &str = "0123456789abcdeffedcba9876543210";

    /// Tongsuo 8.5.0: `printf '%s' "$MSG" | tongsuo enc -sm4-cbc -nopad -K <KEY>
    /// -iv 000102030405060708090a0b0c0d0e0f` (three blocks, so the chaining is checked).
    #[test]
    fn cbc_matches_tongsuo() {
        let msg = b"The quick brown fox jumps over the lazy dog!!!!!";
        let iv = unhex("000102030405060708090a0b0c0d0e0f");
        let mut buf = msg.to_vec();
        cbc_encrypt(&unhex(KEY), &iv, &mut buf).unwrap();
        let want = unhex(
            "b6556613480f80c2a4c4beadbdc795ced203d6945466924b4faa7bf47bfb4034
             f818007c3b5b42ff79448ee1eb2d531d",
        );
        assert_eq!(buf, want);
        cbc_decrypt(&unhex(KEY), &iv, &mut buf).unwrap();
        assert_eq!(buf, msg);
    }

    #[test]
    fn cbc_round_trip_with_tls_padding() {
        let mut buf = b"hello tlcp".to_vec();
        tls_pad(&mut buf);
        assert_eq!(buf.len(), 16);
        assert_eq!(buf[15], 5);
        let plain = buf.clone();
        let iv = [7u8; 16];
        cbc_encrypt(&unhex(KEY), &iv, &mut buf).unwrap();
        // Tongsuo 8.5.0: `tongsuo enc -sm4-cbc -K <KEY> -iv 0707...07 -nopad`.
        assert_eq!(buf, unhex("7023ab644e2cd8d55f81accad29fad2b"));
        cbc_decrypt(&unhex(KEY), &iv, &mut buf).unwrap();
        assert_eq!(buf, plain);
        assert_eq!(tls_unpad(&buf), Some(10));
        buf[12] = 4;
        assert_eq!(tls_unpad(&buf), None);
        assert_eq!(tls_unpad(&[0u8; 16]), Some(15));
        assert_eq!(tls_unpad(&[20u8; 16]), None);
        assert_eq!(tls_unpad(&[]), None);
        assert!(cbc_encrypt(&unhex(KEY), &iv, &mut [0u8; 15]).is_err());
    }

    /// 21 blocks, so decryption takes the 8-block path and a tail: the same as CBC over
    /// the `sm4` crate, block by block.
    #[test]
    fn cbc_many_blocks_match_sm4_crate() {
        let (key, iv) = (unhex(KEY), [9u8; 16]);
        let plain: Vec<u8> = (0..=255u8).cycle().take(21 * BLOCK_LEN).collect();
        let mut want = plain.clone();
        let mut reference = cbc::Encryptor::<sm4::Sm4>::new_from_slices(&key, &iv).unwrap();
        for block in want.chunks_exact_mut(BLOCK_LEN) {
            reference.encrypt_block_mut(block.into());
        }
        let mut buf = plain.clone();
        cbc_encrypt(&key, &iv, &mut buf).unwrap();
        assert_eq!(buf, want);
        cbc_decrypt(&key, &iv, &mut buf).unwrap();
        assert_eq!(buf, plain);
    }

    fn rfc8998_vector(mode: AeadMode, ciphertext: &str, tag: &str) {
        let key = Sm4Aead::new(mode, &unhex(KEY)).unwrap();
        let nonce: [u8; 12] = unhex("00001234567800000000abcd").try_into().unwrap();
        let aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let plain = unhex(
            "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd
             eeeeeeeeeeeeeeeeffffffffffffffffeeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa",
        );
        let mut buf = plain.clone();
        key.seal(&nonce, &aad, &mut buf).unwrap();
        let mut want = unhex(ciphertext);
        want.extend(unhex(tag));
        assert_eq!(buf, want);
        key.open(&nonce, &aad, &mut buf).unwrap();
        assert_eq!(buf, plain);
        let mut tampered = want.clone();
        tampered[3] ^= 1;
        assert_eq!(key.open(&nonce, &aad, &mut tampered), Err(Error::Auth));
    }

    /// `plain` sealed by `aead` with the tag appended, as [`Sm4Aead::seal`] does.
    fn sealed(aead: &impl AeadInPlace<NonceSize = U12>, plain: &[u8]) -> Vec<u8> {
        let mut buf = plain.to_vec();
        let nonce = [3u8; NONCE_LEN].into();
        aead.encrypt_in_place(&nonce, b"header", &mut buf).unwrap();
        buf
    }

    /// The RFC 8998 vectors are 4 blocks, short of the cipher's 8-block path: 333 bytes
    /// (20 whole blocks and a partial one) sealed by GCM and CCM over our cipher and over
    /// the `sm4` crate are the same.
    #[test]
    fn long_aead_input_matches_sm4_crate() {
        let key = unhex(KEY);
        let plain: Vec<u8> = (0..=255u8).cycle().take(333).collect();
        let ours = Sm4Gcm::new_from_slice(&key).unwrap();
        let reference = aes_gcm::AesGcm::<sm4::Sm4, U12>::new_from_slice(&key).unwrap();
        assert_eq!(sealed(&ours, &plain), sealed(&reference, &plain));
        let ours = Sm4Ccm::new_from_slice(&key).unwrap();
        let reference = ccm::Ccm::<sm4::Sm4, U16, U12>::new_from_slice(&key).unwrap();
        assert_eq!(sealed(&ours, &plain), sealed(&reference, &plain));
    }

    /// RFC 8998 Appendix A.1.
    #[test]
    fn sm4_gcm_rfc8998() {
        rfc8998_vector(
            AeadMode::Gcm,
            "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735
             d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d",
            "83de3541e4c2b58177e065a9bf7b62ec",
        );
    }

    /// RFC 8998 Appendix A.2.
    #[test]
    fn sm4_ccm_rfc8998() {
        rfc8998_vector(
            AeadMode::Ccm,
            "48af93501fa62adbcd414cce6034d895dda1bf8f132f042098661572e7483094
             fd12e518ce062c98acee28d95df4416bed31a2f04476c18bb40c84a74b97dc5b",
            "16842d4fa186f56ab33256971fa110f4",
        );
    }
}
