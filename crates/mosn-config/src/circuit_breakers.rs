//! `circuit_breakers`: MOSN's JSON array of thresholds, or Envoy's
//! `{"thresholds": [{priority, ...}]}`. Only the default priority exists in mosn-rs.

use crate::json::Obj;
use crate::lb_config::as_f64;
use crate::model::{CircuitBreakersConfig, RetryBudgetConfig};
use crate::tree::Json;

/// Envoy's default `retry_budget.budget_percent`.
const DEFAULT_BUDGET_PERCENT: f64 = 20.0;
/// Envoy's default `retry_budget.min_retry_concurrency`.
const DEFAULT_MIN_RETRY_CONCURRENCY: u32 = 3;

/// Parses the cluster's `circuit_breakers` key; absent means no limits (MOSN's default).
pub(crate) fn parse_circuit_breakers(cluster: &Obj<'_>) -> Option<CircuitBreakersConfig> {
    let Some(field) = cluster.get("circuit_breakers") else {
        return Some(CircuitBreakersConfig::default());
    };
    let items = match field.value {
        Json::Array(_) => field.as_array()?,
        Json::Object(_) => field.as_object()?.items("thresholds"),
        _ => {
            field.error("expected an array of thresholds (or an object with \"thresholds\")");
            return None;
        }
    };
    let mut result = CircuitBreakersConfig::default();
    let mut seen_default = false;
    for item in &items {
        let obj = item.as_object()?;
        if !default_priority(&obj) {
            // A HIGH priority threshold: mosn-rs has no request priorities, so it could
            // never apply; say so rather than pretend.
            obj.key_error("priority", "only the DEFAULT priority is supported");
            return None;
        }
        if seen_default {
            // MOSN reads only the first entry; a second one would be silently unused.
            item.error("only one threshold entry per priority is supported");
            return None;
        }
        seen_default = true;
        result = thresholds(&obj)?;
    }
    Some(result)
}

fn default_priority(obj: &Obj<'_>) -> bool {
    match obj.get("priority") {
        None => true,
        Some(f) => f
            .as_str()
            .is_some_and(|p| p.is_empty() || p.eq_ignore_ascii_case("DEFAULT")),
    }
}

fn thresholds(obj: &Obj<'_>) -> Option<CircuitBreakersConfig> {
    let get = |key: &str| obj.uint::<u32>(key).unwrap_or(0);
    let retry_budget = match obj.object("retry_budget") {
        None => None,
        Some(budget) => Some(retry_budget(&budget)?),
    };
    Some(CircuitBreakersConfig {
        max_connections: get("max_connections"),
        max_pending_requests: get("max_pending_requests"),
        max_requests: get("max_requests"),
        max_retries: get("max_retries"),
        retry_budget,
    })
}

/// Envoy's `retry_budget{budget_percent{value} (or a bare number), min_retry_concurrency}`
/// with Envoy's defaults (20%, 3).
fn retry_budget(obj: &Obj<'_>) -> Option<RetryBudgetConfig> {
    let percent = match obj.get("budget_percent") {
        None => DEFAULT_BUDGET_PERCENT,
        Some(field) => {
            let value = match field.value {
                Json::Object(_) => field.as_object()?.get("value"),
                _ => Some(field),
            };
            match value {
                None => DEFAULT_BUDGET_PERCENT,
                Some(v) => {
                    let p = as_f64(&v)?;
                    if !(0.0..=100.0).contains(&p) {
                        v.error(format!("must be a percentage in [0, 100], got {p}"));
                        return None;
                    }
                    p
                }
            }
        }
    };
    let min_retry_concurrency = obj
        .uint::<u32>("min_retry_concurrency")
        .unwrap_or(DEFAULT_MIN_RETRY_CONCURRENCY);
    Some(RetryBudgetConfig {
        budget_basis_points: (percent * 100.0).round() as u32,
        min_retry_concurrency,
    })
}

#[cfg(test)]
mod tests {
    use crate::parse_str;
    use crate::{CircuitBreakersConfig, RetryBudgetConfig};

    fn cluster_with(cb: &str) -> Result<CircuitBreakersConfig, Vec<String>> {
        let text = format!(
            r#"{{"cluster_manager": {{"clusters": [{{"name": "c", "hosts": [],
                "circuit_breakers": {cb}}}]}}}}"#
        );
        parse_str(&text)
            .map(|p| p.config.clusters[0].circuit_breakers)
            .map_err(|e| e.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn mosn_array_and_envoy_thresholds_are_both_read() {
        let mosn = cluster_with(r#"[{"max_connections": 10, "max_retries": 2}]"#).unwrap();
        assert_eq!(mosn.max_connections, 10);
        assert_eq!(mosn.max_retries, 2);
        assert_eq!(mosn.max_requests, 0);
        let envoy = cluster_with(
            r#"{"thresholds": [{"priority": "DEFAULT", "max_requests": 5, "max_pending_requests": 7}]}"#,
        )
        .unwrap();
        assert_eq!(envoy.max_requests, 5);
        assert_eq!(envoy.max_pending_requests, 7);
    }

    #[test]
    fn retry_budgets_take_envoy_forms_and_defaults() {
        let cb = cluster_with(
            r#"{"thresholds": [{"retry_budget": {"budget_percent": {"value": 25.5}, "min_retry_concurrency": 2}}]}"#,
        )
        .unwrap();
        let budget = cb.retry_budget.unwrap();
        assert_eq!(budget.budget_basis_points, 2550);
        assert_eq!(budget.limit(0), 2, "never below min_retry_concurrency");
        assert_eq!(budget.limit(100), 25);
        let cb = cluster_with(r#"[{"retry_budget": {}}]"#).unwrap();
        assert_eq!(
            cb.retry_budget.unwrap(),
            RetryBudgetConfig {
                budget_basis_points: 2000,
                min_retry_concurrency: 3
            }
        );
        let err = cluster_with(r#"[{"retry_budget": {"budget_percent": 120}}]"#).unwrap_err();
        assert_eq!(
            err,
            ["cluster_manager.clusters[0].circuit_breakers[0].retry_budget.budget_percent: must be a percentage in [0, 100], got 120"]
        );
    }

    #[test]
    fn high_priority_and_duplicates_are_refused() {
        let err = cluster_with(r#"{"thresholds": [{"priority": "HIGH", "max_requests": 1}]}"#)
            .unwrap_err();
        assert_eq!(
            err,
            ["cluster_manager.clusters[0].circuit_breakers.thresholds[0].priority: only the DEFAULT priority is supported"]
        );
        let err = cluster_with(r#"[{"max_requests": 1}, {"max_requests": 2}]"#).unwrap_err();
        assert_eq!(
            err,
            ["cluster_manager.clusters[0].circuit_breakers[1]: only one threshold entry per priority is supported"]
        );
        let err = cluster_with(r#""many""#).unwrap_err();
        assert!(
            err[0].contains("expected an array of thresholds"),
            "{err:?}"
        );
    }
}
