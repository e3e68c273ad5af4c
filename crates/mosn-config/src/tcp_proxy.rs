//! The `tcp_proxy` network filter's `config` (MOSN's `v2.StreamProxy`).
//!
//! MOSN decodes this with plain Go field names because `v2.StreamRoute` has no JSON
//! tags: a route is `{"cluster", "SourceAddrs": [{"address", "length"}],
//! "DestinationAddrs": [...], "SourcePort": "80", "DestinationPort": "8000-9000"}` (keys
//! case-insensitive), and `idle_timeout` is a Go `time.Duration`, i.e. a JSON number of
//! nanoseconds. (`v2.StreamRouteConfig` with `source_addrs` strings exists in MOSN but
//! is never used.) mosn-rs accepts MOSN's form and, as an extension, Envoy-like
//! snake-case keys (`source_addrs`, `destination_addrs`, `source_port`,
//! `destination_port`) with CIDR strings (`"10.0.0.0/8"`, or a bare IP for /32 or
//! /128), and a duration string for `idle_timeout`. MOSN's comma-separated port lists
//! (`"80,443"`) are refused: the model holds one range per route.

use std::net::IpAddr;
use std::time::Duration;

use crate::address::{cidr, max_prefix, parse_cidr, parse_port_range, PortError};
use crate::cluster::ClusterNames;
use crate::json::{Field, Obj};
use crate::model::{CidrRange, PortRange, TcpProxyConfig, TcpRouteConfig};
use crate::tree::{Json, Number};

/// Parses a `tcp_proxy` filter config.
pub(crate) fn parse_tcp_proxy(config: &Obj<'_>, clusters: &ClusterNames) -> Option<TcpProxyConfig> {
    let cluster = clusters
        .reference(config.non_empty_str_field("cluster"))
        .map(str::to_owned);
    let routes: Vec<Option<TcpRouteConfig>> = config
        .items("routes")
        .iter()
        .map(|r| parse_route(r, clusters))
        .collect();
    if cluster.is_none() && routes.is_empty() {
        config.error("tcp_proxy needs a cluster or routes");
    }
    let idle_timeout = config.get("idle_timeout").and_then(|f| idle_timeout(&f));
    // MOSN ignores this field; 0 is Go's "unset".
    let max_connect_attempts = config
        .uint::<u32>("max_connect_attempts")
        .filter(|&n| n > 0)
        .unwrap_or(1);
    // Only names statistics.
    config.tolerate(&["stat_prefix"]);
    Some(TcpProxyConfig {
        cluster,
        routes: routes.into_iter().collect::<Option<_>>()?,
        idle_timeout,
        max_connect_attempts,
    })
}

/// MOSN's nanosecond number or a duration string; 0 means MOSN's default (`None`).
fn idle_timeout(field: &Field<'_>) -> Option<Duration> {
    let duration = match field.value {
        Json::Number(Number::Unsigned(nanos)) => Duration::from_nanos(*nanos),
        Json::Number(_) => {
            field.error("expected a non-negative number of nanoseconds or a duration string");
            return None;
        }
        _ => field.as_duration()?,
    };
    (!duration.is_zero()).then_some(duration)
}

fn parse_route(field: &Field<'_>, clusters: &ClusterNames) -> Option<TcpRouteConfig> {
    let obj = field.as_object()?;
    let cluster = clusters.reference(obj.required_str_field("cluster"));
    let source_addrs = either(&obj, "source_addrs", "SourceAddrs").map(|f| cidr_list(&f));
    let destination_addrs =
        either(&obj, "destination_addrs", "DestinationAddrs").map(|f| cidr_list(&f));
    let source_port = either(&obj, "source_port", "SourcePort").map(|f| port_range(&f));
    let destination_port =
        either(&obj, "destination_port", "DestinationPort").map(|f| port_range(&f));
    Some(TcpRouteConfig {
        cluster: cluster?.to_owned(),
        source_addrs: source_addrs.unwrap_or(Some(Vec::new()))?,
        destination_addrs: destination_addrs.unwrap_or(Some(Vec::new()))?,
        source_port: source_port.unwrap_or(Some(None))?,
        destination_port: destination_port.unwrap_or(Some(None))?,
    })
}

/// The value of the snake-case key or of MOSN's Go-style key; both at once is an error.
fn either<'a>(obj: &Obj<'a>, snake: &str, mosn: &str) -> Option<Field<'a>> {
    match (obj.get(snake), obj.get(mosn)) {
        (Some(_), Some(second)) => {
            second.error(format!(
                "{snake} and {mosn} are the same setting; set only one"
            ));
            None
        }
        (first, second) => first.or(second),
    }
}

/// A list of CIDR strings or MOSN `{"address", "length"}` objects.
fn cidr_list(field: &Field<'_>) -> Option<Vec<CidrRange>> {
    let items = field.as_array()?;
    let ranges: Vec<Option<CidrRange>> = items.iter().map(cidr_item).collect();
    ranges.into_iter().collect()
}

fn cidr_item(field: &Field<'_>) -> Option<CidrRange> {
    match field.value {
        Json::String(text) => {
            let parsed = parse_cidr(text);
            if parsed.is_none() {
                field.error(format!("invalid CIDR range {text:?}"));
            }
            parsed
        }
        Json::Object(_) => {
            let obj = field.as_object()?;
            let address = obj.required_str("address");
            let length = match obj.get("length") {
                None => None,
                Some(f) => Some(f.as_uint::<u8>()?),
            };
            let Ok(ip) = address?.parse::<IpAddr>() else {
                obj.key_error("address", format!("invalid IP address {:?}", address?));
                return None;
            };
            // An absent length means the whole address.
            let length = length.unwrap_or_else(|| max_prefix(ip));
            let parsed = cidr(ip, length);
            if parsed.is_none() {
                obj.key_error(
                    "length",
                    format!("prefix length {length} is too long for {ip}"),
                );
            }
            parsed
        }
        _ => {
            field.error(format!(
                "expected a CIDR string or an {{\"address\", \"length\"}} object, got {}",
                field.value.kind()
            ));
            None
        }
    }
}

/// `"8080"` or `"8000-9000"`; `""` is unset (`Some(None)`).
fn port_range(field: &Field<'_>) -> Option<Option<PortRange>> {
    let text = field.as_str()?;
    if text.is_empty() {
        return Some(None);
    }
    match parse_port_range(text) {
        Ok(range) => Some(Some(range)),
        Err(PortError::List) => {
            field.error(format!(
                "port list {text:?} is not supported yet (use one range)"
            ));
            None
        }
        Err(PortError::Invalid) => {
            field.error(format!(
                "invalid port range {text:?}, expected \"port\" or \"first-last\""
            ));
            None
        }
    }
}
