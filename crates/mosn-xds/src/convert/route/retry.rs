//! `retry_policy` (route or virtual host) → the model's [`RetryPolicy`].
//!
//! Envoy's conditions as its router applies them: `5xx` and `gateway-error` also retry
//! resets, connect failures and per-try timeouts; `reset` also retries connect failures
//! and per-try timeouts; unknown condition names are ignored (Envoy ignores them too).
//! `retriable-4xx` is status 409. A route without a policy retries nothing (MOSN's own
//! default, connect failures 3 times, is not Envoy's).
//!
//! `refused-stream` and the gRPC conditions (`cancelled`, `deadline-exceeded`,
//! `internal`, `resource-exhausted`, `unavailable`, read from a trailers-only response's
//! `grpc-status`) convert to the model's flags of the same meaning. Refused: the
//! conditions the model has no failure kind for (`envoy-ratelimited`,
//! `retriable-headers`, `reset-before-request`, `http3-post-connect-failure`).
//!
//! `previous_hosts` makes a retry re-pick a host the balancer chose again, up to
//! `host_selection_retry_max_attempts` times (Envoy's default, when unset, is once; at
//! most [`MAX_HOST_RESELECTS`]); without the predicate a retry takes whatever host the
//! balancer picks, as in Envoy.

use super::super::{config_type, duration, refuse_leftover, type_url, ConvertError, Result};
use super::action::NO_TIMEOUT;
use envoy_types::pb::envoy::config::route::v3::retry_policy::{
    retry_host_predicate::ConfigType, RetryBackOff, RetryHostPredicate,
};
use envoy_types::pb::envoy::config::route::v3::RetryPolicy as EnvoyPolicy;
use envoy_types::pb::envoy::extensions::retry::host::previous_hosts::v3::PreviousHostsPredicate;
use mosn_config::model::{RetryOn, RetryPolicy};
use std::time::Duration;

/// Envoy's name of the `previous_hosts` predicate, which Istio sent without a typed
/// config before the typed form existed.
const PREVIOUS_HOSTS: &str = "envoy.retry_host_predicates.previous_hosts";

/// The most host re-picks a retry makes: beyond a few, more picks of a balancer that
/// keeps choosing the failed host only delay the request.
pub(super) const MAX_HOST_RESELECTS: u32 = 16;

/// Envoy's default first backoff interval.
const BACKOFF_BASE: Duration = Duration::from_millis(25);

/// Envoy's default largest backoff: this many times the first interval.
const BACKOFF_MAX_FACTOR: u32 = 10;

/// What a route without any retry policy (its own or its virtual host's) does in Envoy.
pub(super) fn no_retries() -> RetryPolicy {
    RetryPolicy {
        retry_on: RetryOn::default(),
        num_retries: 0,
        per_try_timeout: None,
        status_codes: Vec::new(),
        backoff_base: BACKOFF_BASE,
        backoff_max: BACKOFF_BASE * BACKOFF_MAX_FACTOR,
        host_reselect_attempts: 0,
    }
}

/// Converts one `retry_policy`.
pub(super) fn retry_policy(mut p: EnvoyPolicy) -> Result<RetryPolicy> {
    let predicates = std::mem::take(&mut p.retry_host_predicate);
    let reselects = std::mem::take(&mut p.host_selection_retry_max_attempts);
    let host_reselect_attempts = if predicates.is_empty() {
        0
    } else {
        host_reselects(reselects)
    };
    for (i, predicate) in predicates.into_iter().enumerate() {
        previous_hosts(predicate).map_err(|e| e.within(format!("retry_host_predicate[{i}]")))?;
    }
    let codes = std::mem::take(&mut p.retriable_status_codes);
    let (retry_on, status_codes) = conditions(&std::mem::take(&mut p.retry_on), &codes)?;
    let num_retries = p.num_retries.take().map_or(1, |n| n.value);
    let per_try_timeout = match p.per_try_timeout.take() {
        Some(d) => Some(duration(&d, "per_try_timeout")?).filter(|d| !d.is_zero()),
        None => None,
    };
    let (backoff_base, backoff_max) = match p.retry_back_off.take() {
        Some(b) => backoff(b).map_err(|e| e.within("retry_back_off"))?,
        None => (BACKOFF_BASE, BACKOFF_BASE * BACKOFF_MAX_FACTOR),
    };
    refuse_leftover(&p, "")?;
    Ok(RetryPolicy {
        retry_on,
        num_retries,
        per_try_timeout: per_try_timeout.map(|d| d.min(NO_TIMEOUT)),
        status_codes,
        backoff_base,
        backoff_max,
        host_reselect_attempts,
    })
}

