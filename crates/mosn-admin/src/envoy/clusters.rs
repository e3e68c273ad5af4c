//! `GET /clusters` and `GET /listeners`: the live upstream hosts and listeners in Envoy's
//! text and JSON formats.

use std::net::SocketAddr;

use http::StatusCode;
use serde_json::{json, Map, Value};

use super::stats::unsigned;
use super::{output_format, EnvoyAdmin, Form};
use crate::handlers::{self, text, Resp};
use crate::server::AdminState;

/// Whether an Envoy host stat is a counter or a gauge (`SimpleMetric.type`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

/// The per-host stats Envoy shows that mosn's hosts have, in Envoy's (sorted) order.
/// `rq_success` is derived: mosn counts attempts with an outcome and the failed ones.
const HOST_STATS: &[(&str, Kind)] = &[
    ("cx_active", Kind::Gauge),
    ("cx_connect_fail", Kind::Counter),
    ("cx_total", Kind::Counter),
    ("rq_active", Kind::Gauge),
    ("rq_error", Kind::Counter),
    ("rq_success", Kind::Counter),
    ("rq_timeout", Kind::Counter),
    ("rq_total", Kind::Counter),
];

/// `GET /clusters[?format=json]`, from [`AdminState::hosts`] (nothing without it).
///
/// Text, as Envoy: `<cluster>::observability_name::<cluster>`, then per host
/// `<cluster>::<address>::<stat>::<value>` for the stats of `HOST_STATS`, `health_flags`
/// (`healthy`, or `/failed_active_hc/failed_outlier_check` as set) and `weight`.
/// JSON: Envoy's `Clusters` proto, `{"cluster_statuses": [{"name", "observability_name",
/// "host_statuses": [{"address": {"socket_address": {"address", "port_value"}}, "stats":
/// [{"name", "value": "N"} (+ `"type": "GAUGE"`)], "health_status": {...}, "weight"}]}]}`
/// with uint64 values as strings (proto JSON). `health_status` holds the flags set
/// (`failed_active_health_check`, `failed_outlier_check`); `eds_health_status` is left
/// out (UNKNOWN) since mosn does not keep what EDS said. Envoy's cluster-level lines
/// (circuit breakers, `added_via_api`) and locality, priority and success-rate lines are
/// not shown: mosn's hosts do not carry them.
pub(super) fn clusters(state: &AdminState, form: &Form) -> Resp {
    let json_format = match output_format(form) {
        Ok(json_format) => json_format,
        Err(resp) => return *resp,
    };
    let hosts = state
        .hosts
        .as_ref()
        .map(|hosts| hosts())
        .unwrap_or(Value::Null);
    let clusters = hosts.as_object().into_iter().flatten();
    if json_format {
        let statuses: Vec<Value> = clusters.map(|(name, h)| cluster_json(name, h)).collect();
        let body = json!({ "cluster_statuses": statuses });
        return handlers::json(StatusCode::OK, &body, true);
    }
    let body: String = clusters.map(|(name, h)| cluster_text(name, h)).collect();
    text(StatusCode::OK, body)
}

/// A cluster's hosts as `(address, stats)` pairs.
fn hosts_of(hosts: &Value) -> impl Iterator<Item = (&String, &Value)> {
    hosts.as_object().into_iter().flatten()
}

fn cluster_text(name: &str, hosts: &Value) -> String {
    let mut out = format!("{name}::observability_name::{name}\n");
    for (address, host) in hosts_of(hosts) {
        let line = |key: &str, value: &dyn std::fmt::Display| {
            format!("{name}::{address}::{key}::{value}\n")
        };
        for (stat, _) in HOST_STATS {
            out.push_str(&line(stat, &host_stat(host, stat)));
        }
        out.push_str(&line("health_flags", &health_flags_text(host)));
        out.push_str(&line("weight", &unsigned(&host["weight"])));
    }
    out
}

fn cluster_json(name: &str, hosts: &Value) -> Value {
    let statuses: Vec<Value> = hosts_of(hosts)
        .map(|(address, host)| host_json(address, host))
        .collect();
    json!({"name": name, "observability_name": name, "host_statuses": statuses})
}

