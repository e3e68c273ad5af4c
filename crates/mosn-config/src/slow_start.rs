//! `clusters[].slow_start` (MOSN's `v2.SlowStartConfig`): a host that joined, or came
//! back to rotation, gets a weight ramping from `min_weight_percent` of its own up to all
//! of it over `slow_start_duration`.
//!
//! As in MOSN, no `mode` (or `""`) means off, and a mode MOSN does not register is
//! ignored with a warning; `"duration"` is the only registered mode. MOSN applies slow
//! start inside its EDF balancers (`LB_WEIGHTED_ROUNDROBIN`, `LB_LEAST_REQUEST`,
//! `LB_LEAST_CONNECTION`, `LB_PEAK_EWMA`) and nowhere else: here it is built for the
//! first three, refused for `LB_PEAK_EWMA` (it would change its traffic), and ignored
//! with a warning for the balancers where MOSN ignores it too.

use crate::json::Obj;
use crate::lb_config::as_f64;
use crate::model::{LbType, SlowStartConfig};

/// Parses the `slow_start` of one cluster object: `Some(None)` when absent or off,
/// `None` after an error (recorded).
pub(crate) fn parse_slow_start(
    cluster: &Obj<'_>,
    lb_type: Option<LbType>,
) -> Option<Option<SlowStartConfig>> {
    let Some(field) = cluster.get("slow_start") else {
        return Some(None);
    };
    let obj = field.as_object()?;
    let mode = obj.str("mode").unwrap_or("");
    if mode.is_empty() {
        // Off in MOSN; read the other keys so they are checked and not reported unknown.
        obj.tolerate(&["slow_start_duration", "aggression", "min_weight_percent"]);
        return Some(None);
    }
    if mode != "duration" {
        obj.key_warn(
            "mode",
            format!("unknown slow start mode {mode:?} (MOSN knows only \"duration\"); slow start is off, as in MOSN"),
        );
        obj.tolerate(&["slow_start_duration", "aggression", "min_weight_percent"]);
        return Some(None);
    }
    let mut ok = true;
    let duration = match obj.get("slow_start_duration") {
        None => {
            obj.key_error(
                "slow_start_duration",
                "required with mode \"duration\" (e.g. \"30s\")",
            );
            ok = false;
            None
        }
        Some(f) => match f.as_duration() {
            Some(d) if d.is_zero() => {
                f.error("must be greater than 0");
                ok = false;
                None
            }
            Some(d) => Some(d),
            None => {
                ok = false;
                None
            }
        },
    };
    let mut number = |key: &str, default: f64, valid: fn(f64) -> bool, what: &str| {
        let Some(f) = obj.get(key) else {
            return default;
        };
        match as_f64(&f) {
            Some(v) if v.is_finite() && valid(v) => v,
            Some(v) => {
                f.error(format!("must be {what}, got {v}"));
                ok = false;
                default
            }
            None => {
                ok = false;
                default
            }
        }
    };
    let aggression = number(
        "aggression",
        SlowStartConfig::DEFAULT_AGGRESSION,
        |v| v > 0.0,
        "greater than 0",
    );
    let min_weight_percent = number(
        "min_weight_percent",
        SlowStartConfig::DEFAULT_MIN_WEIGHT_PERCENT,
        |v| v > 0.0 && v <= 1.0,
        "in (0, 1]",
    );
    match lb_type {
        Some(LbType::WeightedRoundRobin | LbType::LeastRequest | LbType::LeastConnection)
        | None => {}
        Some(t @ LbType::PeakEwma) => {
            field.error(format!(
                "slow start is not supported yet with {} (only with LB_WEIGHTED_ROUNDROBIN, LB_LEAST_REQUEST and LB_LEAST_CONNECTION)",
                lb_name(t)
            ));
            ok = false;
        }
        Some(t) => field.warn(format!(
            "slow start does not apply to {}, ignored (as in MOSN, it applies to weighted balancers only)",
            lb_name(t)
        )),
    }
    if !ok {
        return None;
    }
    let applies = matches!(
        lb_type,
        Some(LbType::WeightedRoundRobin | LbType::LeastRequest | LbType::LeastConnection)
    );
    Some(applies.then_some(SlowStartConfig {
        duration: duration?,
        aggression,
        min_weight_percent,
    }))
}

fn lb_name(t: LbType) -> &'static str {
    match t {
        LbType::RoundRobin => "LB_ROUNDROBIN",
        LbType::Random => "LB_RANDOM",
        LbType::WeightedRoundRobin => "LB_WEIGHTED_ROUNDROBIN",
        LbType::LeastRequest => "LB_LEAST_REQUEST",
        LbType::LeastConnection => "LB_LEAST_CONNECTION",
        LbType::Maglev => "LB_MAGLEV",
        LbType::RingHash => "LB_RING_HASH",
        LbType::PeakEwma => "LB_PEAK_EWMA",
        LbType::RequestRoundRobin => "LB_REQUEST_ROUNDROBIN",
        LbType::OriginalDst => "LB_ORIGINAL_DST",
    }
}
