//! `Cluster` → [`ClusterConfig`].
//!
//! Envoy's defaults are written out where the model's differ: connect timeout 5s, buffer
//! limit 1 MiB, circuit breakers 1024/1024/1024 and 3 retries, idle timeout 1h,
//! `ROUND_ROBIN` (weighted: the model's `WeightedRoundRobin`). TCP keepalive settings
//! left unset stay unset: Envoy then keeps the kernel's too. What cannot be expressed
//! is refused by its path; fields that only name stats are counted no-ops.
//!
//! Known difference kept (or every cluster would be refused): mosn's panic mode starts
//! when no host is healthy, Envoy's when fewer than `healthy_panic_threshold` (50%) are;
//! an explicit threshold is refused. It only shows with health checks, outlier detection
//! or unhealthy EDS hosts.

mod health_check;
mod outlier;
mod protocol;

use super::endpoint::{lb_endpoints, Endpoint};
use super::{duration, refuse_leftover, Context, ConvertError, Result};
use envoy_types::pb::envoy::config::cluster::v3::circuit_breakers::Thresholds;
use envoy_types::pb::envoy::config::cluster::v3::cluster::{
    ClusterDiscoveryType, DiscoveryType, DnsLookupFamily as EnvoyFamily, LbConfig as EnvoyLbConfig,
    LbPolicy,
};
use envoy_types::pb::envoy::config::cluster::v3::{CircuitBreakers, Cluster};
use envoy_types::pb::envoy::config::core::v3::{RoutingPriority, TcpKeepalive as EnvoyKeepalive};
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::google::protobuf::UInt32Value;
use mosn_config::model::{
    CircuitBreakersConfig, ClusterConfig, ClusterType, HostConfig, LbConfig, LbType, Metadata,
    OriginalDstConfig, Protocol, RetryBudgetConfig, TcpKeepalive,
};
use mosn_config::{DnsConfig, DnsLookupFamily, DnsTarget};
use std::time::Duration;

/// Envoy's `connect_timeout` default.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Envoy's `per_connection_buffer_limit_bytes` default.
const DEFAULT_BUFFER_LIMIT: u32 = 1024 * 1024;
/// Envoy's default circuit breaker thresholds: connections, pending, requests, retries.
const DEFAULT_THRESHOLDS: [u32; 4] = [1024, 1024, 1024, 3];
/// Envoy's `dns_refresh_rate` default.
const DEFAULT_DNS_REFRESH: Duration = Duration::from_secs(5);
/// Linux's largest `TCP_KEEPIDLE` and `TCP_KEEPINTVL`, in seconds.
const MAX_KEEPALIVE_SECS: u32 = 32_767;
/// Linux's largest `TCP_KEEPCNT`.
const MAX_KEEPALIVE_PROBES: u32 = 127;
/// The header `use_http_header` reads unless `http_header_name` says otherwise.
const ORIGINAL_DST_HEADER: &str = "x-envoy-original-dst-host";

/// A converted cluster and where its hosts come from.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterPlan {
    /// The cluster; for EDS its `hosts` are empty until the load assignment arrives.
    pub cluster: ClusterConfig,
    /// For `EDS` clusters, the `ClusterLoadAssignment` name whose endpoints are the hosts
    /// (`eds_cluster_config.service_name`, else the cluster's name).
    pub eds: Option<String>,
    /// The upstream protocol (`HttpProtocolOptions` or the deprecated
    /// `http2_protocol_options`), which the model's cluster does not carry yet; `None`
    /// when the cluster does not say (Envoy then speaks HTTP/1.1).
    pub http_protocol: Option<Protocol>,
    /// `transport_socket_matches` as the model can express them: hosts whose
    /// `envoy.transport_socket_match` labels match an entry use TLS (`cluster.tls`) when
    /// that entry is TLS, else plaintext (`tls_disable`). Empty: every host uses the
    /// cluster's transport socket.
    pub socket_matches: Vec<SocketMatch>,
    /// With `socket_matches`: whether hosts no entry matches use TLS.
    pub default_tls: bool,
}

/// One `transport_socket_matches` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketMatch {
    /// `match`: labels a host's `envoy.transport_socket_match` metadata must have.
    pub criteria: Metadata,
    /// The entry's socket is the cluster's TLS context (else plaintext).
    pub tls: bool,
}

