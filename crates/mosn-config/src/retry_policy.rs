//! `route.retry_policy`, in MOSN's form (`retry_on` a boolean) or Envoy's (`retry_on` a
//! comma-separated list of conditions).

use crate::json::{Field, Obj};
use crate::model::{RetryOn, RetryPolicy};
use crate::tree::Json;
use std::time::Duration;

/// Envoy's default largest backoff: ten times the base interval.
const BACKOFF_MAX_FACTOR: u32 = 10;

/// Parses a `retry_policy` object.
///
/// MOSN semantics: `retry_on: true` retries connect failures, resets, per-try timeouts
/// and 5xx responses (only `status_codes` when listed); `false` retries connect failures
/// only. MOSN itself always allows at least 3 retries whatever `num_retries` says; here
/// `num_retries` is honoured as written and 3 is only its default.
pub(crate) fn parse_retry_policy(obj: &Obj<'_>) -> Option<RetryPolicy> {
    let default = RetryPolicy::default();
    let retry_on = match obj.get("retry_on") {
        None => default.retry_on,
        Some(f) => retry_on(&f)?,
    };
    let num_retries = obj
        .uint::<u32>("num_retries")
        .unwrap_or(default.num_retries);
    let per_try_timeout = per_try_timeout(obj);
    let mut codes = status_codes(obj, "status_codes")?;
    codes.extend(status_codes(obj, "retriable_status_codes")?);
    let (backoff_base, backoff_max) = backoff(obj, &default)?;
    Some(RetryPolicy {
        retry_on,
        num_retries,
        per_try_timeout,
        status_codes: codes,
        backoff_base,
        backoff_max,
        host_reselect_attempts: default.host_reselect_attempts,
    })
}

fn retry_on(field: &Field<'_>) -> Option<RetryOn> {
    if let Json::Bool(on) = field.value {
        return Some(RetryOn {
            connect_failure: true,
            reset: *on,
            five_xx: *on,
            per_try_timeout: *on,
            ..RetryOn::default()
        });
    }
    let text = field.as_str()?;
    let mut on = RetryOn::default();
    for cond in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        match cond {
            "5xx" => {
                on.five_xx = true;
                on.per_try_timeout = true;
                on.reset = true;
                on.connect_failure = true;
            }
            "gateway-error" => {
                on.gateway_error = true;
                on.per_try_timeout = true;
                on.connect_failure = true;
            }
            "connect-failure" => on.connect_failure = true,
            "reset" | "reset-before-request" => on.reset = true,
            "retriable-status-codes" => on.retriable_status_codes = true,
            "refused-stream" => on.refused_stream = true,
            other if on.grpc.set(other) => {}
            other => {
                field.error(format!(
                    "retry condition {other:?} is not supported; expected 5xx, \
                     gateway-error, connect-failure, reset, retriable-status-codes, \
                     refused-stream, cancelled, deadline-exceeded, internal, \
                     resource-exhausted or unavailable"
                ));
                return None;
            }
        }
    }
    Some(on)
}

/// `retry_timeout` (MOSN) or `per_try_timeout` (Envoy); zero means none.
fn per_try_timeout(obj: &Obj<'_>) -> Option<Duration> {
    let mosn = obj.duration("retry_timeout");
    let envoy = obj.duration("per_try_timeout");
    mosn.or(envoy).filter(|d| !d.is_zero())
}

fn status_codes(obj: &Obj<'_>, key: &str) -> Option<Vec<u16>> {
    let mut ok = true;
    let codes = obj
        .items(key)
        .iter()
        .filter_map(|f| {
            let code = f.as_uint::<u16>().filter(|c| (100..=599).contains(c));
            if code.is_none() {
                f.error("expected an HTTP status between 100 and 599");
                ok = false;
            }
            code
        })
        .collect();
    ok.then_some(codes)
}

/// Envoy's `retry_back_off{base_interval, max_interval}`.
fn backoff(obj: &Obj<'_>, default: &RetryPolicy) -> Option<(Duration, Duration)> {
    let Some(b) = obj.object("retry_back_off") else {
        return Some((default.backoff_base, default.backoff_max));
    };
    let base = b.duration("base_interval").unwrap_or(default.backoff_base);
    if base.is_zero() {
        b.key_error("base_interval", "must be greater than 0");
        return None;
    }
    let max = b
        .duration("max_interval")
        .unwrap_or(base.saturating_mul(BACKOFF_MAX_FACTOR));
    if max < base {
        b.key_error("max_interval", "must not be less than base_interval");
        return None;
    }
    Some((base, max))
}
