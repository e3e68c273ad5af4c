//! `LB_WEIGHTED_ROUNDROBIN`: hosts in proportion to their weights, exactly.
//!
//! MOSN runs an EDF (earliest deadline first) scheduler behind a mutex. Here the EDF
//! order of one whole cycle is computed when the host set is built, and a pick is one
//! atomic increment into that schedule. Host `i` of weight `w` has its `k`-th turn
//! (k = 1..=w) at deadline `(2k - 1) / 2w`, the middle of its k-th share of the cycle, so
//! turns interleave smoothly (weights 1, 2, 3 give 2 1 0 2 1 2). A cycle holds each host
//! exactly `w` times (weights divided by their gcd first), so every window of one cycle's
//! length — any start — holds each host exactly in proportion to its weight. Equal weights
//! reduce to plain round robin.

use super::{LbContext, LoadBalancer};
use crate::host::Host;
use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Longest schedule kept (4 MiB of indices). MOSN clamps weights to 1..=128, so only a
/// cluster of more than 8192 hosts with mixed weights comes near it; beyond it, weights
/// are scaled down and honoured approximately.
const MAX_SCHEDULE: u64 = 1 << 20;

/// Smooth weighted round robin over a precomputed cycle.
#[derive(Debug)]
pub struct WeightedRoundRobinLb {
    schedule: Vec<u32>,
    next: AtomicUsize,
}

impl WeightedRoundRobinLb {
    /// A balancer over `hosts`, starting at a random point of the cycle (as MOSN does) so
    /// that rebuilds do not all start at the same host.
    pub fn new(hosts: &[Arc<Host>]) -> Self {
        let weights: Vec<u32> = hosts.iter().map(|h| h.weight).collect();
        Self::with_weights(&weights)
    }

    /// A balancer over one host per entry of `weights` (slow start's effective weights).
    pub fn with_weights(weights: &[u32]) -> Self {
        let weights: Vec<u64> = weights.iter().map(|&w| u64::from(w.max(1))).collect();
        let schedule = edf_cycle(&reduce(weights));
        let start = fastrand::usize(..schedule.len().max(1));
        Self {
            schedule,
            next: AtomicUsize::new(start),
        }
    }
}

impl LoadBalancer for WeightedRoundRobinLb {
    fn choose(&self, _ctx: &LbContext) -> Option<usize> {
        let len = self.schedule.len();
        if len == 0 {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % len;
        self.schedule.get(i).map(|&h| h as usize)
    }
}

/// Divides the weights by their gcd, then scales them down if one cycle would be longer
/// than [`MAX_SCHEDULE`] (each stays ≥ 1).
fn reduce(mut weights: Vec<u64>) -> Vec<u64> {
    let g = weights.iter().copied().fold(0, gcd).max(1);
    for w in &mut weights {
        *w /= g;
    }
    let total: u64 = weights.iter().sum();
    if total > MAX_SCHEDULE {
        for w in &mut weights {
            *w = (*w * MAX_SCHEDULE / total).max(1);
        }
    }
    weights
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// One turn in the EDF order: host `host`'s `k`-th turn, due at `(2k - 1) / 2w`.
#[derive(Debug, PartialEq, Eq)]
struct Turn {
    k: u64,
    w: u64,
    host: u32,
}

impl Ord for Turn {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        // (2k1 - 1) / w1 vs (2k2 - 1) / w2, exactly; ties go to the lower index.
        ((2 * self.k - 1) * other.w)
            .cmp(&((2 * other.k - 1) * self.w))
            .then(self.host.cmp(&other.host))
    }
}

impl PartialOrd for Turn {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

/// Every turn of one cycle in deadline order.
fn edf_cycle(weights: &[u64]) -> Vec<u32> {
    let total: u64 = weights.iter().sum();
    let mut schedule = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut heap: BinaryHeap<Reverse<Turn>> = weights
        .iter()
        .zip(0u32..)
        .map(|(&w, host)| Reverse(Turn { k: 1, w, host }))
        .collect();
    while let Some(Reverse(turn)) = heap.pop() {
        schedule.push(turn.host);
        if turn.k < turn.w {
            heap.push(Reverse(Turn {
                k: turn.k + 1,
                ..turn
            }));
        }
    }
    schedule
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lb::tests::weighted_hosts;

    fn counts(picks: &[usize], n: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        for &p in picks {
            c[p] += 1;
        }
        c
    }

    #[test]
    fn weights_are_exact_over_every_window() {
        let lb = WeightedRoundRobinLb::new(&weighted_hosts(&[1, 2, 3]));
        let ctx = LbContext::default();
        let picks: Vec<usize> = (0..600).map(|_| lb.choose(&ctx).unwrap()).collect();
        for window in picks.windows(6) {
            assert_eq!(counts(window, 3), [1, 2, 3], "{window:?}");
        }
    }

    #[test]
    fn turns_interleave_smoothly() {
        assert_eq!(edf_cycle(&[1, 2, 3]), [2, 1, 0, 2, 1, 2]);
        // The heavy host's turns are spread over the cycle, not bunched at one end.
        assert_eq!(edf_cycle(&[1, 1, 1, 1, 4]), [4, 4, 0, 1, 2, 3, 4, 4]);
        assert_eq!(edf_cycle(&[1, 1, 2]), [2, 0, 1, 2]);
    }

    #[test]
    fn weights_reduce_by_their_gcd_and_equal_weights_are_round_robin() {
        let lb = WeightedRoundRobinLb::new(&weighted_hosts(&[20, 40, 60]));
        assert_eq!(lb.schedule.len(), 6);
        let lb = WeightedRoundRobinLb::new(&weighted_hosts(&[5, 5, 5, 5]));
        let ctx = LbContext::default();
        let first = lb.choose(&ctx).unwrap();
        for i in 1..12 {
            assert_eq!(lb.choose(&ctx), Some((first + i) % 4));
        }
    }

    #[test]
    fn huge_cycles_are_scaled_down() {
        let weights = reduce(vec![128; 10_000].into_iter().chain([1]).collect());
        assert!(weights.iter().sum::<u64>() <= MAX_SCHEDULE);
        assert!(weights.iter().all(|&w| w >= 1));
    }

    #[test]
    fn one_and_no_hosts() {
        let ctx = LbContext::default();
        let one = WeightedRoundRobinLb::new(&weighted_hosts(&[7]));
        assert!((0..5).all(|_| one.choose(&ctx) == Some(0)));
        assert_eq!(WeightedRoundRobinLb::new(&[]).choose(&ctx), None);
    }
}
