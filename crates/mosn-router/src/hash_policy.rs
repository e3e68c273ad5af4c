//! A request's affinity key for hashing balancers (`LB_MAGLEV`, `LB_RING_HASH`), from
//! the route's `hash_policy[]`.
//!
//! What is hashed follows MOSN: `header` hashes `key:value` (the configured name,
//! lower-cased, and the first value), `cookie` hashes `name=value`, `source_ip` the
//! client's IP (4 bytes for IPv4, IPv4-mapped IPv6 included, else 16). Which policy
//! counts follows Envoy: the first that yields a value wins, and when none does there is
//! no key (the balancer picks at random; MOSN would hash `0` and send all such requests
//! to one host). A route without `hash_policy` hashes the client's IP, MOSN's default.
//!
//! The hash is FNV-1a (64-bit) finished with MurmurHash3's `fmix64`, written here: stable
//! across runs, builds and platforms, no allocation. FNV-1a alone mixes short inputs
//! poorly into the high bits the ring hash compares; the finalizer spreads every input
//! bit over all 64. (MOSN uses SipHash; its values do not matter beyond one process,
//! since the tables they index are mosn-rs's own.)
//!
//! Envoy's cookie generation (setting a missing cookie with `ttl`) is not built; neither
//! does MOSN build it.

use crate::table::HeaderView;
use mosn_config::HashPolicy;
use std::net::{IpAddr, SocketAddr};

/// The hash key for one request (HTTP headers or an RPC frame's): the first of
/// `policies` that yields a value, or the client's IP when `policies` is empty; `None`
/// when nothing yields one.
pub fn hash_key<H: HeaderView + ?Sized>(
    policies: &[HashPolicy],
    headers: &H,
    remote: Option<SocketAddr>,
) -> Option<u64> {
    if policies.is_empty() {
        return remote.map(|a| source_ip_hash(a.ip()));
    }
    policies.iter().find_map(|p| match p {
        HashPolicy::Header(name) => {
            let mut key = None;
            headers.any_value(name, &mut |value| {
                key = Some(finish(
                    Fnv::new()
                        .write(name.as_bytes())
                        .write(b":")
                        .write(value.as_bytes()),
                ));
                true
            });
            key
        }
        HashPolicy::Cookie(name) => {
            let mut key = None;
            with_cookie(headers, name, &mut |value| {
                key = Some(finish(
                    Fnv::new()
                        .write(name.as_bytes())
                        .write(b"=")
                        .write(value.as_bytes()),
                ));
            });
            key
        }
        HashPolicy::SourceIp => remote.map(|a| source_ip_hash(a.ip())),
    })
}

/// The hash key of a client IP (what `source_ip` yields), for callers without a route,
/// such as `tcp_proxy` in front of a hashing cluster.
pub fn source_ip_hash(ip: IpAddr) -> u64 {
    let hasher = match ip {
        IpAddr::V4(v4) => Fnv::new().write(&v4.octets()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => Fnv::new().write(&v4.octets()),
            None => Fnv::new().write(&v6.octets()),
        },
    };
    finish(hasher)
}

/// Calls `f` with the value of cookie `name` from the request's `Cookie` headers
/// (`a=1; b=2`) when there is one; the first occurrence wins. Values are not unquoted,
/// as in MOSN.
fn with_cookie<H: HeaderView + ?Sized>(headers: &H, name: &str, f: &mut dyn FnMut(&str)) {
    headers.any_value("cookie", &mut |line| {
        let value = line.split(';').find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key.trim() == name).then(|| value.trim())
        });
        value.map(&mut *f).is_some()
    });
}

/// FNV-1a, 64-bit.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Self {
        Fnv(Self::OFFSET_BASIS)
    }

    fn write(self, bytes: &[u8]) -> Self {
        Fnv(bytes
            .iter()
            .fold(self.0, |h, &b| (h ^ u64::from(b)).wrapping_mul(Self::PRIME)))
    }
}

