//! Counters and gauges for listeners and clusters, shared by all workers.
//!
//! Every listener and cluster gets its stats when it is created; the admin API reads them
//! by name. They live in a registry keyed by name so they survive config reloads.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.add(1);
    }
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// Current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down (active connections, active requests).
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// Subtracts one.
    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
    /// Replaces the value (for gauges computed elsewhere, e.g. healthy host counts).
    pub fn set(&self, value: i64) {
        self.0.store(value, Ordering::Relaxed);
    }
    /// Current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
    /// Increments now and decrements when the returned guard drops, so early returns and
    /// panics cannot leak an "active" count.
    pub fn track(&self) -> GaugeGuard<'_> {
        self.inc();
        GaugeGuard(self)
    }
}

/// Decrements its gauge on drop; see [`Gauge::track`].
#[derive(Debug)]
pub struct GaugeGuard<'a>(&'a Gauge);

impl Drop for GaugeGuard<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Declares a stats struct whose fields are counters or gauges and which can list itself
/// as `name → value` pairs, so the admin API never repeats field names by hand.
macro_rules! stats_struct {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $name {
            /// Every field as a JSON object of `name → value`.
            pub fn to_json(&self) -> serde_json::Value {
                let mut map = serde_json::Map::new();
                $(map.insert(stringify!($field).to_string(), self.$field.get().into());)*
                serde_json::Value::Object(map)
            }

            /// The field called `name` as a JSON number, without building the others.
            pub fn get(&self, name: &str) -> Option<serde_json::Value> {
                match name {
                    $(stringify!($field) => Some(self.$field.get().into()),)*
                    _ => None,
                }
            }
        }
    };
}

stats_struct! {
    /// Downstream side of one listener.
    ListenerStats {
        /// Connections accepted.
        downstream_cx_total: Counter,
        /// Connections open now.
        downstream_cx_active: Gauge,
        /// Requests received (L7 only).
        downstream_rq_total: Counter,
        /// Requests in flight.
        downstream_rq_active: Gauge,
        /// Responses sent with status 1xx.
        downstream_rq_1xx: Counter,
        /// Responses sent with status 2xx.
        downstream_rq_2xx: Counter,
        /// Responses sent with status 3xx.
        downstream_rq_3xx: Counter,
        /// Responses sent with status 4xx.
        downstream_rq_4xx: Counter,
        /// Responses sent with status 5xx.
        downstream_rq_5xx: Counter,
        /// Requests no route matched (404, or the RPC protocol's error reply), including
        /// those whose route table does not exist (yet).
        downstream_rq_no_route: Counter,
        /// Requests routed to a cluster that does not exist (yet): 503 "no cluster".
        downstream_rq_no_cluster: Counter,
        /// Local replies for malformed requests and protocol errors.
        downstream_rq_protocol_error: Counter,
        /// Request heads that did not arrive in time.
        downstream_rq_header_timeout: Counter,
        /// Connections served as HTTP/2.
        downstream_cx_http2_total: Counter,
        /// gRPC calls answered with `grpc-status: 0`.
        downstream_rq_grpc_ok: Counter,
        /// gRPC calls answered with another `grpc-status`, or none at all.
        downstream_rq_grpc_error: Counter,
        /// Connections closed because protocol detection (`Auto`) knew none of their first
        /// bytes, or they did not arrive in time.
        downstream_cx_protocol_unknown: Counter,
        /// Bytes read from clients.
        downstream_cx_rx_bytes_total: Counter,
        /// Bytes written to clients.
        downstream_cx_tx_bytes_total: Counter,
        /// TLS handshakes completed.
        ssl_handshake: Counter,
        /// TLS handshakes that failed (bad or missing client certificate, no common
        /// protocol, timeout).
        ssl_connection_error: Counter,
        /// Connections closed because no filter chain matched them.
        no_filter_chain_match: Counter,
        /// Days until the first certificate of the listener's TLS contexts expires
        /// (updated when certificates are reloaded; 0 when the listener has none).
        ssl_days_until_first_cert_expiring: Gauge,
    }
}

