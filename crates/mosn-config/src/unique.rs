//! Detection of names and addresses that must be unique.

use std::collections::HashMap;
use std::hash::Hash;

use crate::json::Field;

/// Remembers where each key was first seen and reports later duplicates.
pub(crate) struct Unique<K> {
    what: &'static str,
    seen: HashMap<K, String>,
}

impl<K: Hash + Eq> Unique<K> {
    /// A checker whose errors call the key a `what` ("cluster name", "domain"...).
    pub(crate) fn new(what: &'static str) -> Self {
        Unique {
            what,
            seen: HashMap::new(),
        }
    }

    /// Records `key` found at `field` (shown as `shown`); an error if seen before.
    pub(crate) fn insert(&mut self, key: K, field: &Field<'_>, shown: &str) {
        match self.seen.get(&key) {
            Some(first) => field.error(format!(
                "duplicate {} {shown:?}, first defined at {first}",
                self.what
            )),
            None => {
                self.seen.insert(key, field.path.clone());
            }
        }
    }

    /// Whether `key` has been recorded.
    pub(crate) fn contains(&self, key: &K) -> bool {
        self.seen.contains_key(key)
    }
}
