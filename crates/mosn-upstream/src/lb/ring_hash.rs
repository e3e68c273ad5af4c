//! `LB_RING_HASH` (Envoy's `RING_HASH`; MOSN has none): a ketama consistent hash ring.
//!
//! Ring points are libketama's: for host address `A`, `md5("A-i")` for i = 0, 1, ... gives
//! four 32-bit points each (bytes 4j..4j+4, little-endian). How many points each host gets
//! follows Envoy: the ring holds at least `minimum_ring_size` points (default 1024),
//! hosts share them in proportion to their weights with the lightest host getting at
//! least one, and the whole ring is capped at `maximum_ring_size` (default 8M). With
//! equal weights and `minimum_ring_size` = 160 × hosts the ring is exactly libketama's
//! (160 points per server). A key goes to the first point at or after it, wrapping.
//!
//! Keys are the router's 64-bit hash keys; the ring compares their high 32 bits (so
//! placing hosts is ketama-compatible, hashing keys is mosn-rs's own; see `mosn-router`).
//! No hash key means a random host; a retry moves to the next host in the list, as
//! `LB_MAGLEV` does.

use super::{host_key, LbContext, LoadBalancer};
use crate::host::Host;
use md5::{Digest, Md5};
use mosn_config::LbConfig;
use std::sync::Arc;

/// A consistent hash ring over the hosts it was built with.
#[derive(Debug)]
pub struct RingHashLb {
    /// Sorted point values.
    points: Vec<u32>,
    /// Host index of each point.
    owners: Vec<u32>,
    count: usize,
}

impl RingHashLb {
    /// A ring over `hosts` of between `min_size` and `max_size` points (Envoy's bounds,
    /// clamped to 1..=8M).
    pub fn new(hosts: &[Arc<Host>], min_size: u64, max_size: u64) -> Self {
        let max_size = max_size.clamp(1, LbConfig::MAX_RING_SIZE);
        let min_size = min_size.clamp(1, max_size);
        let mut ring: Vec<(u32, u32)> = Vec::new();
        for (host, (h, points)) in
            (0u32..).zip(hosts.iter().zip(point_counts(hosts, min_size, max_size)))
        {
            let address = host_key(&h.address);
            let mut left = points;
            for i in 0u64.. {
                if left == 0 {
                    break;
                }
                let digest = Md5::digest(format!("{address}-{i}").as_bytes());
                for chunk in digest
                    .chunks_exact(4)
                    .take(usize::try_from(left.min(4)).unwrap_or(4))
                {
                    let point = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                    ring.push((point, host));
                }
                left = left.saturating_sub(4);
            }
        }
        ring.sort_unstable();
        Self {
            points: ring.iter().map(|&(p, _)| p).collect(),
            owners: ring.iter().map(|&(_, h)| h).collect(),
            count: hosts.len(),
        }
    }
}

/// Points per host, Envoy's way: scale so that the lightest host's share of
/// `min_size` rounds up to a whole point, cap the total at `max_size`, then hand out
/// points by cumulative weight so that rounding never drifts.
fn point_counts(hosts: &[Arc<Host>], min_size: u64, max_size: u64) -> Vec<u64> {
    let total: f64 = hosts.iter().map(|h| f64::from(h.weight.max(1))).sum();
    let Some(min_weight) = hosts
        .iter()
        .map(|h| f64::from(h.weight.max(1)) / total)
        .reduce(f64::min)
    else {
        return Vec::new();
    };
    let scale = ((min_weight * min_size as f64).ceil() / min_weight).min(max_size as f64);
    let (mut current, mut target) = (0u64, 0f64);
    hosts
        .iter()
        .map(|h| {
            target += scale * f64::from(h.weight.max(1)) / total;
            let upto = target.round() as u64;
            let n = upto.saturating_sub(current);
            current = current.max(upto);
            n
        })
        .collect()
}

impl LoadBalancer for RingHashLb {
    fn choose(&self, ctx: &LbContext) -> Option<usize> {
        self.choose_for_attempt(ctx, 0)
    }