impl ClusterPlan {
    /// The hosts of `cla` for this cluster, `tls_disable` set by the transport socket
    /// matches: what EDS hosts go through.
    pub fn hosts(
        &self,
        cla: &ClusterLoadAssignment,
        ctx: &mut Context<'_>,
    ) -> Result<Vec<HostConfig>> {
        let mut hosts: Vec<HostConfig> = lb_endpoints(cla, ctx)?
            .into_iter()
            .map(|e| self.host(e))
            .collect();
        // Collected in place, the vector would keep the endpoints' larger allocation.
        hosts.shrink_to_fit();
        Ok(hosts)
    }

    /// One endpoint's host with the transport socket its labels choose.
    fn host(&self, e: Endpoint) -> HostConfig {
        let mut host = e.host;
        if self.cluster.tls.is_some() && !self.socket_matches.is_empty() {
            let tls = self
                .socket_matches
                .iter()
                .find(|m| e.socket_labels.matches(&m.criteria))
                .map_or(self.default_tls, |m| m.tls);
            host.tls_disable = !tls;
        }
        host
    }
}

/// Converts one cluster. With SDS secrets missing (`ctx.missing_secrets`) the TLS context
/// is incomplete and the cluster must warm (see [`super::tls`]).
pub fn cluster(c: &Cluster, ctx: &mut Context<'_>) -> Result<ClusterPlan> {
    let mut rest = c.clone();
    let name = std::mem::take(&mut rest.name);
    let mut cluster = ClusterConfig::static_hosts(&name, &[]);
    observability(&mut rest, ctx)?;
    let eds = discovery(&mut rest, &mut cluster)?;
    balancing(&mut rest, &mut cluster)?;
    limits(&mut rest, &mut cluster)?;
    connection_options(&mut rest, &mut cluster)?;
    let http_protocol = protocol::http_options(&mut rest, &mut cluster)?;
    cluster.health_check = health_check::health_check(&mut rest, &name)?.map(Box::new);
    cluster.outlier_detection = rest
        .outlier_detection
        .take()
        .map(|o| outlier::outlier_detection(o).map_err(|e| e.within("outlier_detection")))
        .transpose()?
        .map(Box::new);
    let (socket_matches, default_tls) = protocol::transport_sockets(&mut rest, &mut cluster, ctx)?;
    let plan_hosts = rest.load_assignment.take();
    refuse_leftover(&rest, "")?;
    let mut plan = ClusterPlan {
        cluster,
        eds,
        http_protocol,
        socket_matches,
        default_tls,
    };
    if let Some(cla) = plan_hosts {
        inline_hosts(&mut plan, &cla, ctx).map_err(|e| e.within("load_assignment"))?;
    }
    Ok(plan)
}

/// Fields that only name or count things: counted no-ops.
fn observability(c: &mut Cluster, ctx: &mut Context<'_>) -> Result<()> {
    if !std::mem::take(&mut c.alt_stat_name).is_empty() {
        ctx.ignore("cluster.alt_stat_name");
    }
    if c.track_cluster_stats.take().is_some() {
        ctx.ignore("cluster.track_cluster_stats");
    }
    if let Some(mut metadata) = c.metadata.take() {
        if metadata.filter_metadata.remove("istio").is_some() {
            ctx.ignore("cluster.metadata.istio");
        }
        refuse_leftover(&metadata, "metadata")?;
    }
    Ok(())
}