stats_struct! {
    /// Upstream side of one cluster.
    ClusterStats {
        /// Upstream connections opened.
        upstream_cx_total: Counter,
        /// Upstream connections open now.
        upstream_cx_active: Gauge,
        /// Connections that failed to establish.
        upstream_cx_connect_fail: Counter,
        /// Connections that did not establish within `connect_timeout`.
        upstream_cx_connect_timeout: Counter,
        /// Requests sent upstream.
        upstream_rq_total: Counter,
        /// Requests in flight upstream.
        upstream_rq_active: Gauge,
        /// Requests that hit the route timeout.
        upstream_rq_timeout: Counter,
        /// Requests retried on a fresh connection after a reused one failed.
        upstream_rq_retry: Counter,
        /// Requests that failed because the upstream reset or sent garbage.
        upstream_rq_reset: Counter,
        /// Upstream responses with status 1xx.
        upstream_rq_1xx: Counter,
        /// Upstream responses with status 2xx.
        upstream_rq_2xx: Counter,
        /// Upstream responses with status 3xx.
        upstream_rq_3xx: Counter,
        /// Upstream responses with status 4xx.
        upstream_rq_4xx: Counter,
        /// Upstream responses with status 5xx.
        upstream_rq_5xx: Counter,
        /// Requests with no host to pick.
        upstream_cx_none_healthy: Counter,
        /// Requests whose subset (`metadata_match`) was empty or unknown and that fell back
        /// to any host.
        lb_subsets_fallback: Counter,
        /// Requests whose subset was empty or unknown with no fallback to take.
        lb_subsets_no_host: Counter,
        /// Connections not opened because `max_connections` was reached.
        upstream_cx_overflow: Counter,
        /// Requests failed fast because `max_requests` or `max_pending_requests` was
        /// reached.
        upstream_rq_pending_overflow: Counter,
        /// Retries not made because `max_retries` was reached.
        upstream_rq_retry_overflow: Counter,
        /// Bytes written to upstreams.
        upstream_cx_tx_bytes_total: Counter,
        /// Bytes read from upstreams.
        upstream_cx_rx_bytes_total: Counter,
        /// Active health checks started.
        health_check_attempt: Counter,
        /// Active health checks that found the host healthy.
        health_check_success: Counter,
        /// Active health checks that failed (including timeouts).
        health_check_failure: Counter,
        /// Hosts with no health flag set, updated by the health checker.
        membership_healthy: Gauge,
        /// DNS resolutions of the cluster's names that succeeded (`STRICT_DNS`,
        /// `LOGICAL_DNS`).
        upstream_dns_refresh: Counter,
        /// DNS resolutions that failed; the cluster keeps its last resolved hosts.
        upstream_dns_failure: Counter,
        /// Hosts the cluster has now (static list or last resolution).
        membership_total: Gauge,
        /// Hosts ejected by outlier detection (every kind: consecutive 5xx, consecutive
        /// gateway failure, success rate, failure percentage).
        outlier_detection_ejections_enforced_total: Counter,
        /// Hosts ejected by outlier detection now.
        outlier_detection_ejections_active: Gauge,
        /// Upstream TLS handshakes completed.
        ssl_handshake: Counter,
        /// Upstream TLS handshakes that failed (counted in `upstream_cx_connect_fail` too).
        ssl_connection_error: Counter,
        /// Days until the cluster's client certificate expires (0 without one).
        ssl_days_until_first_cert_expiring: Gauge,
        /// Ejections not made because `max_ejection_percent` of the hosts were ejected.
        outlier_detection_ejections_overflow: Counter,
    }
}

/// Picks the status-class counter among five, so both sides count responses one way.
pub fn status_class<T>(status: u16, classes: [&T; 5]) -> &T {
    let idx = (status / 100).clamp(1, 5) as usize - 1;
    classes[idx]
}

impl ListenerStats {
    /// Counts why a request was answered locally, where the reason has a counter of its
    /// own (no route, no cluster); every local reply is also counted by its status.
    pub fn count_error(&self, kind: crate::error::ProxyErrorKind) {
        match kind {
            crate::error::ProxyErrorKind::NoRoute => self.downstream_rq_no_route.inc(),
            crate::error::ProxyErrorKind::NoCluster => self.downstream_rq_no_cluster.inc(),
            _ => {}
        }
    }

    /// Counts one response sent downstream by its status class.
    pub fn count_response(&self, status: u16) {
        status_class(
            status,
            [
                &self.downstream_rq_1xx,
                &self.downstream_rq_2xx,
                &self.downstream_rq_3xx,
                &self.downstream_rq_4xx,
                &self.downstream_rq_5xx,
            ],
        )
        .inc();
    }
}

