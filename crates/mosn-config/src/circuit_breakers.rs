//! `circuit_breakers`: MOSN's JSON array of thresholds, or Envoy's
//! `{"thresholds": [{priority, ...}]}`. Only the default priority exists in mosn-rs.

use crate::json::Obj;
use crate::model::CircuitBreakersConfig;
use crate::tree::Json;

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
        result = thresholds(&obj);
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

fn thresholds(obj: &Obj<'_>) -> CircuitBreakersConfig {
    let get = |key: &str| obj.uint::<u32>(key).unwrap_or(0);
    CircuitBreakersConfig {
        max_connections: get("max_connections"),
        max_pending_requests: get("max_pending_requests"),
        max_requests: get("max_requests"),
        max_retries: get("max_retries"),
    }
}

#[cfg(test)]
mod tests {
    use crate::parse_str;
    use crate::CircuitBreakersConfig;

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