/// `type` (with `eds_cluster_config`, the DNS keys, `original_dst_lb_config`): the
/// cluster type and, for EDS, the assignment name.
fn discovery(c: &mut Cluster, cluster: &mut ClusterConfig) -> Result<Option<String>> {
    let kind = match c.cluster_discovery_type.take() {
        None => DiscoveryType::Static,
        Some(ClusterDiscoveryType::Type(t)) => DiscoveryType::try_from(t)
            .map_err(|_| ConvertError::new("type", format!("unknown cluster type {t}")))?,
        Some(ClusterDiscoveryType::ClusterType(t)) => {
            return Err(ConvertError::unsupported(
                "cluster_type",
                format!("custom cluster type {:?}", t.name),
            ));
        }
    };
    let mut eds = None;
    match kind {
        DiscoveryType::Static => cluster.cluster_type = ClusterType::Simple,
        DiscoveryType::Eds => {
            cluster.cluster_type = ClusterType::Simple;
            let config = c.eds_cluster_config.take().unwrap_or_default();
            eds = Some(if config.service_name.is_empty() {
                cluster.name.clone()
            } else {
                config.service_name
            });
        }
        DiscoveryType::StrictDns => cluster.cluster_type = ClusterType::StrictDns,
        DiscoveryType::LogicalDns => cluster.cluster_type = ClusterType::LogicalDns,
        DiscoveryType::OriginalDst => cluster.cluster_type = ClusterType::OriginalDst,
    }
    if matches!(kind, DiscoveryType::StrictDns | DiscoveryType::LogicalDns) {
        cluster.dns = Some(Box::new(dns_settings(c)?));
    }
    if kind == DiscoveryType::OriginalDst {
        cluster.original_dst = Some(original_dst(c)?);
    }
    Ok(eds)
}

/// The DNS keys of a DNS cluster (the names come with the load assignment); Envoy
/// deprecates them for `dns_resolution_config`'s successors but still reads them.
#[allow(deprecated)]
fn dns_settings(c: &mut Cluster) -> Result<DnsConfig> {
    let refresh_rate = match c.dns_refresh_rate.take() {
        None => DEFAULT_DNS_REFRESH,
        Some(d) => duration(&d, "dns_refresh_rate")?,
    };
    let lookup_family = match EnvoyFamily::try_from(std::mem::take(&mut c.dns_lookup_family)) {
        Ok(EnvoyFamily::Auto) => DnsLookupFamily::Auto,
        Ok(EnvoyFamily::V4Only) => DnsLookupFamily::V4Only,
        Ok(EnvoyFamily::V6Only) => DnsLookupFamily::V6Only,
        Ok(EnvoyFamily::V4Preferred) => DnsLookupFamily::V4Preferred,
        Ok(EnvoyFamily::All) => DnsLookupFamily::All,
        Err(_) => return Err(ConvertError::new("dns_lookup_family", "unknown value")),
    };
    Ok(DnsConfig {
        targets: Vec::new(),
        refresh_rate,
        respect_dns_ttl: std::mem::take(&mut c.respect_dns_ttl),
        lookup_family,
        nameservers: Vec::new(),
    })
}

/// `original_dst_lb_config`.
fn original_dst(c: &mut Cluster) -> Result<OriginalDstConfig> {
    let mut config = match c.lb_config.take() {
        None => Default::default(),
        Some(EnvoyLbConfig::OriginalDstLbConfig(o)) => o,
        Some(_) => {
            return Err(ConvertError::new(
                "lb_config",
                "ORIGINAL_DST clusters take original_dst_lb_config",
            ));
        }
    };
    let use_header = std::mem::take(&mut config.use_http_header);
    let header = std::mem::take(&mut config.http_header_name);
    refuse_leftover(&config, "original_dst_lb_config")?;
    Ok(OriginalDstConfig {
        use_header,
        header_name: if header.is_empty() {
            ORIGINAL_DST_HEADER.to_owned()
        } else {
            header.to_ascii_lowercase()
        },
        replace_local: false,
    })
}

/// `lb_policy` and its config, `lb_subset_config`, `common_lb_config`.
fn balancing(c: &mut Cluster, cluster: &mut ClusterConfig) -> Result<()> {
    let policy = LbPolicy::try_from(std::mem::take(&mut c.lb_policy))
        .map_err(|_| ConvertError::new("lb_policy", "unknown value"))?;
    let original_dst = cluster.cluster_type == ClusterType::OriginalDst;
    cluster.lb_type = match (policy, original_dst) {
        (LbPolicy::ClusterProvided, true) => LbType::OriginalDst,
        (_, true) => {
            return Err(ConvertError::new(
                "lb_policy",
                "ORIGINAL_DST clusters need CLUSTER_PROVIDED",
            ));
        }
        (LbPolicy::RoundRobin, _) => LbType::WeightedRoundRobin,
        (LbPolicy::LeastRequest, _) => LbType::LeastRequest,
        (LbPolicy::Random, _) => LbType::Random,
        (LbPolicy::RingHash, _) => LbType::RingHash,
        (LbPolicy::Maglev, _) => LbType::Maglev,
        (other, _) => {
            return Err(ConvertError::unsupported("lb_policy", other.as_str_name()));
        }
    };
    cluster.lb_config = lb_config(c, cluster.lb_type)?;
    if let Some(subset) = c.lb_subset_config.take() {
        cluster.lb_subset = protocol::subsets(subset).map_err(|e| e.within("lb_subset_config"))?;
    }
    if let Some(common) = c.common_lb_config.take() {
        refuse_leftover(&common, "common_lb_config")?;
    }
    Ok(())
}

