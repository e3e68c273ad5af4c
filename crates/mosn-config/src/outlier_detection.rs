//! `clusters[].outlier_detection`: Envoy's `OutlierDetection` keys, defaults and limits.
//! MOSN has no outlier detection; the keys are Envoy's (snake_case), durations are
//! strings such as `"10s"` as everywhere in this config. Presence of the object (even
//! `{}`) turns detection on, as in Envoy.

use std::time::Duration;

use crate::json::Obj;
use crate::model::OutlierDetectionConfig;

/// Parses the `outlier_detection` of one cluster object; `None` when absent or invalid
/// (the errors are recorded).
pub(crate) fn parse_outlier_detection(cluster: &Obj<'_>) -> Option<OutlierDetectionConfig> {
    let field = cluster.get("outlier_detection")?;
    let obj = field.as_object()?;
    let d = OutlierDetectionConfig::default();
    let mut ok = true;
    let mut count = |key: &str, default: u32, min: u32, max: u32| -> u32 {
        let Some(field) = obj.get(key) else {
            return default;
        };
        match field.as_uint::<u32>() {
            Some(n) if (min..=max).contains(&n) => n,
            Some(n) => {
                field.error(format!("{key} must be between {min} and {max}, got {n}"));
                ok = false;
                default
            }
            None => {
                ok = false;
                default
            }
        }
    };
    const PCT: u32 = 100;
    const ANY: u32 = u32::MAX;
    let consecutive_5xx = count("consecutive_5xx", d.consecutive_5xx, 1, ANY);
    let consecutive_gateway_failure = count(
        "consecutive_gateway_failure",
        d.consecutive_gateway_failure,
        1,
        ANY,
    );
    let max_ejection_percent = count("max_ejection_percent", d.max_ejection_percent, 0, PCT);
    let enforcing_consecutive_5xx = count(
        "enforcing_consecutive_5xx",
        d.enforcing_consecutive_5xx,
        0,
        PCT,
    );
    let enforcing_consecutive_gateway_failure = count(
        "enforcing_consecutive_gateway_failure",
        d.enforcing_consecutive_gateway_failure,
        0,
        PCT,
    );
    let enforcing_success_rate = count("enforcing_success_rate", d.enforcing_success_rate, 0, PCT);
    let success_rate_minimum_hosts = count(
        "success_rate_minimum_hosts",
        d.success_rate_minimum_hosts,
        1,
        ANY,
    );
    let success_rate_request_volume = count(
        "success_rate_request_volume",
        d.success_rate_request_volume,
        1,
        ANY,
    );
    let success_rate_stdev_factor = count(
        "success_rate_stdev_factor",
        d.success_rate_stdev_factor,
        0,
        ANY,
    );
    let failure_percentage_threshold = count(
        "failure_percentage_threshold",
        d.failure_percentage_threshold,
        0,
        PCT,
    );
    let enforcing_failure_percentage = count(
        "enforcing_failure_percentage",
        d.enforcing_failure_percentage,
        0,
        PCT,
    );
    let failure_percentage_minimum_hosts = count(
        "failure_percentage_minimum_hosts",
        d.failure_percentage_minimum_hosts,
        1,
        ANY,
    );
    let failure_percentage_request_volume = count(
        "failure_percentage_request_volume",
        d.failure_percentage_request_volume,
        1,
        ANY,
    );
    let interval = positive_duration(&obj, "interval", d.interval);
    let base_ejection_time = positive_duration(&obj, "base_ejection_time", d.base_ejection_time);
    let max_ejection_time = positive_duration(&obj, "max_ejection_time", d.max_ejection_time);
    // Envoy-only switches whose non-default values change what counts as a failure.
    obj.refuse(
        "split_external_local_origin_errors",
        "split_external_local_origin_errors is not supported yet (local failures count as \
         gateway errors)",
    );
    for key in [
        "consecutive_local_origin_failure",
        "enforcing_consecutive_local_origin_failure",
        "enforcing_local_origin_success_rate",
        "enforcing_failure_percentage_local_origin",
    ] {
        obj.ignore(
            key,
            "local-origin failure detection (needs split_external_local_origin_errors) is",
        );
    }
    let (interval, base_ejection_time, max_ejection_time) =
        (interval?, base_ejection_time?, max_ejection_time?);
    if !ok {
        return None;
    }
    // Envoy: "the default value (300s) or base_ejection_time, whichever is larger".
    let max_ejection_time = max_ejection_time.max(base_ejection_time);
    Some(OutlierDetectionConfig {
        consecutive_5xx,
        consecutive_gateway_failure,
        interval,
        base_ejection_time,
        max_ejection_time,
        max_ejection_percent,
        enforcing_consecutive_5xx,
        enforcing_consecutive_gateway_failure,
        enforcing_success_rate,
        success_rate_minimum_hosts,
        success_rate_request_volume,
        success_rate_stdev_factor,
        failure_percentage_threshold,
        enforcing_failure_percentage,
        failure_percentage_minimum_hosts,
        failure_percentage_request_volume,
    })
}

