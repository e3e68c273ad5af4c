//! `GET /stats`: mosn's counters under Envoy's names, in Envoy's text or JSON format.
//!
//! Only stats with a real Envoy equivalent are shown; the names:
//!
//! | Envoy stat | mosn's registry |
//! |------------|-----------------|
//! | `cluster.<name>.upstream_cx_total` / `_active` | cluster `upstream_cx_total` / `_active` |
//! | `cluster.<name>.upstream_cx_connect_fail` / `_connect_timeout` | cluster's of the same name |
//! | `cluster.<name>.upstream_cx_overflow`, `upstream_cx_none_healthy` | cluster's of the same name |
//! | `cluster.<name>.upstream_cx_rx_bytes_total` / `tx_bytes_total` | cluster's of the same name |
//! | `cluster.<name>.upstream_rq_total` / `_active` / `_timeout` / `_retry` | cluster's of the same name |
//! | `cluster.<name>.upstream_rq_pending_overflow`, `upstream_rq_retry_overflow` | cluster's of the same name |
//! | `cluster.<name>.upstream_rq_1xx` … `_5xx` | cluster `upstream_rq_1xx` … `_5xx` |
//! | `cluster.<name>.lb_subsets_fallback` | cluster `lb_subsets_fallback` |
//! | `cluster.<name>.membership_total` / `membership_healthy` | cluster's of the same name |
//! | `cluster.<name>.health_check.attempt` / `.success` / `.failure` | cluster `health_check_attempt` / `_success` / `_failure` |
//! | `cluster.<name>.outlier_detection.ejections_enforced_total` / `ejections_active` / `ejections_overflow` | cluster `outlier_detection_*` |
//! | `cluster.<name>.ssl.handshake` / `ssl.connection_error` | cluster `ssl_handshake` / `ssl_connection_error` |
//! | `listener.<address>.downstream_cx_total` / `_active` | listener `downstream_cx_total` / `_active` |
//! | `listener.<address>.no_filter_chain_match` | listener `no_filter_chain_match` |
//! | `listener.<address>.ssl.handshake` / `ssl.connection_error` | listener `ssl_handshake` / `ssl_connection_error` |
//! | `http.<stat_prefix>.downstream_cx_total` / `_active` / `downstream_cx_http2_total` | listener's of the same name |
//! | `http.<stat_prefix>.downstream_cx_rx_bytes_total` / `tx_bytes_total` | listener's of the same name |
//! | `http.<stat_prefix>.downstream_rq_total` / `_active` / `_1xx` … `_5xx` | listener's of the same name |
//! | `http.<stat_prefix>.downstream_rq_header_timeout` | listener `downstream_rq_header_timeout` |
//! | `http.<stat_prefix>.no_route` / `no_cluster` | listener `downstream_rq_no_route` / `_no_cluster` |
//! | `server.state` | [`EnvoyAdmin::current_state`]: 0 LIVE, 1 DRAINING, 2 PRE_INITIALIZING, 3 INITIALIZING |
//! | `server.live` | 1 when the state is LIVE |
//! | `server.uptime` | seconds since [`EnvoyAdmin::started`] |
//! | `server.concurrency` | [`EnvoyAdmin::concurrency`] |
//! | `listener_manager.workers_started` | 1 once past initialisation (LIVE or DRAINING): mosn starts its workers then |
//! | anything else | [`EnvoyAdmin::extra_stats`] |
//!
//! `<address>` is the listener's address with `:` made `_` (`0.0.0.0_15001`), as Envoy
//! names listener stats; listeners no longer live (not in [`EnvoyAdmin::listeners`]) are
//! not shown, and `http.*` only for listeners with an HTTP `stat_prefix`. Left out as
//! not equivalent: mosn's `upstream_rq_reset` (Envoy splits resets by side and mosn
//! counts garbage too), `lb_subsets_no_host`, DNS counters, certificate-expiry gauges,
//! gRPC and protocol-detection counters, and the configuration plane's counters (the
//! xDS client reports Envoy's through `extra_stats`). Negative gauges show as 0 (Envoy's
//! are unsigned).

use std::collections::BTreeMap;

use http::StatusCode;
use mosn_api::stats::ListenerStats;
use regex::{Regex, RegexBuilder};
use serde_json::{json, Value};

use super::{first, has, output_format, EnvoyAdmin, EnvoyListener, Form, ServerState};
use crate::handlers::{self, text, Resp};
use crate::server::AdminState;