/// The balancer's own config (`least_request_lb_config`, `ring_hash_lb_config`,
/// `maglev_lb_config`), Envoy's defaults otherwise.
fn lb_config(c: &mut Cluster, lb: LbType) -> Result<LbConfig> {
    let mut config = LbConfig::default();
    match (c.lb_config.take(), lb) {
        (None, _) => {}
        (Some(EnvoyLbConfig::LeastRequestLbConfig(mut l)), LbType::LeastRequest) => {
            if let Some(n) = l.choice_count.take() {
                if n.value < 2 {
                    return Err(ConvertError::new(
                        "least_request_lb_config.choice_count",
                        "must be at least 2",
                    ));
                }
                config.choice_count = n.value;
            }
            if let Some(bias) = l.active_request_bias.take() {
                let v = bias.default_value;
                if !(v.is_finite() && v >= 0.0 && bias.runtime_key.is_empty()) {
                    return Err(ConvertError::unsupported(
                        "least_request_lb_config.active_request_bias",
                        "a bias that is negative, not finite or read from the runtime",
                    ));
                }
                config.active_request_bias = v;
            }
            refuse_leftover(&l, "least_request_lb_config")?;
        }
        (Some(EnvoyLbConfig::RingHashLbConfig(mut r)), LbType::RingHash) => {
            let min = r
                .minimum_ring_size
                .take()
                .map_or(config.ring_hash_min_size, |v| v.value);
            let max = r
                .maximum_ring_size
                .take()
                .map_or(config.ring_hash_max_size, |v| v.value);
            if min == 0 || min > max || max > LbConfig::MAX_RING_SIZE {
                return Err(ConvertError::new(
                    "ring_hash_lb_config",
                    format!(
                        "ring sizes must satisfy 1 <= minimum <= maximum <= {}",
                        LbConfig::MAX_RING_SIZE
                    ),
                ));
            }
            (config.ring_hash_min_size, config.ring_hash_max_size) = (min, max);
            refuse_leftover(&r, "ring_hash_lb_config")?;
        }
        (Some(EnvoyLbConfig::MaglevLbConfig(mut m)), LbType::Maglev) => {
            if let Some(size) = m.table_size.take() {
                let n = u32::try_from(size.value)
                    .ok()
                    .filter(|&n| n <= LbConfig::MAX_MAGLEV_TABLE_SIZE && is_prime(n));
                config.maglev_table_size = n.ok_or_else(|| {
                    ConvertError::new(
                        "maglev_lb_config.table_size",
                        "must be a prime up to 5000011",
                    )
                })?;
            }
            refuse_leftover(&m, "maglev_lb_config")?;
        }
        (Some(_), _) => {
            return Err(ConvertError::new(
                "lb_config",
                "does not belong to the cluster's lb_policy",
            ));
        }
    }
    Ok(config)
}

/// Trial division: table sizes are at most five million.
fn is_prime(n: u32) -> bool {
    n >= 2
        && (2..)
            .take_while(|d: &u32| d.saturating_mul(*d) <= n)
            .all(|d| !n.is_multiple_of(d))
}

/// `connect_timeout`, `per_connection_buffer_limit_bytes`, `circuit_breakers`.
fn limits(c: &mut Cluster, cluster: &mut ClusterConfig) -> Result<()> {
    cluster.connect_timeout = match c.connect_timeout.take() {
        None => DEFAULT_CONNECT_TIMEOUT,
        Some(d) => duration(&d, "connect_timeout")?,
    };
    if cluster.connect_timeout.is_zero() {
        return Err(ConvertError::new(
            "connect_timeout",
            "must be greater than 0",
        ));
    }
    cluster.conn_buffer_limit_bytes = c
        .per_connection_buffer_limit_bytes
        .take()
        .map_or(DEFAULT_BUFFER_LIMIT, |v| v.value);
    let breakers = c.circuit_breakers.take().unwrap_or_default();
    cluster.circuit_breakers =
        circuit_breakers(breakers).map_err(|e| e.within("circuit_breakers"))?;
    Ok(())
}