    fn choose_for_attempt(&self, ctx: &LbContext, attempt: u32) -> Option<usize> {
        if self.count == 0 {
            return None;
        }
        let host = match ctx.hash_key {
            Some(key) if !self.points.is_empty() => {
                let key = (key >> 32) as u32;
                let at = self.points.partition_point(|&p| p < key);
                let at = if at == self.points.len() { 0 } else { at };
                self.owners.get(at).map_or(0, |&h| h as usize)
            }
            _ => fastrand::usize(..self.count),
        };
        Some((host + attempt as usize) % self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lb::tests::{hosts, weighted_hosts};

    fn key(i: u64) -> LbContext {
        LbContext {
            hash_key: Some(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            ..LbContext::default()
        }
    }

    fn owner_counts(lb: &RingHashLb, n: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        for &o in &lb.owners {
            c[o as usize] += 1;
        }
        c
    }

    #[test]
    fn points_are_libketamas() {
        // libketama's first point for server "127.0.0.1:1": md5("127.0.0.1:1-0"), bytes
        // 0..4 read little-endian.
        let lb = RingHashLb::new(&hosts(1), 160, 160);
        assert_eq!(lb.points.len(), 160);
        let digest = Md5::digest(b"127.0.0.1:1-0");
        let first = u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]);
        let last = u32::from_le_bytes([digest[12], digest[13], digest[14], digest[15]]);
        assert!(lb.points.binary_search(&first).is_ok());
        assert!(lb.points.binary_search(&last).is_ok());
        assert!(lb.points.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn ring_sizes_follow_envoy() {
        // 10 equal hosts, minimum 1024: each host's 102.4 rounds up to 103.
        let lb = RingHashLb::new(&hosts(10), 1024, LbConfig::MAX_RING_SIZE);
        assert_eq!(owner_counts(&lb, 10), vec![103; 10]);
        // libketama's layout: 160 points per server.
        let lb = RingHashLb::new(&hosts(4), 640, LbConfig::MAX_RING_SIZE);
        assert_eq!(owner_counts(&lb, 4), vec![160; 4]);
        // Weights 1 and 3, minimum 100: the light host's 25 points set the scale.
        let lb = RingHashLb::new(&weighted_hosts(&[1, 3]), 100, LbConfig::MAX_RING_SIZE);
        assert_eq!(owner_counts(&lb, 2), [25, 75]);
        // The maximum caps the ring.
        let lb = RingHashLb::new(&weighted_hosts(&[1, 1000]), 1024, 2000);
        assert!(
            lb.points.len() <= 2000 && lb.points.len() >= 1998,
            "{}",
            lb.points.len()
        );
    }

    #[test]
    fn same_key_same_host_and_keys_spread() {
        let lb = RingHashLb::new(&hosts(10), 16_000, LbConfig::MAX_RING_SIZE);
        let mut counts = [0u32; 10];
        for i in 0..50_000 {
            let h = lb.choose(&key(i)).unwrap();
            assert_eq!(lb.choose(&key(i)), Some(h));
            counts[h] += 1;
        }
        for c in counts {
            assert!((3_500..6_500).contains(&c), "{counts:?}");
        }
    }

    /// Share of keys not on the removed host that stay on their host when host 6 of 10
    /// leaves, the ring being rebuilt with `min_before` and `min_after` points.
    fn kept_share(min_before: u64, min_after: u64) -> f64 {
        let all = hosts(10);
        let before = RingHashLb::new(&all, min_before, LbConfig::MAX_RING_SIZE);
        let survivors: Vec<_> = all
            .iter()
            .filter(|h| !Arc::ptr_eq(h, &all[6]))
            .cloned()
            .collect();
        let after = RingHashLb::new(&survivors, min_after, LbConfig::MAX_RING_SIZE);
        let (mut kept, mut total) = (0, 0);
        for i in 0..20_000 {
            let old = &all[before.choose(&key(i)).unwrap()];
            let new = &survivors[after.choose(&key(i)).unwrap()];
            if !Arc::ptr_eq(old, &all[6]) {
                total += 1;
                kept += usize::from(Arc::ptr_eq(old, new));
            }
        }
        kept as f64 / total as f64
    }

    #[test]
    fn removing_a_host_moves_few_keys() {
        // Same points per surviving host (160): only the removed host's keys move.
        assert_eq!(kept_share(1600, 1440), 1.0);
        // Same minimum ring size: survivors get 178 points instead of 160 (a superset),
        // which moves a few keys between them.
        let share = kept_share(1600, 1600);
        assert!(share >= 0.9, "{share}");
    }

    #[test]
    fn edge_cases() {
        let ctx = key(1);
        assert_eq!(RingHashLb::new(&[], 1024, 1024).choose(&ctx), None);
        assert_eq!(RingHashLb::new(&hosts(1), 1, 1).choose(&ctx), Some(0));
        assert_eq!(RingHashLb::new(&hosts(1), 0, 0).choose(&ctx), Some(0));
        // Keys above every point wrap to the first point.
        let lb = RingHashLb::new(&hosts(3), 12, 12);
        let top = LbContext {
            hash_key: Some(u64::MAX),
            ..LbContext::default()
        };
        assert_eq!(lb.choose(&top), Some(lb.owners[0] as usize));
        assert_eq!(
            lb.choose_for_attempt(&top, 1),
            Some((lb.owners[0] as usize + 1) % 3)
        );
        // Without a key: random, every host reachable.
        let mut seen = [false; 3];
        for _ in 0..200 {
            seen[lb.choose(&LbContext::default()).unwrap()] = true;
        }
        assert_eq!(seen, [true; 3]);
    }
}