fn host_json(address: &str, host: &Value) -> Value {
    let stats: Vec<Value> = HOST_STATS
        .iter()
        .map(|(stat, kind)| {
            let mut metric = json!({"name": stat, "value": host_stat(host, stat).to_string()});
            if *kind == Kind::Gauge {
                metric["type"] = json!("GAUGE");
            }
            metric
        })
        .collect();
    let mut health = Map::new();
    for flag in health_flags(host) {
        let field = match flag {
            "failed_active_hc" => "failed_active_health_check",
            other => other,
        };
        health.insert(field.to_string(), Value::Bool(true));
    }
    json!({
        "address": address_json(address),
        "stats": stats,
        "health_status": health,
        "weight": unsigned(&host["weight"]),
    })
}

/// One host stat of `HOST_STATS` from mosn's host JSON.
fn host_stat(host: &Value, stat: &str) -> u64 {
    match stat {
        "rq_success" => unsigned(&host["rq_total"]).saturating_sub(unsigned(&host["rq_error"])),
        other => unsigned(&host[other]),
    }
}

/// The host's health flags (Envoy's names: `failed_active_hc`, `failed_outlier_check`).
fn health_flags(host: &Value) -> impl Iterator<Item = &str> {
    host["health_flags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// Envoy's `health_flags` text: `healthy`, or each flag after a `/`.
fn health_flags_text(host: &Value) -> String {
    let flags: String = health_flags(host).map(|f| format!("/{f}")).collect();
    if flags.is_empty() {
        "healthy".to_string()
    } else {
        flags
    }
}

/// Envoy's `Address` JSON for `IP:PORT`, `[IPv6]:PORT`, `host:port` or `unix:/path`.
fn address_json(address: &str) -> Value {
    if let Some(path) = address.strip_prefix("unix:") {
        return json!({"pipe": {"path": path}});
    }
    if let Ok(socket) = address.parse::<SocketAddr>() {
        return json!({"socket_address": {"address": socket.ip().to_string(), "port_value": socket.port()}});
    }
    match address
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
    {
        Some((host, port)) => json!({"socket_address": {"address": host, "port_value": port}}),
        None => json!({"socket_address": {"address": address}}),
    }
}

/// `GET /listeners[?format=json]`: the live listeners, as Envoy: text
/// `<name>::<address>` lines, JSON `{"listener_statuses": [{"name", "local_address":
/// {"socket_address": {"address", "port_value"}}}]}`.
pub(super) fn listeners(envoy: &EnvoyAdmin, form: &Form) -> Resp {
    let json_format = match output_format(form) {
        Ok(json_format) => json_format,
        Err(resp) => return *resp,
    };
    let listeners = (envoy.listeners)();
    if json_format {
        let statuses: Vec<Value> = listeners
            .iter()
            .map(|l| json!({"name": l.name, "local_address": address_json(&l.address)}))
            .collect();
        let body = json!({ "listener_statuses": statuses });
        return handlers::json(StatusCode::OK, &body, true);
    }
    let body: String = listeners
        .iter()
        .map(|l| format!("{}::{}\n", l.name, l.address))
        .collect();
    text(StatusCode::OK, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_become_envoy_address_json() {
        assert_eq!(
            address_json("127.0.0.1:80"),
            json!({"socket_address": {"address": "127.0.0.1", "port_value": 80}})
        );
        assert_eq!(
            address_json("[::1]:8080"),
            json!({"socket_address": {"address": "::1", "port_value": 8080}})
        );
        assert_eq!(
            address_json("backend.local:443"),
            json!({"socket_address": {"address": "backend.local", "port_value": 443}})
        );
        assert_eq!(
            address_json("unix:/tmp/s"),
            json!({"pipe": {"path": "/tmp/s"}})
        );
        assert_eq!(
            address_json("odd"),
            json!({"socket_address": {"address": "odd"}})
        );
    }

    #[test]
    fn success_is_total_minus_errors_and_never_negative() {
        assert_eq!(
            host_stat(&json!({"rq_total": 5, "rq_error": 2}), "rq_success"),
            3
        );
        assert_eq!(
            host_stat(&json!({"rq_total": 1, "rq_error": 2}), "rq_success"),
            0
        );
        assert_eq!(host_stat(&json!({}), "rq_success"), 0);
    }
}