/// `upstream_connection_options`: its `tcp_keepalive`, for the upstream TCP connections.
fn connection_options(c: &mut Cluster, cluster: &mut ClusterConfig) -> Result<()> {
    let Some(mut options) = c.upstream_connection_options.take() else {
        return Ok(());
    };
    let path = "upstream_connection_options";
    if let Some(keepalive) = options.tcp_keepalive.take() {
        let converted =
            tcp_keepalive(keepalive).map_err(|e| e.within(format!("{path}.tcp_keepalive")))?;
        cluster.tcp_keepalive = Some(converted);
    }
    refuse_leftover(&options, path)
}

/// One `TcpKeepalive`. An unset setting keeps the kernel's, as in Envoy; a set one must be
/// one Linux accepts (`setsockopt` refuses 0 and values above its maximum, which would
/// fail every one of Envoy's connections).
fn tcp_keepalive(mut k: EnvoyKeepalive) -> Result<TcpKeepalive> {
    let seconds = |v: Option<u32>| v.map(|s| Duration::from_secs(s.into()));
    let time = keepalive_setting(
        k.keepalive_time.take(),
        "keepalive_time",
        MAX_KEEPALIVE_SECS,
    )?;
    let interval = keepalive_setting(
        k.keepalive_interval.take(),
        "keepalive_interval",
        MAX_KEEPALIVE_SECS,
    )?;
    let probes = keepalive_setting(
        k.keepalive_probes.take(),
        "keepalive_probes",
        MAX_KEEPALIVE_PROBES,
    )?;
    refuse_leftover(&k, "")?;
    Ok(TcpKeepalive {
        time: seconds(time),
        interval: seconds(interval),
        probes,
    })
}

/// One keepalive setting, if set, within `1..=max`.
fn keepalive_setting(value: Option<UInt32Value>, field: &str, max: u32) -> Result<Option<u32>> {
    match value.map(|v| v.value) {
        Some(n) if n == 0 || n > max => Err(ConvertError::unsupported(
            field,
            format!("{n} (Linux takes 1 to {max})"),
        )),
        n => Ok(n),
    }
}

/// The `DEFAULT` priority's thresholds with Envoy's defaults; `HIGH` ones are refused
/// unless equal (the model has one set of limits).
fn circuit_breakers(mut cb: CircuitBreakers) -> Result<CircuitBreakersConfig> {
    let thresholds = std::mem::take(&mut cb.thresholds);
    refuse_leftover(&cb, "")?;
    let mut default = None;
    let mut high = None;
    for (i, t) in thresholds.into_iter().enumerate() {
        let path = format!("thresholds[{i}]");
        let slot = match RoutingPriority::try_from(t.priority) {
            Ok(RoutingPriority::Default) => &mut default,
            Ok(RoutingPriority::High) => &mut high,
            Err(_) => {
                return Err(ConvertError::new(
                    format!("{path}.priority"),
                    "unknown value",
                ))
            }
        };
        if slot.is_some() {
            return Err(ConvertError::new(
                path,
                "a second entry for the same priority",
            ));
        }
        *slot = Some((path.clone(), thresholds_of(t).map_err(|e| e.within(&path))?));
    }
    let default = default.map_or_else(|| thresholds_of(Thresholds::default()), |(_, t)| Ok(t))?;
    if let Some((path, high)) = high {
        if high != default {
            return Err(ConvertError::unsupported(
                path,
                "HIGH priority thresholds other than the DEFAULT ones (mosn has no request priorities)",
            ));
        }
    }
    Ok(default)
}

