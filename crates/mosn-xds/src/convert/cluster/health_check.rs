//! `health_checks` → the model's one active health check.
//!
//! Envoy checks a host as soon as it is added, so the first check has no delay. Known
//! differences, listed as gaps rather than refused (they change only when checks run or
//! how a new host starts, not which checks decide): Envoy slows checks to
//! `no_traffic_interval` (60s) on clusters without traffic, and starts new hosts as
//! failed until their first check passes, where mosn starts them healthy.

use super::super::{duration, refuse_leftover, ConvertError, Result};
use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::core::v3::health_check::{
    GrpcHealthCheck as EnvoyGrpc, HealthChecker, HttpHealthCheck as EnvoyHttp, TcpHealthCheck,
};
use envoy_types::pb::envoy::config::core::v3::HealthCheck;
use mosn_config::model::{
    GrpcHealthCheck, HealthCheckConfig, HealthCheckKind, HttpHealthCheck, StatusRange,
};
use std::time::Duration;

/// The cluster's health check; more than one is refused (the model has one).
pub(super) fn health_check(
    c: &mut Cluster,
    cluster_name: &str,
) -> Result<Option<HealthCheckConfig>> {
    let checks = std::mem::take(&mut c.health_checks);
    if checks.len() > 1 {
        return Err(ConvertError::unsupported(
            "health_checks[1]",
            "more than one health check",
        ));
    }
    checks
        .into_iter()
        .next()
        .map(|h| convert(h, cluster_name).map_err(|e| e.within("health_checks[0]")))
        .transpose()
}

/// One `HealthCheck`.
fn convert(mut h: HealthCheck, cluster_name: &str) -> Result<HealthCheckConfig> {
    let required = |d: Option<envoy_types::pb::google::protobuf::Duration>, field: &str| {
        d.ok_or_else(|| ConvertError::new(field, "is required"))
            .and_then(|d| duration(&d, field))
    };
    let timeout = required(h.timeout.take(), "timeout")?;
    let interval = required(h.interval.take(), "interval")?;
    let interval_jitter = match h.interval_jitter.take() {
        None => Duration::ZERO,
        Some(d) => duration(&d, "interval_jitter")?,
    };
    let threshold = |v: Option<u32>, field: &str| {
        v.filter(|&n| n > 0)
            .ok_or_else(|| ConvertError::new(field, "is required and at least 1"))
    };
    let unhealthy_threshold = threshold(
        h.unhealthy_threshold.take().map(|v| v.value),
        "unhealthy_threshold",
    )?;
    let healthy_threshold = threshold(
        h.healthy_threshold.take().map(|v| v.value),
        "healthy_threshold",
    )?;
    // Deprecated for `event_logger`, still honoured by Envoy.
    #[allow(deprecated)]
    let event_log_path = Some(std::mem::take(&mut h.event_log_path)).filter(|p| !p.is_empty());
    let check = match h.health_checker.take() {
        Some(HealthChecker::HttpHealthCheck(http)) => HealthCheckKind::Http(
            http_check(http, cluster_name, timeout).map_err(|e| e.within("http_health_check"))?,
        ),
        Some(HealthChecker::TcpHealthCheck(tcp)) => tcp_check(tcp)?,
        Some(HealthChecker::GrpcHealthCheck(grpc)) => {
            HealthCheckKind::Grpc(grpc_check(grpc).map_err(|e| e.within("grpc_health_check"))?)
        }
        _ => {
            return Err(ConvertError::unsupported(
                "",
                "health checkers other than HTTP, TCP and gRPC",
            ))
        }
    };
    refuse_leftover(&h, "")?;
    Ok(HealthCheckConfig {
        check,
        timeout,
        interval,
        interval_jitter,
        initial_delay: Duration::ZERO,
        healthy_threshold,
        unhealthy_threshold,
        service_name: cluster_name.to_owned(),
        event_log_path,
    })
}

/// `http_health_check`: HTTP/1.1, `host` defaulting to the cluster's name (Envoy's rule),
/// `expected_statuses` as half-open ranges (default 200 only).
fn http_check(
    mut http: EnvoyHttp,
    cluster_name: &str,
    timeout: Duration,
) -> Result<HttpHealthCheck> {
    let host = std::mem::take(&mut http.host);
    let path = std::mem::take(&mut http.path);
    if path.is_empty() {
        return Err(ConvertError::new("path", "is required"));
    }
    let mut codes = Vec::new();
    for (i, r) in std::mem::take(&mut http.expected_statuses)
        .iter()
        .enumerate()
    {
        let range = u16::try_from(r.start)
            .ok()
            .zip(r.end.checked_sub(1).and_then(|e| u16::try_from(e).ok()))
            .filter(|(s, e)| (100..=599).contains(s) && s <= e && *e <= 599);
        let (start, end) = range.ok_or_else(|| {
            ConvertError::new(
                format!("expected_statuses[{i}]"),
                "must be a range within [100, 600)",
            )
        })?;
        codes.push(StatusRange { start, end });
    }
    if codes.is_empty() {
        codes.push(StatusRange {
            start: 200,
            end: 200,
        });
    }
    let method = match std::mem::take(&mut http.method) {
        0 => "GET".to_owned(),
        m => envoy_types::pb::envoy::config::core::v3::RequestMethod::try_from(m)
            .map(|m| m.as_str_name().to_owned())
            .map_err(|_| ConvertError::new("method", "unknown value"))?,
    };
    refuse_leftover(&http, "")?;
    Ok(HttpHealthCheck {
        port: None,
        method,
        target: path,
        domain: Some(if host.is_empty() {
            cluster_name.to_owned()
        } else {
            host
        }),
        timeout,
        codes,
        tls: false,
    })
}

/// `tcp_health_check`: a connect check, when it neither sends nor expects bytes.
fn tcp_check(tcp: TcpHealthCheck) -> Result<HealthCheckKind> {
    refuse_leftover(&tcp, "tcp_health_check")?;
    Ok(HealthCheckKind::Tcp)
}

/// `grpc_health_check`: `service_name` and `authority`.
fn grpc_check(mut grpc: EnvoyGrpc) -> Result<GrpcHealthCheck> {
    let service_name = std::mem::take(&mut grpc.service_name);
    let authority = Some(std::mem::take(&mut grpc.authority)).filter(|a| !a.is_empty());
    refuse_leftover(&grpc, "")?;
    Ok(GrpcHealthCheck {
        service_name,
        authority,
    })
}
