//! A stored resource's bytes, kept LZ4-compressed.
//!
//! The ADS state keeps every resource as received: the config dump shows it, an identical
//! re-send is recognised by it, and a cluster or listener is converted again from it when
//! a secret it uses changes. At Istio's scale that is tens of MiB (a route configuration
//! of 10,000 virtual hosts alone is ~25 MB) of highly repetitive protobuf, which LZ4
//! shrinks several times over at memory speed. An identical re-send (a state-of-the-world
//! push repeats every cluster) is told by length and a 64-bit keyed hash, as Envoy tells
//! unchanged resources by a 64-bit hash, without decompressing anything.

use lz4_flex::block::{compress_prepend_size, decompress_size_prepended};
use std::hash::{BuildHasher, RandomState};
use std::sync::LazyLock;

/// The process's hash keys (random, so no control plane can aim at a collision).
static KEYS: LazyLock<RandomState> = LazyLock::new(RandomState::new);

/// Compressed resource bytes and the hash of the bytes as received; the empty value
/// stands for "forgotten" and equals nothing received.
#[derive(Debug, Default)]
pub(super) struct Body {
    compressed: Box<[u8]>,
    /// `None` when forgotten.
    hash: Option<u64>,
}

impl Body {
    /// Compresses `bytes`.
    pub(super) fn new(bytes: &[u8]) -> Self {
        Self {
            compressed: compress_prepend_size(bytes).into_boxed_slice(),
            hash: Some(KEYS.hash_one(bytes)),
        }
    }

    /// The bytes as received (empty when forgotten).
    pub(super) fn bytes(&self) -> Vec<u8> {
        if self.compressed.is_empty() {
            return Vec::new();
        }
        decompress_size_prepended(&self.compressed).unwrap_or_else(|e| {
            // Only `new` writes these bytes, so this cannot happen; an empty body is then
            // what a forgotten one is: re-sent bytes are converted again.
            tracing::error!(error = %e, "stored resource bytes do not decompress");
            Vec::new()
        })
    }

    /// Whether these are `bytes` (same length and hash).
    pub(super) fn is(&self, bytes: &[u8]) -> bool {
        let (Some(len), Some(hash)) = (self.compressed.get(..4), self.hash) else {
            return false;
        };
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        len == bytes.len() && hash == KEYS.hash_one(bytes)
    }

    /// Forgets the bytes, so that the same bytes sent again are not taken as unchanged.
    pub(super) fn forget(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_compares_by_content() {
        let bytes: Vec<u8> = b"outbound|9080||svc1.ns1.svc.cluster.local"
            .repeat(50)
            .into_iter()
            .collect();
        let body = Body::new(&bytes);
        assert!(
            body.compressed.len() < bytes.len() / 4,
            "{} bytes",
            body.compressed.len()
        );
        assert_eq!(body.bytes(), bytes);
        assert!(body.is(&bytes));
        let mut other = bytes.clone();
        other[100] ^= 1;
        assert!(!body.is(&other));
        assert!(!body.is(&bytes[1..]));
        assert!(Body::new(&[]).is(&[]));
    }

    #[test]
    fn a_forgotten_body_equals_nothing() {
        let mut body = Body::new(b"x");
        body.forget();
        assert!(!body.is(b"x"));
        assert!(!body.is(&[]));
        assert!(body.bytes().is_empty());
    }
}