/// One thresholds entry with Envoy's defaults.
fn thresholds_of(mut t: Thresholds) -> Result<CircuitBreakersConfig> {
    t.priority = 0;
    let [connections, pending, requests, retries] = DEFAULT_THRESHOLDS;
    let value = |v: Option<u32>, d: u32| v.unwrap_or(d);
    let config = CircuitBreakersConfig {
        max_connections: value(t.max_connections.take().map(|v| v.value), connections),
        max_pending_requests: value(t.max_pending_requests.take().map(|v| v.value), pending),
        max_requests: value(t.max_requests.take().map(|v| v.value), requests),
        max_retries: value(t.max_retries.take().map(|v| v.value), retries),
        retry_budget: t.retry_budget.take().map(retry_budget).transpose()?,
    };
    // Only the `remaining_*` gauges.
    t.track_remaining = false;
    refuse_leftover(&t, "")?;
    Ok(config)
}

/// `retry_budget` with Envoy's defaults (20%, 3).
fn retry_budget(
    mut b: envoy_types::pb::envoy::config::cluster::v3::circuit_breakers::thresholds::RetryBudget,
) -> Result<RetryBudgetConfig> {
    let percent = b.budget_percent.take().map_or(20.0, |p| p.value);
    if !(0.0..=100.0).contains(&percent) {
        return Err(ConvertError::new(
            "retry_budget.budget_percent",
            "must be in [0, 100]",
        ));
    }
    let min = b.min_retry_concurrency.take().map_or(3, |v| v.value);
    refuse_leftover(&b, "retry_budget")?;
    Ok(RetryBudgetConfig {
        budget_basis_points: (percent * 100.0).round() as u32,
        min_retry_concurrency: min,
    })
}

/// An inline `load_assignment`: the hosts of a static cluster, the names of a DNS one.
fn inline_hosts(
    plan: &mut ClusterPlan,
    cla: &ClusterLoadAssignment,
    ctx: &mut Context<'_>,
) -> Result<()> {
    if let Some(dns) = plan.cluster.dns.as_mut() {
        dns.targets = dns_targets(cla)?;
        return Ok(());
    }
    if plan.eds.is_some() || plan.cluster.cluster_type == ClusterType::OriginalDst {
        if !cla.endpoints.is_empty() {
            return Err(ConvertError::new(
                "endpoints",
                "this cluster type lists no hosts",
            ));
        }
        return Ok(());
    }
    plan.cluster.hosts = plan.hosts(cla, ctx)?;
    Ok(())
}

/// The names a DNS cluster resolves: each endpoint's `socket_address`, its address a name.
fn dns_targets(cla: &ClusterLoadAssignment) -> Result<Vec<DnsTarget>> {
    let mut as_ip = cla.clone();
    let mut targets = Vec::new();
    for (i, locality) in as_ip.endpoints.iter_mut().enumerate() {
        for (j, e) in locality.lb_endpoints.iter_mut().enumerate() {
            let path = format!("endpoints[{i}].lb_endpoints[{j}].endpoint.address.socket_address");
            let socket = match &mut e.host_identifier {
                Some(envoy_types::pb::envoy::config::endpoint::v3::lb_endpoint::HostIdentifier::Endpoint(ep)) => {
                    match ep.address.as_mut().and_then(|a| a.address.as_mut()) {
                        Some(envoy_types::pb::envoy::config::core::v3::address::Address::SocketAddress(s)) => s,
                        _ => return Err(ConvertError::new(path, "a DNS cluster needs socket addresses")),
                    }
                }
                _ => return Err(ConvertError::new(path, "a DNS cluster needs socket addresses")),
            };
            let name = std::mem::replace(&mut socket.address, "0.0.0.0".to_owned());
            targets.push((name, e.load_balancing_weight.map_or(1, |w| w.value)));
        }
    }
    // Everything else about the endpoints is checked as for any host.
    let hosts = super::endpoint::endpoints(&as_ip, &mut Context::default())?;
    if hosts.len() != targets.len() {
        return Err(ConvertError::unsupported(
            "endpoints",
            "health_status on a DNS cluster's names",
        ));
    }
    Ok(targets
        .into_iter()
        .zip(hosts)
        .map(|((name, weight), host)| DnsTarget {
            port: match host.address {
                mosn_config::model::Address::Tcp(a) => a.port(),
                mosn_config::model::Address::Unix(_) => 0,
            },
            hostname: host.hostname.or_else(|| Some(name.clone())),
            name,
            weight,
        })
        .collect())
}
