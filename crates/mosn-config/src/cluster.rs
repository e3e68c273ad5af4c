//! `cluster_manager` and its `clusters[]` (MOSN's `v2.ClusterManagerConfig`, `v2.Cluster`).

use std::time::Duration;

use crate::address::parse_address;
use crate::json::{Field, Obj};
use crate::model::{Address, ClusterConfig, ClusterType, HostConfig, LbType, OriginalDstConfig};
use crate::tls::{parse_tls_contexts, Side};
use crate::unique::Unique;

/// The refusal of MOSN's process-wide cluster TLS context.
const SHARED_TLS_REFUSED: &str =
    "the shared cluster_manager TLS context is not supported yet; give the cluster its own tls_context";
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_CONN_BUFFER_LIMIT_BYTES: u32 = 32 * 1024;

impl HostConfig {
    /// A host without labels or `tls_disable`: what DNS resolution and tests make.
    pub fn new(address: Address, hostname: Option<String>, weight: u32) -> Self {
        HostConfig {
            address,
            hostname,
            weight,
            metadata: Default::default(),
            tls_disable: false,
        }
    }
}

impl ClusterConfig {
    /// A `SIMPLE` round-robin cluster of `hosts` (weight 1) with every other setting at
    /// MOSN's default, as `{"name": name, "hosts": [...]}` parses: for code and tests that
    /// build clusters without JSON.
    pub fn static_hosts(name: &str, hosts: &[Address]) -> Self {
        ClusterConfig {
            name: name.to_owned(),
            cluster_type: ClusterType::Simple,
            lb_type: LbType::RoundRobin,
            lb_config: crate::model::LbConfig::default(),
            hosts: hosts
                .iter()
                .map(|address| HostConfig::new(address.clone(), None, 1))
                .collect(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_request_per_conn: 0,
            conn_buffer_limit_bytes: DEFAULT_CONN_BUFFER_LIMIT_BYTES,
            health_check: None,
            circuit_breakers: Default::default(),
            outlier_detection: None,
            dns: None,
            slow_start: None,
            lb_subset: None,
            tls: None,
            original_dst: None,
            http_protocol: None,
            tcp_keepalive: None,
        }
    }
}
/// MOSN clamps host weights into `MIN_HOST_WEIGHT..=MAX_HOST_WEIGHT`.
const MIN_HOST_WEIGHT: u32 = 1;
const MAX_HOST_WEIGHT: u32 = 128;

/// The names of all clusters, to resolve references from routes and `tcp_proxy`.
pub(crate) struct ClusterNames(Unique<String>);

impl ClusterNames {
    /// Warns when no cluster has `name` (found at `field`). A dangling reference is not an
    /// error (Envoy's rule, which a control plane relies on when it sends routes before
    /// clusters): requests routed to it get a 503 "no cluster" until the cluster arrives.
    pub(crate) fn require(&self, field: &Field<'_>, name: &str) {
        if !self.0.contains(&name.to_owned()) {
            field.warn(format!(
                "cluster {name:?} is not defined in cluster_manager.clusters; requests to it get 503 until it is added"
            ));
        }
    }

