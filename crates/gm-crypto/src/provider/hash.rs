//! SM3 and HMAC-SM3 in rustls' shapes: the transcript hash and (through
//! `HkdfUsingHmac`) the HKDF of the RFC 8998 suites.

use hmac::Mac;
use rustls::crypto::hash::HashAlgorithm;
use rustls::crypto::{hash, hmac as rhmac};
use sm3::Digest;

use crate::hash::{HmacSm3, Sm3, SM3_LEN};

/// rustls has no code point for SM3 (TLS 1.3 names hashes only through suites); the
/// value is the hash byte of `sm2sig_sm3` (0x0708), used only to compare suites' hashes.
const SM3_CODE: HashAlgorithm = HashAlgorithm::Unknown(0x07);

/// SM3 as rustls' transcript hash.
pub(crate) struct Sm3Hash;

impl hash::Hash for Sm3Hash {
    fn start(&self) -> Box<dyn hash::Context> {
        Box::new(Sm3Context(Sm3::new()))
    }

    fn hash(&self, data: &[u8]) -> hash::Output {
        hash::Output::new(&Sm3::digest(data))
    }

    fn output_len(&self) -> usize {
        SM3_LEN
    }

    fn algorithm(&self) -> HashAlgorithm {
        SM3_CODE
    }
}

struct Sm3Context(Sm3);

impl hash::Context for Sm3Context {
    fn fork_finish(&self) -> hash::Output {
        hash::Output::new(&self.0.clone().finalize())
    }

    fn fork(&self) -> Box<dyn hash::Context> {
        Box::new(Sm3Context(self.0.clone()))
    }

    fn finish(self: Box<Self>) -> hash::Output {
        hash::Output::new(&self.0.finalize())
    }

    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

/// HMAC-SM3 as rustls' HMAC, from which its HKDF is built.
pub(crate) struct Sm3Hmac;

impl rhmac::Hmac for Sm3Hmac {
    fn with_key(&self, key: &[u8]) -> Box<dyn rhmac::Key> {
        Box::new(Sm3HmacKey(
            HmacSm3::new_from_slice(key).expect("HMAC accepts keys of any length"),
        ))
    }

    fn hash_output_len(&self) -> usize {
        SM3_LEN
    }
}

struct Sm3HmacKey(HmacSm3);

impl rhmac::Key for Sm3HmacKey {
    fn sign_concat(&self, first: &[u8], middle: &[&[u8]], last: &[u8]) -> rhmac::Tag {
        let mut mac = self.0.clone();
        mac.update(first);
        for m in middle {
            mac.update(m);
        }
        mac.update(last);
        rhmac::Tag::new(&mac.finalize().into_bytes())
    }

    fn tag_len(&self) -> usize {
        SM3_LEN
    }
}
