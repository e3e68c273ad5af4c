//! The map type of the request path's lookups by name or address.

use std::collections::HashMap;

/// A `HashMap` hashed with foldhash rather than SipHash, for the maps every request looks
/// into (route tables and clusters by name, upstream pools by address): SipHash costs a
/// few hundred instructions per request of the ~34,000 a proxied request takes, foldhash
/// a few dozen. foldhash is seeded per process; these keys come from configuration and
/// name resolution, not from clients' bytes.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