    /// Checks a cluster name read with its field (from `Obj::required_str_field` or `Obj::non_empty_str_field`) and
    /// passes the name on.
    pub(crate) fn reference<'a>(&self, found: Option<(&'a str, Field<'a>)>) -> Option<&'a str> {
        let (name, field) = found?;
        self.require(&field, name);
        Some(name)
    }
}

/// Parses `cluster_manager`. Names of clusters with other errors are still returned so
/// that references to them do not produce follow-up errors.
pub(crate) fn parse_cluster_manager(
    field: Option<Field<'_>>,
) -> (Vec<ClusterConfig>, ClusterNames) {
    let mut names = Unique::new("cluster name");
    let mut clusters = Vec::new();
    if let Some(manager) = field.and_then(|f| f.as_object()) {
        // A directory of cluster files, re-written by MOSN at runtime.
        manager.refuse(
            "clusters_configs",
            "cluster config directories (clusters_configs) are not supported yet",
        );
        // MOSN's process-wide client context, used by clusters with `cluster_manager_tls`.
        if manager
            .object("tls_context")
            .is_some_and(|c| c.bool("status") == Some(true))
        {
            manager.key_error("tls_context", SHARED_TLS_REFUSED);
        }
        // Only a connection-pool sharing switch.
        manager.tolerate(&["cluster_pool_enable"]);
        for item in manager.items("clusters") {
            if let Some(cluster) = parse_cluster(&item, &mut names) {
                clusters.push(cluster);
            }
        }
    }
    (clusters, ClusterNames(names))
}

fn parse_cluster(field: &Field<'_>, names: &mut Unique<String>) -> Option<ClusterConfig> {
    let obj = field.as_object()?;
    let name = obj.required_str_field("name").map(|(name, field)| {
        names.insert(name.to_owned(), &field, name);
        name
    });
    let cluster_type = cluster_type(&obj);
    let lb_type = lb_type(&obj);
    let lb_config = crate::lb_config::parse_lb_config(&obj, lb_type);
    refuse_cluster_features(&obj);
    // DNS clusters list names to resolve (`dns.targets`), not addresses.
    let dns = crate::dns::parse_dns(&obj, cluster_type);
    let hosts: Vec<Option<HostConfig>> = if crate::dns::is_dns(cluster_type) {
        Vec::new()
    } else {
        obj.items("hosts").iter().map(parse_host).collect()
    };
    let connect_timeout = obj
        .nonzero_duration("connect_timeout", "no connect timeout")
        .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    let idle_timeout = obj
        .nonzero_duration("idle_timeout", "never close idle connections")
        .unwrap_or(DEFAULT_IDLE_TIMEOUT);
    let max_request_per_conn = obj.uint("max_request_per_conn").unwrap_or(0);
    // As in MOSN, 0 means "not set".
    let conn_buffer_limit_bytes = obj
        .uint("conn_buffer_limit_bytes")
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_CONN_BUFFER_LIMIT_BYTES);
    let tls = parse_tls_contexts(&obj, Side::Cluster).map(|mut c| c.pop());
    let has_tls = matches!(tls, Some(Some(_)));
    let health_check = crate::health_check::parse_health_check(&obj, has_tls);
    let circuit_breakers = crate::circuit_breakers::parse_circuit_breakers(&obj);
    // Errors are recorded; an invalid section fails the whole parse.
    let outlier_detection = crate::outlier_detection::parse_outlier_detection(&obj);
    let slow_start = crate::slow_start::parse_slow_start(&obj, lb_type);
    let lb_subset = crate::lb_subset::parse_lb_subset(&obj);
    let hosts: Vec<HostConfig> = hosts.into_iter().collect::<Option<_>>()?;
    let original_dst = parse_original_dst(&obj, cluster_type, lb_type, &hosts);
    if matches!(tls, Some(Some(_)))
        && hosts
            .iter()
            .any(|h| matches!(h.address, crate::model::Address::Unix(_)) && !h.tls_disable)
    {
        obj.key_error(
            "tls_context",
            "TLS to Unix socket hosts is not supported yet (set tls_disable on them)",
        );
        return None;
    }
    Some(ClusterConfig {
        tls: tls?.map(std::sync::Arc::new),
        slow_start: slow_start?,
        lb_subset: lb_subset?,
        original_dst: original_dst?,
        outlier_detection: outlier_detection.map(Box::new),
        dns: dns?.map(Box::new),
        name: name?.to_owned(),
        cluster_type: cluster_type?,
        lb_type: lb_type?,
        lb_config: lb_config?,
        hosts,
        connect_timeout,
        idle_timeout,
        max_request_per_conn,
        conn_buffer_limit_bytes,
        health_check: health_check.map(Box::new),
        circuit_breakers: circuit_breakers?,
        http_protocol: None,
        tcp_keepalive: None,
    })
}

/// `original_dst_lb_config{use_header, header_name, replace_local}` of an `ORIGINAL_DST`
/// cluster, which must balance with `LB_ORIGINAL_DST` (and vice versa) and list no hosts.
fn parse_original_dst(
    obj: &Obj<'_>,
    cluster_type: Option<ClusterType>,
    lb_type: Option<LbType>,
    hosts: &[HostConfig],
) -> Option<Option<OriginalDstConfig>> {
    let is_cluster = cluster_type == Some(ClusterType::OriginalDst);
    let is_lb = lb_type == Some(LbType::OriginalDst);
    if is_cluster != is_lb {
        obj.key_error(
            "lb_type",
            "ORIGINAL_DST clusters and LB_ORIGINAL_DST go together",
        );
        return None;
    }
    let cfg = obj.object("original_dst_lb_config");
    if !is_cluster {
        if cfg.is_some() {
            obj.key_warn(
                "original_dst_lb_config",
                "used only by ORIGINAL_DST clusters, ignored",
            );
        }
        return Some(None);
    }
    if !hosts.is_empty() {
        obj.key_error(
            "hosts",
            "an ORIGINAL_DST cluster takes each connection's destination; list no hosts",
        );
        return None;
    }
    let mut out = OriginalDstConfig {
        header_name: "host".to_owned(),
        ..Default::default()
    };
    if let Some(cfg) = cfg {
        out.use_header = cfg.bool("use_header").unwrap_or(false);
        if let Some(name) = cfg.non_empty_str("header_name") {
            out.header_name = name.to_ascii_lowercase();
        }
        out.replace_local = cfg.bool("replace_local").unwrap_or(false);
    }
    Some(Some(out))
}