/// `host_selection_retry_max_attempts` with the `previous_hosts` predicate: unset (0)
/// is Envoy's default of one re-pick; bounded by [`MAX_HOST_RESELECTS`].
fn host_reselects(max_attempts: i64) -> u32 {
    if max_attempts <= 0 {
        return 1;
    }
    u32::try_from(max_attempts).map_or(MAX_HOST_RESELECTS, |n| n.min(MAX_HOST_RESELECTS))
}

/// Accepts the `previous_hosts` predicate, by name or by typed config.
fn previous_hosts(mut p: RetryHostPredicate) -> Result<()> {
    match p.config_type.take() {
        Some(ConfigType::TypedConfig(any)) => {
            if config_type(&any) != type_url::<PreviousHostsPredicate>() {
                return Err(ConvertError::unsupported(
                    "typed_config",
                    format!("retry host predicate {}", config_type(&any)),
                ));
            }
            super::super::unpack::<PreviousHostsPredicate>(&any, "typed_config")?;
        }
        None if p.name == PREVIOUS_HOSTS => {}
        None => {
            return Err(ConvertError::unsupported(
                "name",
                format!("retry host predicate {:?}", p.name),
            ))
        }
    }
    p.name.clear();
    refuse_leftover(&p, "")
}

/// The failures `retry_on` names, and the statuses retried besides 5xx.
fn conditions(retry_on: &str, codes: &[u32]) -> Result<(RetryOn, Vec<u16>)> {
    let mut on = RetryOn::default();
    let mut statuses = Vec::new();
    let mut listed_codes = false;
    for condition in retry_on.split(',').map(str::trim) {
        match condition {
            "5xx" => {
                on = with_resets(RetryOn {
                    five_xx: true,
                    ..on
                })
            }
            "gateway-error" => {
                on = with_resets(RetryOn {
                    gateway_error: true,
                    ..on
                })
            }
            "reset" => on = with_resets(on),
            "connect-failure" => on.connect_failure = true,
            "retriable-status-codes" => listed_codes = true,
            "retriable-4xx" => statuses.push(409),
            "refused-stream" => on.refused_stream = true,
            grpc if on.grpc.set(grpc) => {}
            "envoy-ratelimited"
            | "retriable-headers"
            | "reset-before-request"
            | "http3-post-connect-failure" => {
                return Err(ConvertError::unsupported(
                    "retry_on",
                    format!("retry condition {condition:?}"),
                ))
            }
            _ => {}
        }
    }
    if listed_codes {
        statuses.extend(codes.iter().filter_map(|&c| u16::try_from(c).ok()));
    }
    status_codes(on, statuses)
}

/// Resets, connect failures and per-try timeouts, which Envoy retries under `reset`,
/// `5xx` and `gateway-error` alike.
fn with_resets(on: RetryOn) -> RetryOn {
    RetryOn {
        reset: true,
        connect_failure: true,
        per_try_timeout: true,
        ..on
    }
}

/// Statuses retried besides `5xx`. The model limits `five_xx` to its status list when
/// that is not empty, so both can be had only when every listed status is a 5xx anyway.
fn status_codes(mut on: RetryOn, mut statuses: Vec<u16>) -> Result<(RetryOn, Vec<u16>)> {
    if on.five_xx {
        statuses.retain(|s| !(500..600).contains(s));
    }
    statuses.sort_unstable();
    statuses.dedup();
    if on.five_xx && !statuses.is_empty() {
        return Err(ConvertError::unsupported(
            "retriable_status_codes",
            format!("retrying {statuses:?} together with 5xx"),
        ));
    }
    on.retriable_status_codes = !statuses.is_empty();
    Ok((on, statuses))
}

/// `retry_back_off`: Envoy's rules (a positive base, a maximum not below it, ten times
/// the base by default).
fn backoff(mut b: RetryBackOff) -> Result<(Duration, Duration)> {
    let base = match b.base_interval.take() {
        Some(d) => duration(&d, "base_interval")?,
        None => Duration::ZERO,
    };
    if base.is_zero() {
        return Err(ConvertError::new("base_interval", "must be greater than 0"));
    }
    let max = match b.max_interval.take() {
        Some(d) => duration(&d, "max_interval")?,
        None => base.saturating_mul(BACKOFF_MAX_FACTOR),
    };
    if max < base {
        return Err(ConvertError::new(
            "max_interval",
            "must not be less than base_interval",
        ));
    }
    refuse_leftover(&b, "")?;
    Ok((base, max))
}
