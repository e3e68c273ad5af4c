//! Random host draws shared by the balancers: uniform, or proportional to host weight
//! through Walker's alias table (O(1) per draw, built once per host set).
//!
//! Draws take a `fastrand::Rng` forked once per pick from the thread's generator, so a
//! pick of several draws touches thread-local storage once.

use crate::host::Host;
use std::sync::Arc;

/// Draws host indices uniformly, or in proportion to their weights when they differ.
#[derive(Debug)]
pub(crate) struct Sampler {
    count: usize,
    /// `None` when all weights are equal: a uniform draw is the same and cheaper.
    alias: Option<AliasTable>,
}

impl Sampler {
    /// A sampler over `hosts`' weights.
    pub(crate) fn new(hosts: &[Arc<Host>]) -> Self {
        let weights: Vec<u32> = hosts.iter().map(|h| h.weight).collect();
        Self::from_weights(&weights)
    }

    /// A sampler over explicit weights, one per host (slow start's effective weights).
    pub(crate) fn from_weights(weights: &[u32]) -> Self {
        let equal = weights.windows(2).all(|w| w[0] == w[1]);
        Self {
            count: weights.len(),
            alias: (!equal).then(|| AliasTable::new(weights)),
        }
    }

    /// True when the hosts' weights differ.
    pub(crate) fn weighted(&self) -> bool {
        self.alias.is_some()
    }

    /// One host index (0 over an empty list).
    pub(crate) fn draw(&self, rng: &mut fastrand::Rng) -> usize {
        match &self.alias {
            Some(alias) => alias.draw(rng),
            None => rng.usize(..self.count.max(1)),
        }
    }
}

/// Walker's alias method over integer weights: bucket `i` keeps itself when a draw in
/// `0..total` falls below `keep[i]`, otherwise yields `alias[i]`. Exact, integer-only.
#[derive(Debug)]
pub(crate) struct AliasTable {
    keep: Vec<u64>,
    alias: Vec<u32>,
    /// Sum of the weights: each bucket holds `total` units of probability mass.
    total: u64,
}

impl AliasTable {
    /// Builds the table (Vose's variant); `weights` must be non-empty, each ≥ 1.
    pub(crate) fn new(weights: &[u32]) -> Self {
        let n = weights.len() as u64;
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        // Bucket i's mass in units where every bucket has `total`: weight × n.
        let mut mass: Vec<u64> = weights.iter().map(|&w| u64::from(w) * n).collect();
        let mut alias: Vec<u32> = (0..weights.len() as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..weights.len()).partition(|&i| mass[i] < total);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            alias[s] = l as u32;
            mass[l] -= total - mass[s];
            if mass[l] < total {
                large.pop();
                small.push(l);
            }
        }
        // Whatever is left is full (exactly `total`).
        for i in small.into_iter().chain(large) {
            mass[i] = total;
        }
        Self {
            keep: mass,
            alias,
            total: total.max(1),
        }
    }

    /// One index, with probability weight / total.
    pub(crate) fn draw(&self, rng: &mut fastrand::Rng) -> usize {
        let i = rng.usize(..self.keep.len().max(1));
        let Some(&keep) = self.keep.get(i) else {
            return 0;
        };
        if rng.u64(..self.total) < keep {
            i
        } else {
            self.alias.get(i).map_or(i, |&a| a as usize)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_table_draws_in_proportion() {
        let table = AliasTable::new(&[1, 2, 3, 10]);
        let mut counts = [0u32; 4];
        let mut rng = fastrand::Rng::new();
        for _ in 0..160_000 {
            counts[table.draw(&mut rng)] += 1;
        }
        for (c, w) in counts.iter().zip([1u32, 2, 3, 10]) {
            let expected = w * 10_000;
            assert!(c.abs_diff(expected) < expected / 10 + 300, "{counts:?}");
        }
    }

    #[test]
    fn alias_table_mass_is_exact() {
        // Total mass per index, summed over buckets, equals weight × n exactly.
        let weights = [7u32, 1, 1, 3, 128, 5];
        let t = AliasTable::new(&weights);
        let n = weights.len() as u64;
        let mut mass = vec![0u64; weights.len()];
        for i in 0..weights.len() {
            mass[i] += t.keep[i];
            mass[t.alias[i] as usize] += t.total - t.keep[i];
        }
        let expected: Vec<u64> = weights.iter().map(|&w| u64::from(w) * n).collect();
        assert_eq!(mass, expected);
    }
}
