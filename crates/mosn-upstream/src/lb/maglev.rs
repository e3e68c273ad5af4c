//! `LB_MAGLEV`: consistent hashing through a Maglev lookup table (Eisenbud et al., NSDI
//! 2016), built as Envoy builds it.
//!
//! Each host gets a permutation of the table's slots from two hashes of its address
//! (`offset`, `skip`; MD5 here, split in two 64-bit halves), and hosts take turns
//! claiming their next free preferred slot until the table is full — a host of weight `w`
//! takes a turn `w / max weight` as often (Envoy's weighted variant). A request's hash key
//! picks slot `key % size`. Removing a host frees only its own slots for the others, so
//! keys of the surviving hosts mostly stay put. The table size is prime (so every
//! permutation visits every slot) and much larger than the host count; Envoy's default
//! is 65537.
//!
//! No hash key means a random host. On a retry the pick moves to the next host in the
//! list, as MOSN's Maglev balancer does.

use super::{host_key, LbContext, LoadBalancer};
use crate::host::Host;
use md5::{Digest, Md5};
use mosn_config::LbConfig;
use std::sync::Arc;

/// A Maglev table over the hosts it was built with.
#[derive(Debug)]
pub struct MaglevLb {
    /// Slot → host index; empty when there are no hosts.
    table: Vec<u32>,
    count: usize,
}

impl MaglevLb {
    /// A table of `table_size` slots over `hosts`; a size that is not a prime (config
    /// validation refuses those) falls back to Envoy's 65537.
    pub fn new(hosts: &[Arc<Host>], table_size: u32) -> Self {
        let size = if is_prime(table_size) {
            table_size
        } else {
            LbConfig::DEFAULT_MAGLEV_TABLE_SIZE
        };
        Self {
            table: build_table(hosts, u64::from(size)),
            count: hosts.len(),
        }
    }
}

impl LoadBalancer for MaglevLb {
    fn choose(&self, ctx: &LbContext) -> Option<usize> {
        self.choose_for_attempt(ctx, 0)
    }

    fn choose_for_attempt(&self, ctx: &LbContext, attempt: u32) -> Option<usize> {
        if self.count == 0 {
            return None;
        }
        let host = match ctx.hash_key {
            Some(key) => {
                let slot = (key % self.table.len().max(1) as u64) as usize;
                self.table.get(slot).map_or(0, |&h| h as usize)
            }
            None => fastrand::usize(..self.count),
        };
        Some((host + attempt as usize) % self.count)
    }
}

/// One host's place in the build: its permutation and its turn accounting.
struct Entry {
    offset: u64,
    skip: u64,
    /// Position in its permutation.
    next: u64,
    weight: u64,
    /// Turns are taken while `iteration × weight ≥ target`; each turn adds the max weight.
    target: u64,
}

fn build_table(hosts: &[Arc<Host>], size: u64) -> Vec<u32> {
    if hosts.is_empty() {
        return Vec::new();
    }
    let max_weight = hosts
        .iter()
        .map(|h| u64::from(h.weight.max(1)))
        .max()
        .unwrap_or(1);
    let mut entries: Vec<Entry> = hosts
        .iter()
        .map(|h| {
            let digest = Md5::digest(host_key(&h.address).as_bytes());
            let (a, b) = digest.split_at(8);
            let half = |bytes: &[u8]| {
                let mut word = [0u8; 8];
                word.copy_from_slice(bytes);
                u64::from_le_bytes(word)
            };
            Entry {
                offset: half(a) % size,
                skip: half(b) % (size - 1) + 1,
                next: 0,
                weight: u64::from(h.weight.max(1)),
                target: 0,
            }
        })
        .collect();
    let mut table = vec![u32::MAX; usize::try_from(size).unwrap_or(0)];
    let mut filled = 0u64;
    let mut iteration = 1u64;
    while filled < size {
        for (host, entry) in (0u32..).zip(entries.iter_mut()) {
            if filled == size {
                break;
            }
            if iteration * entry.weight < entry.target {
                continue;
            }
            entry.target += max_weight;
            // The permutation visits every slot (size is prime, skip in 1..size), so a
            // free one comes within `size` steps.
            loop {
                let slot = ((entry.offset + entry.skip * entry.next) % size) as usize;
                entry.next += 1;
                if table[slot] == u32::MAX {
                    table[slot] = host;
                    filled += 1;
                    break;
                }
            }
        }
        iteration += 1;
    }
    table
}

