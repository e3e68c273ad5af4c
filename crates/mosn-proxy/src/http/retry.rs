//! Deciding whether a failed upstream attempt is retried, and how long to wait first.

use super::grpc;
use http::header::HeaderName;
use http::HeaderMap;
use mosn_config::{ForwardAction, RetryPolicy};
use std::sync::LazyLock;
use std::time::Duration;

/// Envoy's header numbering a request's upstream attempts (1 for the first), sent when
/// the virtual host sets `include_request_attempt_count`.
pub(super) const ATTEMPT_COUNT: HeaderName = HeaderName::from_static("x-envoy-attempt-count");

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
    /// The HTTP/2 upstream refused the stream (`REFUSED_STREAM`): it did not process the
    /// request.
    RefusedStream,
    /// The attempt's own timeout fired (the route's overall timeout had not).
    PerTryTimeout,
    /// The upstream answered with this status.
    Status(u16),
    /// The upstream answered with this status and, in the head (a trailers-only gRPC
    /// response), this `grpc-status`.
    Grpc {
        /// The HTTP status.
        status: u16,
        /// The `grpc-status` code.
        code: u32,
    },
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

    /// How a response head counts for retrying: by its status, and by its `grpc-status`
    /// only when the policy retries gRPC statuses (the header is not looked up otherwise).
    pub(super) fn response(&self, status: u16, headers: &HeaderMap) -> Failure {
        if self.policy.retry_on.grpc.any() {
            if let Some(code) = grpc::status_in_head(headers) {
                return Failure::Grpc { status, code };
            }
        }
        Failure::Status(status)
    }

    /// Whether the policy retries `failure`. Only connect failures (which never sent the
    /// request) are retried once the request body cannot be sent again.
    fn eligible(&self, failure: Failure) -> bool {
        let on = &self.policy.retry_on;
        let wanted = match failure {
            Failure::Connect => return on.connect_failure,
            Failure::Reset => on.reset,
            Failure::RefusedStream => on.reset || on.refused_stream,
            Failure::PerTryTimeout => on.per_try_timeout,
            Failure::Status(status) => self.status_eligible(status),
            Failure::Grpc { status, code } => on.grpc.retries(code) || self.status_eligible(status),
        };
        wanted && self.replayable
    }

    fn status_eligible(&self, status: u16) -> bool {
        let on = &self.policy.retry_on;
        let codes = &self.policy.status_codes;
        (on.five_xx && status >= 500 && (codes.is_empty() || codes.contains(&status)))
            || (on.gateway_error && matches!(status, 502..=504))
            || (on.retriable_status_codes && codes.contains(&status))
    }

    /// True when the policy can retry after the request was sent, so a request body is
    /// worth keeping for a resend: every condition but connect failures.
    pub(super) fn retries_after_sending(&self) -> bool {
        let on = &self.policy.retry_on;
        self.policy.num_retries > 0
            && (on.reset
                || on.refused_stream
                || on.per_try_timeout
                || on.five_xx
                || on.gateway_error
                || on.retriable_status_codes
                || on.grpc.any())
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
    use mosn_config::{GrpcRetryOn, RetryOn};

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

    fn grpc_head(code: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("grpc-status", code.parse().unwrap());
        h
    }

    #[test]
    fn grpc_statuses_in_the_head_are_retried_by_their_own_conditions() {
        let on = RetryOn {
            grpc: GrpcRetryOn {
                unavailable: true,
                cancelled: true,
                ..GrpcRetryOn::default()
            },
            ..RetryOn::default()
        };
        let p = policy(on, 5, &[]);
        let mut r = RetryState::new(&p);
        let unavailable = r.response(200, &grpc_head("14"));
        assert_eq!(
            unavailable,
            Failure::Grpc {
                status: 200,
                code: 14
            }
        );
        assert!(r.should_retry(unavailable));
        assert!(r.should_retry(r.response(200, &grpc_head("1"))));
        assert!(
            !r.should_retry(r.response(200, &grpc_head("13"))),
            "internal is not listed"
        );
        assert!(!r.should_retry(r.response(200, &grpc_head("0"))));
        assert!(
            !r.should_retry(r.response(200, &grpc_head("x"))),
            "not a code"
        );
        assert!(!r.should_retry(r.response(200, &HeaderMap::new())));
        r.body_sent();
        assert!(!r.should_retry(unavailable), "the body cannot be replayed");
    }

    #[test]
    fn without_grpc_conditions_the_grpc_status_is_not_read() {
        let p = policy(
            RetryOn {
                five_xx: true,
                ..RetryOn::default()
            },
            5,
            &[],
        );
        let r = RetryState::new(&p);
        assert_eq!(r.response(200, &grpc_head("14")), Failure::Status(200));
        let with_grpc = policy(
            RetryOn {
                five_xx: true,
                grpc: GrpcRetryOn {
                    internal: true,
                    ..GrpcRetryOn::default()
                },
                ..RetryOn::default()
            },
            5,
            &[],
        );
        let mut r = RetryState::new(&with_grpc);
        assert!(
            r.should_retry(r.response(503, &grpc_head("14"))),
            "a 5xx is retried by its status whatever its grpc-status"
        );
    }

    #[test]
    fn refused_streams_are_retried_with_refused_stream_or_reset() {
        let refused = policy(
            RetryOn {
                refused_stream: true,
                ..RetryOn::default()
            },
            5,
            &[],
        );
        let mut r = RetryState::new(&refused);
        assert!(r.should_retry(Failure::RefusedStream));
        assert!(
            !r.should_retry(Failure::Reset),
            "another reset is not a refusal"
        );
        let reset = policy(
            RetryOn {
                reset: true,
                ..RetryOn::default()
            },
            5,
            &[],
        );
        assert!(RetryState::new(&reset).should_retry(Failure::RefusedStream));
        let mut gone = RetryState::new(&refused);
        gone.body_sent();
        assert!(
            !gone.should_retry(Failure::RefusedStream),
            "a body that cannot be sent again cannot be retried"
        );
    }

    #[test]
    fn only_policies_that_retry_after_sending_keep_a_copy_of_the_body() {
        assert!(!RetryState::new(&RetryPolicy::default()).retries_after_sending());
        let grpc = policy(
            RetryOn {
                grpc: GrpcRetryOn {
                    unavailable: true,
                    ..GrpcRetryOn::default()
                },
                ..RetryOn::default()
            },
            1,
            &[],
        );
        assert!(RetryState::new(&grpc).retries_after_sending());
        let none = policy(grpc.retry_on, 0, &[]);
        assert!(!RetryState::new(&none).retries_after_sending());
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