/// mosn cluster stat → Envoy's name after `cluster.<name>.`.
const CLUSTER_STATS: &[(&str, &str)] = &[
    ("upstream_cx_total", "upstream_cx_total"),
    ("upstream_cx_active", "upstream_cx_active"),
    ("upstream_cx_connect_fail", "upstream_cx_connect_fail"),
    ("upstream_cx_connect_timeout", "upstream_cx_connect_timeout"),
    ("upstream_cx_overflow", "upstream_cx_overflow"),
    ("upstream_cx_none_healthy", "upstream_cx_none_healthy"),
    ("upstream_cx_rx_bytes_total", "upstream_cx_rx_bytes_total"),
    ("upstream_cx_tx_bytes_total", "upstream_cx_tx_bytes_total"),
    ("upstream_rq_total", "upstream_rq_total"),
    ("upstream_rq_active", "upstream_rq_active"),
    ("upstream_rq_timeout", "upstream_rq_timeout"),
    ("upstream_rq_retry", "upstream_rq_retry"),
    (
        "upstream_rq_pending_overflow",
        "upstream_rq_pending_overflow",
    ),
    ("upstream_rq_retry_overflow", "upstream_rq_retry_overflow"),
    ("upstream_rq_1xx", "upstream_rq_1xx"),
    ("upstream_rq_2xx", "upstream_rq_2xx"),
    ("upstream_rq_3xx", "upstream_rq_3xx"),
    ("upstream_rq_4xx", "upstream_rq_4xx"),
    ("upstream_rq_5xx", "upstream_rq_5xx"),
    ("lb_subsets_fallback", "lb_subsets_fallback"),
    ("membership_total", "membership_total"),
    ("membership_healthy", "membership_healthy"),
    ("health_check_attempt", "health_check.attempt"),
    ("health_check_success", "health_check.success"),
    ("health_check_failure", "health_check.failure"),
    (
        "outlier_detection_ejections_enforced_total",
        "outlier_detection.ejections_enforced_total",
    ),
    (
        "outlier_detection_ejections_active",
        "outlier_detection.ejections_active",
    ),
    (
        "outlier_detection_ejections_overflow",
        "outlier_detection.ejections_overflow",
    ),
    ("ssl_handshake", "ssl.handshake"),
    ("ssl_connection_error", "ssl.connection_error"),
];

/// mosn listener stat → Envoy's name after `listener.<address>.`.
const LISTENER_STATS: &[(&str, &str)] = &[
    ("downstream_cx_total", "downstream_cx_total"),
    ("downstream_cx_active", "downstream_cx_active"),
    ("no_filter_chain_match", "no_filter_chain_match"),
    ("ssl_handshake", "ssl.handshake"),
    ("ssl_connection_error", "ssl.connection_error"),
];

/// mosn listener stat → Envoy's name after `http.<stat_prefix>.`.
const HTTP_STATS: &[(&str, &str)] = &[
    ("downstream_cx_total", "downstream_cx_total"),
    ("downstream_cx_active", "downstream_cx_active"),
    ("downstream_cx_http2_total", "downstream_cx_http2_total"),
    (
        "downstream_cx_rx_bytes_total",
        "downstream_cx_rx_bytes_total",
    ),
    (
        "downstream_cx_tx_bytes_total",
        "downstream_cx_tx_bytes_total",
    ),
    ("downstream_rq_total", "downstream_rq_total"),
    ("downstream_rq_active", "downstream_rq_active"),
    ("downstream_rq_1xx", "downstream_rq_1xx"),
    ("downstream_rq_2xx", "downstream_rq_2xx"),
    ("downstream_rq_3xx", "downstream_rq_3xx"),
    ("downstream_rq_4xx", "downstream_rq_4xx"),
    ("downstream_rq_5xx", "downstream_rq_5xx"),
    (
        "downstream_rq_header_timeout",
        "downstream_rq_header_timeout",
    ),
    ("downstream_rq_no_route", "no_route"),
    ("downstream_rq_no_cluster", "no_cluster"),
];

/// Largest compiled `?filter=` regex; a bigger one is refused (400) rather than built.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// `GET /stats[?usedonly][&filter=REGEX][&format=json]`.
///
/// Text: one `name: value` line per stat, sorted by name, as Envoy's counters and gauges
/// (no histograms). `?format=json`: `{"stats": [{"name": ..., "value": N}, ...]}`.
/// `?usedonly` keeps non-zero stats only (Envoy keeps those ever written; mosn does not
/// track that, and a written counter is non-zero). `?filter=` keeps names the regex
/// matches anywhere (Envoy's partial match); a bad one is 400 with the parser's error.
/// Any other `format` is 400.
pub(super) fn stats(state: &AdminState, envoy: &EnvoyAdmin, form: &Form) -> Resp {
    let json_format = match output_format(form) {
        Ok(json_format) => json_format,
        Err(resp) => return *resp,
    };
    let filter = match first(form, "filter").map(compile_filter).transpose() {
        Ok(filter) => filter,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("invalid filter: {e}\n")),
    };
    let used_only = has(form, "usedonly");
    let keep = |name: &str, value: u64| {
        (!used_only || value != 0) && filter.as_ref().is_none_or(|re| re.is_match(name))
    };
    let selected = all_stats(state, envoy, &keep).into_iter();
    if json_format {
        let stats: Vec<Value> = selected
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect();
        return handlers::json(StatusCode::OK, &json!({ "stats": stats }), true);
    }
    let body: String = selected
        .map(|(name, value)| format!("{name}: {value}\n"))
        .collect();
    text(StatusCode::OK, body)
}