/// A duration that must not be zero; `default` when absent, `None` after an error.
fn positive_duration(obj: &Obj<'_>, key: &str, default: Duration) -> Option<Duration> {
    let Some(field) = obj.get(key) else {
        return Some(default);
    };
    let d = field.as_duration()?;
    if d.is_zero() {
        field.error(format!("{key} must be greater than 0"));
        return None;
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use crate::parse_str;
    use crate::OutlierDetectionConfig;
    use std::time::Duration;

    fn parse(od: &str) -> Result<Option<OutlierDetectionConfig>, Vec<String>> {
        let text = format!(
            r#"{{"cluster_manager": {{"clusters": [{{"name": "c", "hosts": [],
                "outlier_detection": {od}}}]}}}}"#
        );
        parse_str(&text)
            .map(|p| p.config.clusters[0].outlier_detection.as_deref().copied())
            .map_err(|e| e.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn empty_object_means_envoy_defaults() {
        assert_eq!(
            parse("{}").unwrap(),
            Some(OutlierDetectionConfig::default())
        );
        assert_eq!(parse("null").unwrap(), None);
    }

    #[test]
    fn keys_are_read() {
        let c = parse(
            r#"{"consecutive_5xx": 3, "interval": "500ms", "base_ejection_time": "2s",
                "max_ejection_percent": 50, "enforcing_consecutive_gateway_failure": 100,
                "success_rate_stdev_factor": 1000, "max_ejection_time": "1s"}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.consecutive_5xx, 3);
        assert_eq!(c.interval, Duration::from_millis(500));
        assert_eq!(c.base_ejection_time, Duration::from_secs(2));
        // Raised to base_ejection_time, as in Envoy.
        assert_eq!(c.max_ejection_time, Duration::from_secs(2));
        assert_eq!(c.max_ejection_percent, 50);
        assert_eq!(c.enforcing_consecutive_gateway_failure, 100);
        assert_eq!(c.success_rate_stdev_factor, 1000);
        assert_eq!(c.success_rate_request_volume, 100);
    }

    #[test]
    fn invalid_values_are_errors_with_paths() {
        let p = "cluster_manager.clusters[0].outlier_detection";
        assert_eq!(
            parse(r#"{"max_ejection_percent": 101, "interval": "0s", "consecutive_5xx": 0}"#)
                .unwrap_err(),
            [
                format!("{p}.consecutive_5xx: consecutive_5xx must be between 1 and 4294967295, got 0"),
                format!("{p}.max_ejection_percent: max_ejection_percent must be between 0 and 100, got 101"),
                format!("{p}.interval: interval must be greater than 0"),
            ]
        );
        assert_eq!(
            parse(r#"{"base_ejection_time": 30}"#).unwrap_err(),
            [format!(
                r#"{p}.base_ejection_time: expected a duration string such as "30s", got a number"#
            )]
        );
        assert_eq!(
            parse(r#"{"split_external_local_origin_errors": true}"#).unwrap_err(),
            [format!("{p}.split_external_local_origin_errors: split_external_local_origin_errors is not supported yet (local failures count as gateway errors)")]
        );
    }
}