/// MurmurHash3's 64-bit finalizer over the FNV state.
fn finish(h: Fnv) -> u64 {
    let mut k = h.0;
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};

    fn cookie(h: &HeaderMap, name: &str) -> Option<String> {
        let mut found = None;
        with_cookie(h, name, &mut |v| found = Some(v.to_owned()));
        found
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn addr(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(Fnv::new().0, 0xcbf2_9ce4_8422_2325);
        assert_eq!(Fnv::new().write(b"a").0, 0xaf63_dc4c_8601_ec8c);
        assert_eq!(Fnv::new().write(b"foobar").0, 0x8594_4171_f739_67e8);
        // Writing in pieces is writing the concatenation.
        assert_eq!(
            Fnv::new().write(b"foo").write(b"bar").0,
            Fnv::new().write(b"foobar").0
        );
    }

    #[test]
    fn header_policy_hashes_the_value_and_is_stable() {
        let p = [HashPolicy::Header("x-user".into())];
        let a = hash_key(&p, &headers(&[("x-user", "alice")]), None);
        assert!(a.is_some());
        assert_eq!(
            a,
            hash_key(&p, &headers(&[("X-User", "alice")]), addr("1.2.3.4:5"))
        );
        assert_ne!(a, hash_key(&p, &headers(&[("x-user", "bob")]), None));
        // Pinned, so a change of hash (which would move every session) is noticed.
        assert_eq!(a, Some(finish(Fnv::new().write(b"x-user:alice"))));
        assert_eq!(hash_key(&p, &headers(&[]), addr("1.2.3.4:5")), None);
    }

    #[test]
    fn first_policy_with_a_value_wins() {
        let p = [
            HashPolicy::Header("x-user".into()),
            HashPolicy::Cookie("sid".into()),
            HashPolicy::SourceIp,
        ];
        let by_cookie = hash_key(
            &p,
            &headers(&[("cookie", "a=1; sid=xyz")]),
            addr("1.2.3.4:5"),
        );
        assert_eq!(by_cookie, Some(finish(Fnv::new().write(b"sid=xyz"))));
        let by_ip = hash_key(&p, &headers(&[("cookie", "a=1")]), addr("1.2.3.4:5"));
        assert_eq!(by_ip, Some(source_ip_hash("1.2.3.4".parse().unwrap())));
        assert_eq!(hash_key(&p, &headers(&[]), None), None);
        // An RPC frame's headers hash like HTTP's.
        let rpc = [("x-user".to_owned(), "42".to_owned())];
        let p = [HashPolicy::Header("x-user".into())];
        assert_eq!(
            hash_key(&p, &rpc[..], None),
            hash_key(&p, &headers(&[("x-user", "42")]), None)
        );
        assert!(hash_key(&p, &rpc[..], None).is_some());
    }

    #[test]
    fn cookies_are_found_in_any_cookie_header() {
        let h = headers(&[("cookie", "a=1;b=2"), ("cookie", " sid = v1 ; c=3")]);
        assert_eq!(cookie(&h, "sid").as_deref(), Some("v1"));
        assert_eq!(cookie(&h, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&h, "si"), None);
        assert_eq!(cookie(&headers(&[("cookie", "sid")]), "sid"), None);
        assert_eq!(
            cookie(&headers(&[("cookie", "sid=")]), "sid").as_deref(),
            Some("")
        );
    }

    #[test]
    fn source_ip_ignores_the_port_and_maps_v4_in_v6() {
        let p = [HashPolicy::SourceIp];
        let a = hash_key(&p, &HeaderMap::new(), addr("10.0.0.1:1000"));
        assert_eq!(a, hash_key(&p, &HeaderMap::new(), addr("10.0.0.1:2000")));
        assert_eq!(
            a,
            hash_key(&p, &HeaderMap::new(), addr("[::ffff:10.0.0.1]:2000"))
        );
        assert_ne!(a, hash_key(&p, &HeaderMap::new(), addr("10.0.0.2:1000")));
        assert_ne!(
            a,
            hash_key(&p, &HeaderMap::new(), addr("[2001:db8::1]:1000"))
        );
        // No policy at all: MOSN's default, the client's IP.
        assert_eq!(a, hash_key(&[], &HeaderMap::new(), addr("10.0.0.1:3")));
        assert_eq!(hash_key(&[], &HeaderMap::new(), None), None);
    }

    #[test]
    fn nearby_inputs_spread_over_the_high_bits() {
        // The ring hash compares the top 32 bits: consecutive client IPs must not cluster.
        let mut buckets = [0u32; 16];
        for i in 0..4096u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            buckets[(source_ip_hash(ip) >> 60) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|&b| (192..320).contains(&b)),
            "{buckets:?}"
        );
    }
}
