//! `outlier_detection` → the model's, which has Envoy's fields and defaults.

use super::super::{duration, refuse_leftover, ConvertError, Result};
use envoy_types::pb::envoy::config::cluster::v3::OutlierDetection;
use envoy_types::pb::google::protobuf::{Duration as ProtoDuration, UInt32Value};
use mosn_config::model::OutlierDetectionConfig;
use std::time::Duration;

/// One `OutlierDetection`; fields the model lacks (local-origin splitting, jitter,
/// monitors...) are refused.
pub(super) fn outlier_detection(mut o: OutlierDetection) -> Result<OutlierDetectionConfig> {
    let d = OutlierDetectionConfig::default();
    let config = OutlierDetectionConfig {
        consecutive_5xx: count(
            o.consecutive_5xx.take(),
            d.consecutive_5xx,
            "consecutive_5xx",
            1,
            u32::MAX,
        )?,
        consecutive_gateway_failure: count(
            o.consecutive_gateway_failure.take(),
            d.consecutive_gateway_failure,
            "consecutive_gateway_failure",
            1,
            u32::MAX,
        )?,
        interval: time(o.interval.take(), d.interval, "interval")?,
        base_ejection_time: time(
            o.base_ejection_time.take(),
            d.base_ejection_time,
            "base_ejection_time",
        )?,
        max_ejection_time: time(
            o.max_ejection_time.take(),
            d.max_ejection_time,
            "max_ejection_time",
        )?,
        max_ejection_percent: percent(
            o.max_ejection_percent.take(),
            d.max_ejection_percent,
            "max_ejection_percent",
        )?,
        enforcing_consecutive_5xx: percent(
            o.enforcing_consecutive_5xx.take(),
            d.enforcing_consecutive_5xx,
            "enforcing_consecutive_5xx",
        )?,
        enforcing_consecutive_gateway_failure: percent(
            o.enforcing_consecutive_gateway_failure.take(),
            d.enforcing_consecutive_gateway_failure,
            "enforcing_consecutive_gateway_failure",
        )?,
        enforcing_success_rate: percent(
            o.enforcing_success_rate.take(),
            d.enforcing_success_rate,
            "enforcing_success_rate",
        )?,
        success_rate_minimum_hosts: count(
            o.success_rate_minimum_hosts.take(),
            d.success_rate_minimum_hosts,
            "success_rate_minimum_hosts",
            0,
            u32::MAX,
        )?,
        success_rate_request_volume: count(
            o.success_rate_request_volume.take(),
            d.success_rate_request_volume,
            "success_rate_request_volume",
            0,
            u32::MAX,
        )?,
        success_rate_stdev_factor: count(
            o.success_rate_stdev_factor.take(),
            d.success_rate_stdev_factor,
            "success_rate_stdev_factor",
            0,
            u32::MAX,
        )?,
        failure_percentage_threshold: percent(
            o.failure_percentage_threshold.take(),
            d.failure_percentage_threshold,
            "failure_percentage_threshold",
        )?,
        enforcing_failure_percentage: percent(
            o.enforcing_failure_percentage.take(),
            d.enforcing_failure_percentage,
            "enforcing_failure_percentage",
        )?,
        failure_percentage_minimum_hosts: count(
            o.failure_percentage_minimum_hosts.take(),
            d.failure_percentage_minimum_hosts,
            "failure_percentage_minimum_hosts",
            0,
            u32::MAX,
        )?,
        failure_percentage_request_volume: count(
            o.failure_percentage_request_volume.take(),
            d.failure_percentage_request_volume,
            "failure_percentage_request_volume",
            0,
            u32::MAX,
        )?,
    };
    if config.max_ejection_time < config.base_ejection_time {
        return Err(ConvertError::new(
            "max_ejection_time",
            "must not be below base_ejection_time",
        ));
    }
    refuse_leftover(&o, "")?;
    Ok(config)
}

/// A count in `min..=max`, `default` when unset.
fn count(v: Option<UInt32Value>, default: u32, field: &str, min: u32, max: u32) -> Result<u32> {
    let n = v.map_or(default, |v| v.value);
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(ConvertError::new(
            field,
            format!("must be between {min} and {max}, got {n}"),
        ))
    }
}

/// A percentage (0..=100), `default` when unset.
fn percent(v: Option<UInt32Value>, default: u32, field: &str) -> Result<u32> {
    count(v, default, field, 0, 100)
}

/// A duration, `default` when unset; zero is refused.
fn time(v: Option<ProtoDuration>, default: Duration, field: &str) -> Result<Duration> {
    let d = v.map_or(Ok(default), |d| duration(&d, field))?;
    if d.is_zero() {
        return Err(ConvertError::new(field, "must be greater than 0"));
    }
    Ok(d)
}