/// `type`: MOSN's `SIMPLE` (its default) or Envoy's `STATIC`, both static host lists, or
/// `STRICT_DNS`/`LOGICAL_DNS` (names resolved at runtime, `crate::dns`).
fn cluster_type(obj: &Obj<'_>) -> Option<ClusterType> {
    let simple = ClusterType::Simple;
    obj.get("type").map_or(Some(simple), |f| {
        f.one_of(
            &[
                ("", simple),
                ("SIMPLE", simple),
                ("STATIC", simple),
                ("STRICT_DNS", ClusterType::StrictDns),
                ("LOGICAL_DNS", ClusterType::LogicalDns),
                ("ORIGINAL_DST", ClusterType::OriginalDst),
            ],
            false,
            |t| format!("cluster type {t:?} is not supported yet"),
        )
    })
}

/// `lb_type`: MOSN's balancers (round robin is its default) and Envoy's ring hash;
/// `LB_ORIGINAL_DST` goes with `ORIGINAL_DST` clusters.
fn lb_type(obj: &Obj<'_>) -> Option<LbType> {
    let rr = LbType::RoundRobin;
    obj.get("lb_type").map_or(Some(rr), |f| {
        f.one_of(
            &[
                ("", rr),
                ("LB_ROUNDROBIN", rr),
                ("LB_RANDOM", LbType::Random),
                ("LB_WEIGHTED_ROUNDROBIN", LbType::WeightedRoundRobin),
                ("LB_LEAST_REQUEST", LbType::LeastRequest),
                ("LB_LEAST_CONNECTION", LbType::LeastConnection),
                ("LB_MAGLEV", LbType::Maglev),
                ("LB_RING_HASH", LbType::RingHash),
                ("LB_PEAK_EWMA", LbType::PeakEwma),
                ("LB_REQUEST_ROUNDROBIN", LbType::RequestRoundRobin),
                ("LB_ORIGINAL_DST", LbType::OriginalDst),
            ],
            false,
            |t| format!("load balancer {t:?} is not supported yet"),
        )
    })
}

/// Cluster keys MOSN knows that mosn-rs has not built.
fn refuse_cluster_features(obj: &Obj<'_>) {
    // Each of these changes which hosts get traffic or how connections are made.
    for (key, message) in [
        ("spec", "service subscription (spec) is not supported yet"),
        (
            "mark",
            "SO_MARK on upstream connections is not supported yet",
        ),
        ("cluster_manager_tls", SHARED_TLS_REFUSED),
    ] {
        obj.refuse(key, message);
    }
    // Heartbeats of multiplexed RPC protocols: cannot affect an HTTP/1 or TCP cluster.
    obj.ignore("keepalive", "keepalive (RPC heartbeats) is");
    // `sub_type` is unused by MOSN; `cluster_pool_enable` only shares pools.
    obj.tolerate(&["sub_type", "cluster_pool_enable"]);
}

fn parse_host(field: &Field<'_>) -> Option<HostConfig> {
    let obj = field.as_object()?;
    let address = obj.required_str_field("address").and_then(|(text, field)| {
        let parsed = parse_address(text);
        if parsed.is_none() {
            field.error(format!(
                "invalid host address {text:?}, expected ip:port or unix:/path"
            ));
        }
        parsed
    });
    let hostname = obj.str("hostname").map(str::to_owned);
    let weight = host_weight(&obj);
    let metadata = obj
        .get("metadata")
        .map(|f| crate::lb_subset::parse_metadata(&f))
        .unwrap_or_default();
    let tls_disable = obj.bool("tls_disable").unwrap_or(false);
    Some(HostConfig {
        address: address?,
        hostname,
        weight,
        metadata,
        tls_disable,
    })
}

/// `weight`, default 1, clamped into MOSN's range with a warning.
pub(crate) fn host_weight(obj: &Obj<'_>) -> u32 {
    let Some(field) = obj.get("weight") else {
        return MIN_HOST_WEIGHT;
    };
    let Some(weight) = field.as_uint::<u32>() else {
        return MIN_HOST_WEIGHT;
    };
    let clamped = weight.clamp(MIN_HOST_WEIGHT, MAX_HOST_WEIGHT);
    if clamped != weight {
        field.warn(format!(
            "weight {weight} is outside {MIN_HOST_WEIGHT}..={MAX_HOST_WEIGHT}, using {clamped}"
        ));
    }
    clamped
}
