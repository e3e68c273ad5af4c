//! Arbitrary bytes as the SM2 values a peer sends: an SM2 ciphertext (TLCP's encrypted
//! pre-master secret), a DER signature, and a curve point. Parsing never panics, and a
//! random ciphertext never decrypts.
#![no_main]

use gm_crypto::sm2::{encrypt, keys, sign, SecretKey, DEFAULT_ID};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = SecretKey::from_slice(&[7u8; 32]).expect("a valid scalar");
    assert!(encrypt::decrypt(&key, data).is_err());
    let _ = sign::verify(&key.public_key(), DEFAULT_ID, b"message", data);
    let _ = keys::public_key_from_sec1(data);
});
