//! Envoy's own `x-envoy-*` request headers, for listeners converted from Envoy's
//! configuration: the connection manager removes those a client must not set, and the
//! router tells the upstream its timeout and, after a rewrite, the original path or host.

use http::header::HeaderName;
use http::{HeaderMap, HeaderValue};
use std::time::Duration;

/// The headers Envoy's connection manager removes from an external request
/// (`ConnectionManagerUtility::cleanInternalHeaders`): a client must not steer retries,
/// timeouts or tracing through them.
const INTERNAL: &[&str] = &[
    "x-envoy-retriable-status-codes",
    "x-envoy-retriable-header-names",
    "x-envoy-retry-on",
    "x-envoy-retry-grpc-on",
    "x-envoy-max-retries",
    "x-envoy-upstream-alt-stat-name",
    "x-envoy-upstream-rq-timeout-ms",
    "x-envoy-upstream-rq-per-try-timeout-ms",
    "x-envoy-upstream-rq-timeout-alt-response",
    "x-envoy-expected-rq-timeout-ms",
    "x-envoy-force-trace",
    "x-envoy-ip-tags",
    "x-envoy-original-url",
    "x-envoy-hedge-on-per-try-timeout",
    "x-envoy-decorator-operation",
    "x-envoy-downstream-service-cluster",
    "x-envoy-downstream-service-node",
];

/// The timeout the router expects the upstream to answer within.
pub(super) static EXPECTED_TIMEOUT: HeaderName =
    HeaderName::from_static("x-envoy-expected-rq-timeout-ms");

/// The path (and query) before a rewrite.
pub(super) static ORIGINAL_PATH: HeaderName = HeaderName::from_static("x-envoy-original-path");

/// How long the upstream took to answer, in milliseconds (a response header).
pub(super) static UPSTREAM_SERVICE_TIME: HeaderName =
    HeaderName::from_static("x-envoy-upstream-service-time");

/// The host before a rewrite.
pub(super) static ORIGINAL_HOST: HeaderName = HeaderName::from_static("x-envoy-original-host");

/// A route timeout this long stands for Envoy's `0s`, none (the converter's "never" is a
/// century).
const NO_TIMEOUT_FROM: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Removes the headers a client must not set.
pub(super) fn strip_internal(headers: &mut HeaderMap) {
    for name in INTERNAL {
        headers.remove(*name);
    }
}

/// `x-envoy-expected-rq-timeout-ms` for an attempt `elapsed` after the request began, as
/// Envoy's router computes it: the per-try timeout, else the route's, never more than
/// what is left of the route's (at least 1); none without either.
pub(super) fn expected_timeout(
    route: Duration,
    per_try: Option<Duration>,
    elapsed: Duration,
) -> Option<HeaderValue> {
    let global = if route >= NO_TIMEOUT_FROM {
        0
    } else {
        u64::try_from(route.as_millis()).unwrap_or(u64::MAX)
    };
    let per_try = per_try.map_or(0, |t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
    let mut expected = if per_try == 0 { global } else { per_try };
    if expected == 0 {
        return None;
    }
    if global > 0 {
        let elapsed = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        expected = if elapsed >= global {
            1
        } else {
            expected.min(global - elapsed)
        };
    }
    Some(HeaderValue::from(expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn expected_timeout_follows_envoys_router() {
        let value = |route, per_try, elapsed| {
            expected_timeout(route, per_try, elapsed).map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(value(ms(15000), None, ms(0)).as_deref(), Some("15000"));
        assert_eq!(value(ms(15000), None, ms(78)).as_deref(), Some("14922"));
        assert_eq!(
            value(ms(3000), Some(ms(500)), ms(700)).as_deref(),
            Some("500")
        );
        assert_eq!(
            value(ms(3000), Some(ms(500)), ms(2800)).as_deref(),
            Some("200")
        );
        assert_eq!(value(ms(1000), None, ms(1500)).as_deref(), Some("1"));
        assert_eq!(value(NO_TIMEOUT_FROM * 10, None, ms(5)), None);
        assert_eq!(
            value(NO_TIMEOUT_FROM * 10, Some(ms(250)), ms(5)).as_deref(),
            Some("250")
        );
    }

    #[test]
    fn internal_headers_are_stripped_and_others_kept() {
        let mut h = HeaderMap::new();
        h.insert("x-envoy-retry-on", HeaderValue::from_static("5xx"));
        h.insert(
            "x-envoy-upstream-rq-timeout-ms",
            HeaderValue::from_static("9"),
        );
        h.insert("x-envoy-attempt-count", HeaderValue::from_static("1"));
        h.insert("x-other", HeaderValue::from_static("1"));
        strip_internal(&mut h);
        let mut names: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["x-envoy-attempt-count", "x-other"]);
    }
}
