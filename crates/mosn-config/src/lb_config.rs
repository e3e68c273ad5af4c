//! Load balancer tuning of one cluster: MOSN's `lbconfig` (`v2.LbConfig`) and, as
//! mosn-rs extensions under Envoy's names, `ring_hash_lb_config` and `maglev_lb_config`.

use crate::json::{Field, Obj};
use crate::model::{LbConfig, LbType};
use crate::tree::{Json, Number};

/// Parses the tuning sections of cluster `obj`, whose balancer is `lb_type` (`None` when
/// `lb_type` itself was invalid: sections are then checked but not judged against it).
pub(crate) fn parse_lb_config(obj: &Obj<'_>, lb_type: Option<LbType>) -> Option<LbConfig> {
    let mut cfg = LbConfig::default();
    let mut ok = true;
    if obj.get("lb_config").is_some() {
        obj.key_warn("lb_config", "not a MOSN key (MOSN reads lbconfig), ignored");
    }
    if let Some(lb) = obj.object("lbconfig") {
        ok &= parse_mosn_lbconfig(&lb, lb_type, &mut cfg);
    }
    if let Some(ring) = obj.object("ring_hash_lb_config") {
        mismatch(
            obj,
            "ring_hash_lb_config",
            lb_type,
            LbType::RingHash,
            "LB_RING_HASH",
        );
        ok &= parse_ring_hash(&ring, &mut cfg);
    }
    if let Some(maglev) = obj.object("maglev_lb_config") {
        mismatch(
            obj,
            "maglev_lb_config",
            lb_type,
            LbType::Maglev,
            "LB_MAGLEV",
        );
        ok &= parse_maglev(&maglev, &mut cfg);
    }
    ok.then_some(cfg)
}

/// Warns that section `key` is ignored when the cluster's balancer is not `wanted`.
fn mismatch(obj: &Obj<'_>, key: &str, lb_type: Option<LbType>, wanted: LbType, name: &str) {
    if lb_type.is_some_and(|t| t != wanted) {
        obj.key_warn(key, format!("only used with lb_type {name}, ignored"));
    }
}

/// `lbconfig{choice_count, active_request_bias, client_error_bias, server_error_bias}`.
fn parse_mosn_lbconfig(lb: &Obj<'_>, lb_type: Option<LbType>, cfg: &mut LbConfig) -> bool {
    let mut ok = true;
    if let Some(field) = lb.get("choice_count") {
        match field.as_uint::<u32>() {
            Some(0) => {
                field.error("choice_count must be at least 1");
                ok = false;
            }
            Some(n) => cfg.choice_count = n,
            None => ok = false,
        }
    }
    if let Some(field) = lb.get("active_request_bias") {
        match as_f64(&field) {
            Some(b) if b.is_finite() && b >= 0.0 => cfg.active_request_bias = b,
            Some(b) => {
                field.error(format!(
                    "active_request_bias must be a finite number ≥ 0, got {b}"
                ));
                ok = false;
            }
            None => ok = false,
        }
    }
    // MOSN's peak EWMA scales its cost by the hosts' error rates; mosn-rs does not track
    // them. Other balancers never read these keys.
    for key in ["client_error_bias", "server_error_bias"] {
        let Some(field) = lb.get(key) else { continue };
        if as_f64(&field).is_none() {
            ok = false;
        } else if lb_type == Some(LbType::PeakEwma) {
            field.error(format!(
                "{key} (error-rate weighting of LB_PEAK_EWMA) is not supported yet"
            ));
            ok = false;
        }
    }
    ok
}

/// `ring_hash_lb_config{minimum_ring_size, maximum_ring_size}` (Envoy's bounds).
fn parse_ring_hash(ring: &Obj<'_>, cfg: &mut LbConfig) -> bool {
    let mut ok = true;
    let mut size = |key: &str, slot: &mut u64| {
        let Some(field) = ring.get(key) else { return };
        match field.as_uint::<u64>() {
            Some(n) if (1..=LbConfig::MAX_RING_SIZE).contains(&n) => *slot = n,
            Some(n) => {
                field.error(format!(
                    "{key} must be between 1 and {}, got {n}",
                    LbConfig::MAX_RING_SIZE
                ));
                ok = false;
            }
            None => ok = false,
        }
    };
    size("minimum_ring_size", &mut cfg.ring_hash_min_size);
    size("maximum_ring_size", &mut cfg.ring_hash_max_size);
    if ok && cfg.ring_hash_min_size > cfg.ring_hash_max_size {
        ring.error(format!(
            "minimum_ring_size {} is larger than maximum_ring_size {}",
            cfg.ring_hash_min_size, cfg.ring_hash_max_size
        ));
        ok = false;
    }
    ok
}

/// `maglev_lb_config{table_size}`: a prime no larger than Envoy's 5000011.
fn parse_maglev(maglev: &Obj<'_>, cfg: &mut LbConfig) -> bool {
    let Some(field) = maglev.get("table_size") else {
        return true;
    };
    let Some(size) = field.as_uint::<u32>() else {
        return false;
    };
    let max = LbConfig::MAX_MAGLEV_TABLE_SIZE;
    if !(2..=max).contains(&size) || !is_prime(size) {
        field.error(format!(
            "table_size must be a prime number no larger than {max}, got {size}"
        ));
        return false;
    }
    cfg.maglev_table_size = size;
    true
}

/// Trial division; table sizes are at most a few million.
pub(crate) fn is_prime(n: u32) -> bool {
    if n < 2 {
        return false;
    }
    let n = u64::from(n);
    (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

/// Any JSON number (Go's `*float64` takes integers and fractions alike).
pub(crate) fn as_f64(field: &Field<'_>) -> Option<f64> {
    match field.value {
        Json::Number(Number::Unsigned(n)) => Some(*n as f64),
        Json::Number(Number::Signed(n)) => Some(*n as f64),
        Json::Number(Number::Float(f)) => Some(*f),
        other => {
            field.error(format!("expected a number, got {}", other.kind()));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_prime;

    #[test]
    fn primes() {
        assert!(is_prime(65_537));
        assert!(is_prime(5_000_011));
        assert!(is_prime(2));
        assert!(!is_prime(65_536));
        assert!(!is_prime(1));
        assert!(!is_prime(0));
        assert!(!is_prime(1_000_000));
    }
}
