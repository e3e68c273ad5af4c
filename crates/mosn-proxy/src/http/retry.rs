//! Deciding whether a failed upstream attempt is retried, and how long to wait first.

use mosn_config::{ForwardAction, RetryPolicy};
use std::sync::LazyLock;
use std::time::Duration;

/// The route's `retry_policy`, or MOSN's default for routes without one (connect
/// failures, 3 retries).
pub(super) fn route_policy(action: &ForwardAction) -> &RetryPolicy {
    static DEFAULT: LazyLock<RetryPolicy> = LazyLock::new(RetryPolicy::default);
    action.retry_policy.as_ref().unwrap_or(&DEFAULT)
}

/// Why an attempt failed, as far as retrying cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// No connection could be made: the upstream never saw the request.
    Connect,
    /// The upstream reset or closed before a full response head.
    Reset,
    /// The attempt's own timeout fired (the route's overall timeout had not).
    PerTryTimeout,
    /// The upstream answered with this status.
    Status(u16),
}

/// The retry budget of one request.
#[derive(Debug)]
pub(super) struct RetryState<'a> {
    policy: &'a RetryPolicy,
    remaining: u32,
    retries_done: u32,
    /// False once the request body has been streamed upstream: it cannot be sent again,
    /// so only failures before that point (connect failures) may be retried.
    replayable: bool,
}

impl<'a> RetryState<'a> {
    /// A fresh budget; `has_body` requests become non-replayable once their body is sent.
    pub(super) fn new(policy: &'a RetryPolicy) -> Self {
        Self {
            policy,
            remaining: policy.num_retries,
            retries_done: 0,
            replayable: true,
        }
    }

    /// Marks the request body as consumed by an attempt.
    pub(super) fn body_sent(&mut self) {
        self.replayable = false;
    }

    /// True (and one retry spent) when `failure` is retried under the policy.
    pub(super) fn should_retry(&mut self, failure: Failure) -> bool {
        if self.remaining == 0 || !self.eligible(failure) {
            return false;
        }
        self.remaining -= 1;
        self.retries_done += 1;
        true
    }

    fn eligible(&self, failure: Failure) -> bool {
        let on = &self.policy.retry_on;
        match failure {
            Failure::Connect => on.connect_failure,
            Failure::Reset => on.reset && self.replayable,
            Failure::PerTryTimeout => on.per_try_timeout && self.replayable,
            Failure::Status(status) => {
                let codes = &self.policy.status_codes;
                self.replayable
                    && ((on.five_xx
                        && status >= 500
                        && (codes.is_empty() || codes.contains(&status)))
                        || (on.gateway_error && matches!(status, 502..=504))
                        || (on.retriable_status_codes && codes.contains(&status)))
            }
        }
    }

    /// The wait before the next attempt: full jitter over an exponentially growing window
    /// (`backoff_base × 2^(retries-1)`, capped at `backoff_max`), so retries of many
    /// requests spread out instead of hitting a recovering upstream together.
    pub(super) fn backoff(&self) -> Duration {
        let exp = self.retries_done.saturating_sub(1).min(16);
        let window = self
            .policy
            .backoff_base
            .saturating_mul(1 << exp)
            .min(self.policy.backoff_max);
        let nanos = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosn_config::RetryOn;

    fn policy(on: RetryOn, n: u32, codes: &[u16]) -> RetryPolicy {
        RetryPolicy {
            retry_on: on,
            num_retries: n,
            status_codes: codes.to_vec(),
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn default_policy_retries_only_connect_failures_three_times() {
        let p = RetryPolicy::default();
        let mut r = RetryState::new(&p);
        assert!(!r.should_retry(Failure::Reset));
        assert!(!r.should_retry(Failure::Status(503)));
        assert!((0..3).all(|_| r.should_retry(Failure::Connect)));
        assert!(!r.should_retry(Failure::Connect));
    }

    #[test]
    fn status_retries_follow_the_codes_and_need_a_replayable_body() {
        let on = RetryOn {
            five_xx: true,
            ..RetryOn::default()
        };
        let p = policy(on, 5, &[503]);
        let mut r = RetryState::new(&p);
        assert!(!r.should_retry(Failure::Status(500)), "only 503 is listed");
        assert!(r.should_retry(Failure::Status(503)));
        r.body_sent();
        assert!(
            !r.should_retry(Failure::Status(503)),
            "the body cannot be replayed"
        );

        let gw = policy(
            RetryOn {
                gateway_error: true,
                ..RetryOn::default()
            },
            5,
            &[],
        );
        let mut r = RetryState::new(&gw);
        assert!(r.should_retry(Failure::Status(502)));
        assert!(!r.should_retry(Failure::Status(500)));
    }

    #[test]
    fn backoff_grows_within_its_cap() {
        let p = RetryPolicy {
            backoff_base: Duration::from_millis(10),
            backoff_max: Duration::from_millis(40),
            ..policy(
                RetryOn {
                    connect_failure: true,
                    ..RetryOn::default()
                },
                10,
                &[],
            )
        };
        let mut r = RetryState::new(&p);
        for _ in 0..6 {
            assert!(r.should_retry(Failure::Connect));
            assert!(r.backoff() <= Duration::from_millis(40));
        }
        let max = (0..200).map(|_| r.backoff()).max().unwrap();
        assert!(
            max > Duration::from_millis(20),
            "window reached the cap: {max:?}"
        );
    }
}