fn compile_filter(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// What a request keeps: a stat's Envoy name and value in, whether it is shown out.
type Keep<'a> = dyn Fn(&str, u64) -> bool + 'a;

/// Every stat `keep` accepts, under its Envoy name, sorted: extra stats first, so ours
/// win a clash. Filtering as they are named keeps a filtered scrape of 10,000 clusters
/// from building every name at once.
fn all_stats(state: &AdminState, envoy: &EnvoyAdmin, keep: &Keep<'_>) -> BTreeMap<String, u64> {
    let mut out = Stats {
        map: BTreeMap::new(),
        keep,
    };
    for (name, value) in (envoy.extra_stats)() {
        out.insert(name, value);
    }
    for (name, stats) in state.stats.clusters() {
        add_mapped(&mut out, &format!("cluster.{name}."), CLUSTER_STATS, |s| {
            stats.get(s)
        });
    }
    for listener in (envoy.listeners)() {
        if let Some(stats) = state.stats.find_listener(&listener.name) {
            add_listener(&mut out, &listener, &stats);
        }
    }
    add_server(&mut out, envoy);
    out.map
}

/// The stats a request shows, as they are named.
struct Stats<'a> {
    map: BTreeMap<String, u64>,
    keep: &'a Keep<'a>,
}

impl Stats<'_> {
    fn insert(&mut self, name: String, value: u64) {
        if (self.keep)(&name, value) {
            self.map.insert(name, value);
        } else {
            // A clash with an extra stat: ours wins even when not shown.
            self.map.remove(&name);
        }
    }
}

/// One listener's `listener.<address>.*` and, with an HTTP stat prefix, `http.<prefix>.*`.
fn add_listener(out: &mut Stats<'_>, listener: &EnvoyListener, stats: &ListenerStats) {
    let address = listener.address.replace(':', "_");
    add_mapped(out, &format!("listener.{address}."), LISTENER_STATS, |s| {
        stats.get(s)
    });
    if let Some(prefix) = &listener.http_stat_prefix {
        add_mapped(out, &format!("http.{prefix}."), HTTP_STATS, |s| {
            stats.get(s)
        });
    }
}

/// `prefix + envoy_name` for each mapped mosn stat that `value` finds.
fn add_mapped(
    out: &mut Stats<'_>,
    prefix: &str,
    mapping: &[(&str, &str)],
    value: impl Fn(&str) -> Option<Value>,
) {
    for (mosn, envoy) in mapping {
        if let Some(value) = value(mosn) {
            out.insert(format!("{prefix}{envoy}"), unsigned(&value));
        }
    }
}

/// A registry value as Envoy's unsigned stat (a negative gauge is 0).
pub(super) fn unsigned(value: &Value) -> u64 {
    value
        .as_u64()
        .or_else(|| value.as_i64().and_then(|v| u64::try_from(v).ok()))
        .unwrap_or(0)
}

/// `server.*` and `listener_manager.workers_started`.
fn add_server(out: &mut Stats<'_>, envoy: &EnvoyAdmin) {
    let state = envoy.current_state();
    let workers_started = matches!(state, ServerState::Live | ServerState::Draining);
    let pairs = [
        ("server.state", state.code()),
        ("server.live", u64::from(state == ServerState::Live)),
        ("server.uptime", envoy.uptime_secs()),
        ("server.concurrency", envoy.concurrency),
        (
            "listener_manager.workers_started",
            u64::from(workers_started),
        ),
    ];
    for (name, value) in pairs {
        out.insert(name.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    #[test]
    fn every_mapped_mosn_stat_exists_in_the_registry() {
        let cluster = mosn_api::stats::ClusterStats::default();
        for (mosn, _) in CLUSTER_STATS {
            assert!(cluster.get(mosn).is_some(), "cluster stat {mosn}");
        }
        let listener = ListenerStats::default();
        for (mosn, _) in LISTENER_STATS.iter().chain(HTTP_STATS) {
            assert!(listener.get(mosn).is_some(), "listener stat {mosn}");
        }
    }

    #[test]
    fn negative_gauges_and_non_numbers_are_zero() {
        assert_eq!(unsigned(&json!(-3)), 0);
        assert_eq!(unsigned(&json!(7)), 7);
        assert_eq!(unsigned(&json!("x")), 0);
        let keep = |_: &str, _: u64| true;
        let mut out = Stats {
            map: BTreeMap::new(),
            keep: &keep,
        };
        let stats = Map::from_iter([("upstream_rq_total".to_string(), json!(2))]);
        add_mapped(&mut out, "cluster.c.", CLUSTER_STATS, |s| {
            stats.get(s).cloned()
        });
        assert_eq!(
            out.map.into_iter().collect::<Vec<_>>(),
            [("cluster.c.upstream_rq_total".to_string(), 2)]
        );
    }
}
