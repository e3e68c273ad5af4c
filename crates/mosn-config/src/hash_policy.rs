//! `route.hash_policy[]` (MOSN's `[]v2.HashPolicy`): where hashing balancers take a
//! request's affinity key from.
//!
//! MOSN reads only the first entry and hashes a missing header or cookie as `0` (so every
//! such request lands on one host); mosn-rs follows Envoy instead: the entries are tried
//! in order, the first one that yields a value wins, and none yielding one means a random
//! host. With no `hash_policy` at all, MOSN (and mosn-rs) hash the client's IP.

use crate::json::{Field, Obj};
use crate::model::HashPolicy;

/// Parses `hash_policy` of route action `r`; empty when absent.
pub(crate) fn parse_hash_policies(r: &Obj<'_>) -> Option<Vec<HashPolicy>> {
    let policies: Vec<Option<HashPolicy>> = r.items("hash_policy").iter().map(parse_one).collect();
    policies.into_iter().collect()
}

/// One entry: exactly one of `header{key}`, `cookie{name, path, ttl}`, `source_ip{}`.
fn parse_one(field: &Field<'_>) -> Option<HashPolicy> {
    let obj = field.as_object()?;
    let header = obj.get("header");
    let cookie = obj.get("cookie");
    let source_ip = obj.get("source_ip");
    let count = [&header, &cookie, &source_ip]
        .iter()
        .filter(|f| f.is_some())
        .count();
    if count > 1 {
        obj.error("only one of header, cookie or source_ip may be set");
        return None;
    }
    if let Some(h) = header {
        let h = h.as_object()?;
        let key = h.required_str("key")?;
        return Some(HashPolicy::Header(key.to_ascii_lowercase()));
    }
    if let Some(c) = cookie {
        let c = c.as_object()?;
        let name = c.required_str("name")?;
        // Only used to generate a missing cookie, which MOSN does not do either; the
        // duration is still checked as MOSN's decoder would.
        c.tolerate(&["path"]);
        let _ttl = c.duration("ttl");
        return Some(HashPolicy::Cookie(name.to_owned()));
    }
    if let Some(s) = source_ip {
        s.as_object()?;
        return Some(HashPolicy::SourceIp);
    }
    // MOSN falls back to the client's IP for an entry that names nothing.
    field.warn("names none of header, cookie or source_ip; the client's IP is hashed, as in MOSN");
    Some(HashPolicy::SourceIp)
}
