//! Deduplication of what many clusters hold identically: inline PEM text and the client
//! contexts built from it.
//!
//! Under Istio every outbound cluster (10,000 of them in a large mesh) carries the same
//! workload certificate, key and root CA from SDS, and differs from the others only in
//! its SNI. Each one's own copy of the PEM text (~3 KB) and its own rustls context
//! (parsed roots and key, verifier, and a session cache that reserves room for 1,024
//! sessions up front) came to ~60 KB per cluster. Here equal values are shared while
//! anything uses them and forgotten after (the maps hold weak references).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};

/// Values by a key, held weakly: `get_or_insert` returns the live value for an equal key
/// or builds and remembers one. The value last asked for is also held strongly, so that a
/// run of checks that each build and drop the same value builds it once.
pub(crate) struct WeakMap<K, V: ?Sized> {
    map: Mutex<Inner<K, V>>,
}

struct Inner<K, V: ?Sized> {
    entries: HashMap<K, Weak<V>>,
    /// Entry count after the last sweep of dead entries; the next sweep runs at twice it.
    swept_at: usize,
    /// The value last asked for.
    last: Option<Arc<V>>,
}

impl<K: Hash + Eq, V: ?Sized> WeakMap<K, V> {
    /// An empty map.
    pub(crate) fn new() -> Self {
        Self {
            map: Mutex::new(Inner {
                entries: HashMap::new(),
                swept_at: 0,
                last: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The live value under `key`, else `build()`'s, remembered under `key`.
    pub(crate) fn get_or_insert<E>(
        &self,
        key: K,
        build: impl FnOnce() -> Result<Arc<V>, E>,
    ) -> Result<Arc<V>, E> {
        let mut inner = self.lock();
        if let Some(live) = inner.entries.get(&key).and_then(Weak::upgrade) {
            inner.last = Some(live.clone());
            return Ok(live);
        }
        let value = build()?;
        inner.entries.insert(key, Arc::downgrade(&value));
        inner.last = Some(value.clone());
        if inner.entries.len() >= 2 * inner.swept_at.max(64) {
            inner.entries.retain(|_, v| v.strong_count() > 0);
            inner.swept_at = inner.entries.len();
        }
        Ok(value)
    }

    /// How many entries are remembered (live or not yet swept); for tests.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

/// Inline PEM texts by content.
static PEM_TEXTS: LazyLock<WeakMap<u64, str>> = LazyLock::new(WeakMap::new);

/// `text` as a shared string: the one already held for equal text, or a new one.
pub(crate) fn pem_text(text: &str) -> Arc<str> {
    // Keyed by a hash of the text; a collision with different text is checked and then
    // simply not shared.
    let hash = HASHER.hash_one(text);
    let shared = PEM_TEXTS
        .get_or_insert(hash, || Ok::<_, ()>(Arc::from(text)))
        .unwrap_or_else(|()| Arc::from(text));
    if &*shared == text {
        shared
    } else {
        Arc::from(text)
    }
}

/// One hasher for the process, so equal texts hash alike.
static HASHER: LazyLock<std::collections::hash_map::RandomState> =
    LazyLock::new(std::collections::hash_map::RandomState::new);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_share_one_allocation_while_used() {
        let a = pem_text("-----BEGIN CERTIFICATE-----\nAAAA\n");
        let b = pem_text("-----BEGIN CERTIFICATE-----\nAAAA\n");
        assert!(Arc::ptr_eq(&a, &b));
        let c = pem_text("-----BEGIN CERTIFICATE-----\nBBBB\n");
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(&*c, "-----BEGIN CERTIFICATE-----\nBBBB\n");
    }

    #[test]
    fn dead_entries_are_swept() {
        let map: WeakMap<u32, str> = WeakMap::new();
        for i in 0..1000 {
            let v = map
                .get_or_insert(i, || Ok::<_, ()>(Arc::from("x")))
                .unwrap();
            drop(v);
        }
        assert!(map.len() < 200, "{} entries kept", map.len());
        let first = map
            .get_or_insert(5000, || Ok::<_, ()>(Arc::from("a")))
            .unwrap();
        let ptr = Arc::as_ptr(&first);
        drop(first);
        let again = map
            .get_or_insert(5000, || Ok::<_, ()>(Arc::from("b")))
            .unwrap();
        assert_eq!(
            Arc::as_ptr(&again),
            ptr,
            "the last value outlives its users"
        );
        let kept = map
            .get_or_insert(7, || Ok::<_, ()>(Arc::from("y")))
            .unwrap();
        let again = map
            .get_or_insert(7, || Ok::<_, ()>(Arc::from("z")))
            .unwrap();
        assert!(Arc::ptr_eq(&kept, &again));
    }
}