impl ClusterStats {
    /// Counts one response received from upstream by its status class.
    pub fn count_response(&self, status: u16) {
        status_class(
            status,
            [
                &self.upstream_rq_1xx,
                &self.upstream_rq_2xx,
                &self.upstream_rq_3xx,
                &self.upstream_rq_4xx,
                &self.upstream_rq_5xx,
            ],
        )
        .inc();
    }
}

stats_struct! {
    /// The configuration plane: batches of resource updates from every source (the file at
    /// start, reloads, later xDS).
    ConfigStats {
        /// Batches offered.
        update_attempt: Counter,
        /// Batches applied whole.
        update_success: Counter,
        /// Batches refused whole (a file that fails validation) or with rejected resources.
        update_rejected: Counter,
        /// Resources added, changed or removed.
        resources_applied: Counter,
        /// Resources refused (invalid, or a listener that could not be bound).
        resources_rejected: Counter,
    }
}

/// All stats of the process by listener and cluster name; kept across config reloads.
#[derive(Debug, Default)]
pub struct StatsRegistry {
    listeners: Mutex<BTreeMap<String, Arc<ListenerStats>>>,
    clusters: Mutex<BTreeMap<String, Arc<ClusterStats>>>,
    /// The configuration plane's counters.
    pub config: ConfigStats,
}

impl StatsRegistry {
    /// The stats of listener `name`, created on first use.
    pub fn listener(&self, name: &str) -> Arc<ListenerStats> {
        get_or_create(&self.listeners, name)
    }

    /// The stats of cluster `name`, created on first use.
    pub fn cluster(&self, name: &str) -> Arc<ClusterStats> {
        get_or_create(&self.clusters, name)
    }

    /// The stats of listener `name` if it has any (never creates them).
    pub fn find_listener(&self, name: &str) -> Option<Arc<ListenerStats>> {
        let map = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        map.get(name).cloned()
    }

    /// Every cluster's stats by name, sorted: a snapshot, so a reader walking 10,000
    /// clusters neither holds the lock nor builds every value as JSON.
    pub fn clusters(&self) -> Vec<(String, Arc<ClusterStats>)> {
        let map = self.clusters.lock().unwrap_or_else(|e| e.into_inner());
        map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// `{"listener": {name: {...}}, "cluster": {name: {...}}, "config": {...}}` for the
    /// admin API.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "listener": to_json_map(&self.listeners, |s| s.to_json()),
            "cluster": to_json_map(&self.clusters, |s| s.to_json()),
            "config": self.config.to_json(),
        })
    }
}

fn get_or_create<T: Default>(map: &Mutex<BTreeMap<String, Arc<T>>>, name: &str) -> Arc<T> {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(name.to_string()).or_default().clone()
}

fn to_json_map<T>(
    map: &Mutex<BTreeMap<String, Arc<T>>>,
    f: impl Fn(&T) -> serde_json::Value,
) -> serde_json::Value {
    let map = map.lock().unwrap_or_else(|e| e.into_inner());
    serde_json::Value::Object(map.iter().map(|(k, v)| (k.clone(), f(v))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes_are_counted_apart() {
        let s = ListenerStats::default();
        s.count_response(200);
        s.count_response(204);
        s.count_response(404);
        s.count_response(503);
        s.count_response(101);
        assert_eq!(s.downstream_rq_2xx.get(), 2);
        assert_eq!(s.downstream_rq_4xx.get(), 1);
        assert_eq!(s.downstream_rq_5xx.get(), 1);
        assert_eq!(s.downstream_rq_1xx.get(), 1);
    }

    #[test]
    fn gauge_guard_decrements_on_drop() {
        let g = Gauge::default();
        {
            let _a = g.track();
            let _b = g.track();
            assert_eq!(g.get(), 2);
        }
        assert_eq!(g.get(), 0);
    }

    #[test]
    fn registry_returns_the_same_stats_by_name() {
        let r = StatsRegistry::default();
        r.cluster("a").upstream_rq_total.inc();
        assert_eq!(r.cluster("a").upstream_rq_total.get(), 1);
        let json = r.to_json();
        assert_eq!(json["cluster"]["a"]["upstream_rq_total"], 1);
    }
}