/// Trial division (sizes are at most a few million).
fn is_prime(n: u32) -> bool {
    let n = u64::from(n);
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lb::tests::{hosts, weighted_hosts};

    fn key(i: u64) -> LbContext {
        // Spread test keys over the whole u64 range, as real hash keys are.
        LbContext {
            hash_key: Some(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            ..LbContext::default()
        }
    }

    #[test]
    fn same_key_same_host_and_keys_spread_evenly() {
        let lb = MaglevLb::new(&hosts(10), 65_537);
        let mut counts = [0u32; 10];
        for i in 0..50_000 {
            let h = lb.choose(&key(i)).unwrap();
            assert_eq!(lb.choose(&key(i)), Some(h));
            counts[h] += 1;
        }
        for c in counts {
            assert!((4_000..6_000).contains(&c), "{counts:?}");
        }
        // Slots per host: within 1 of each other at equal weights.
        let mut slots = [0u32; 10];
        for &h in &lb.table {
            slots[h as usize] += 1;
        }
        let (min, max) = (slots.iter().min().unwrap(), slots.iter().max().unwrap());
        assert!(max - min <= 1, "{slots:?}");
    }

    #[test]
    fn removing_a_host_moves_few_keys() {
        let all = hosts(10);
        let before = MaglevLb::new(&all, 65_537);
        let survivors: Vec<_> = all
            .iter()
            .filter(|h| !Arc::ptr_eq(h, &all[4]))
            .cloned()
            .collect();
        let after = MaglevLb::new(&survivors, 65_537);
        let (mut kept, mut total) = (0, 0);
        for i in 0..20_000 {
            let old = &all[before.choose(&key(i)).unwrap()];
            let new = &survivors[after.choose(&key(i)).unwrap()];
            if Arc::ptr_eq(old, &all[4]) {
                continue;
            }
            total += 1;
            kept += usize::from(Arc::ptr_eq(old, new));
        }
        assert!(kept * 100 >= total * 90, "{kept} of {total} stayed");
    }

    #[test]
    fn weights_scale_slots() {
        let lb = MaglevLb::new(&weighted_hosts(&[1, 2, 5]), 65_537);
        let mut slots = [0f64; 3];
        for &h in &lb.table {
            slots[h as usize] += 1.0;
        }
        let unit = 65_537.0 / 8.0;
        for (s, w) in slots.iter().zip([1.0, 2.0, 5.0]) {
            assert!((s / (unit * w) - 1.0).abs() < 0.01, "{slots:?}");
        }
    }

    #[test]
    fn retries_move_to_the_next_host_and_no_key_is_random() {
        let lb = MaglevLb::new(&hosts(4), 65_537);
        let first = lb.choose(&key(7)).unwrap();
        assert_eq!(lb.choose_for_attempt(&key(7), 1), Some((first + 1) % 4));
        assert_eq!(lb.choose_for_attempt(&key(7), 6), Some((first + 6) % 4));
        let mut seen = [false; 4];
        for _ in 0..200 {
            seen[lb.choose(&LbContext::default()).unwrap()] = true;
        }
        assert_eq!(seen, [true; 4]);
    }

    #[test]
    fn small_tables_odd_sizes_and_edge_host_counts() {
        let ctx = key(3);
        assert_eq!(MaglevLb::new(&[], 65_537).choose(&ctx), None);
        assert_eq!(MaglevLb::new(&hosts(1), 65_537).choose(&ctx), Some(0));
        // More hosts than slots: some hosts get no slot, nothing breaks.
        let lb = MaglevLb::new(&hosts(20), 7);
        assert_eq!(lb.table.len(), 7);
        assert!(lb.choose(&ctx).unwrap() < 20);
        // Not prime: Envoy's default size instead.
        assert_eq!(MaglevLb::new(&hosts(3), 1000).table.len(), 65_537);
    }
}
