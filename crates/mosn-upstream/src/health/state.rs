//! The per-host threshold state machine, with MOSN's `sessionChecker` semantics.

/// A change of a host's active health check verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// `healthy_threshold` consecutive successes: the host is back.
    BecameHealthy,
    /// `unhealthy_threshold` consecutive failures: the host is out.
    BecameUnhealthy,
}

/// What the active health check knows of one host. A new host is healthy (MOSN starts
/// every host healthy and counts it in its healthy gauge before the first check).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostHealth {
    failed: bool,
    successes: u32,
    failures: u32,
}

impl HostHealth {
    /// True when the last verdict was "unhealthy".
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// Records one check result. As in MOSN, a success resets the failure streak and
    /// counts only while the host is failed; a failure resets the success streak and
    /// counts only while the host is healthy. Thresholds below 1 count as 1.
    pub fn record(
        &mut self,
        success: bool,
        healthy_threshold: u32,
        unhealthy_threshold: u32,
    ) -> Option<Transition> {
        if success {
            self.failures = 0;
            if self.failed {
                self.successes += 1;
                if self.successes >= healthy_threshold.max(1) {
                    self.failed = false;
                    self.successes = 0;
                    return Some(Transition::BecameHealthy);
                }
            }
        } else {
            self.successes = 0;
            if !self.failed {
                self.failures += 1;
                if self.failures >= unhealthy_threshold.max(1) {
                    self.failed = true;
                    self.failures = 0;
                    return Some(Transition::BecameUnhealthy);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `results` ('+' success, '-' failure) and returns where transitions happened
    /// ('H' became healthy, 'U' became unhealthy, '.' none).
    fn run(results: &str, healthy: u32, unhealthy: u32) -> String {
        let mut h = HostHealth::default();
        results
            .chars()
            .map(|c| match h.record(c == '+', healthy, unhealthy) {
                Some(Transition::BecameHealthy) => 'H',
                Some(Transition::BecameUnhealthy) => 'U',
                None => '.',
            })
            .collect()
    }

    #[test]
    fn thresholds_of_one_flip_at_once() {
        assert_eq!(run("++-+--++", 1, 1), "..UHU.H.");
        // 0 is treated as 1.
        assert_eq!(run("-+", 0, 0), "UH");
    }

    #[test]
    fn streaks_must_be_consecutive() {
        // unhealthy_threshold 3: two failures, a success, then three failures.
        assert_eq!(run("--+---", 2, 3), ".....U");
        // healthy_threshold 2 once failed: a failure in between restarts the count.
        assert_eq!(run("---+-++", 2, 3), "..U...H");
    }

    #[test]
    fn hosts_start_healthy_and_successes_do_not_accumulate() {
        let mut h = HostHealth::default();
        assert!(!h.is_failed());
        // Many successes while healthy do not pre-pay the healthy threshold.
        for _ in 0..5 {
            assert_eq!(h.record(true, 2, 1), None);
        }
        assert_eq!(h.record(false, 2, 1), Some(Transition::BecameUnhealthy));
        assert!(h.is_failed());
        assert_eq!(h.record(true, 2, 1), None);
        assert!(h.is_failed());
        assert_eq!(h.record(true, 2, 1), Some(Transition::BecameHealthy));
        assert!(!h.is_failed());
        // Failures while failed do not pre-pay the next unhealthy streak either.
        assert_eq!(run("--", 1, 2), ".U");
    }
}
