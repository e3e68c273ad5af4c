//! `TcpProxy` → the `tcp_proxy` network filter ([`TcpProxyConfig`]).

use super::{observed, unset};
use crate::convert::{duration, Context, ConvertError, Result};
use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3::{
    tcp_proxy::ClusterSpecifier, TcpProxy,
};
use mosn_config::model::TcpProxyConfig;
use std::time::Duration;

/// Envoy's default `idle_timeout`.
const ENVOY_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);

/// Converts one TCP proxy: its cluster, idle timeout and connect attempts.
pub(super) fn convert(t: &TcpProxy, ctx: &mut Context<'_>) -> Result<TcpProxyConfig> {
    #[allow(deprecated)]
    let TcpProxy {
        stat_prefix,
        on_demand,
        metadata_match,
        idle_timeout,
        downstream_idle_timeout,
        upstream_idle_timeout,
        access_log,
        max_connect_attempts,
        backoff_options,
        hash_policy,
        tunneling_config,
        max_downstream_connection_duration,
        max_downstream_connection_duration_jitter_percentage,
        access_log_flush_interval,
        flush_access_log_on_connected,
        access_log_options,
        proxy_protocol_tlvs,
        proxy_protocol_tlv_merge_policy,
        upstream_connect_mode,
        max_early_data_bytes,
        check_drain_close,
        cluster_specifier,
    } = t;
    unset("on_demand", on_demand)?;
    unset("metadata_match", metadata_match)?;
    unset("downstream_idle_timeout", downstream_idle_timeout)?;
    unset("upstream_idle_timeout", upstream_idle_timeout)?;
    unset("backoff_options", backoff_options)?;
    unset("hash_policy", hash_policy)?;
    unset("tunneling_config", tunneling_config)?;
    unset(
        "max_downstream_connection_duration",
        max_downstream_connection_duration,
    )?;
    unset(
        "max_downstream_connection_duration_jitter_percentage",
        max_downstream_connection_duration_jitter_percentage,
    )?;
    unset("proxy_protocol_tlvs", proxy_protocol_tlvs)?;
    unset(
        "proxy_protocol_tlv_merge_policy",
        proxy_protocol_tlv_merge_policy,
    )?;
    unset("upstream_connect_mode", upstream_connect_mode)?;
    unset("max_early_data_bytes", max_early_data_bytes)?;
    unset("check_drain_close", check_drain_close)?;
    observed(ctx, "stat_prefix", !stat_prefix.is_empty());
    let logs = !access_log.is_empty()
        || access_log_flush_interval.is_some()
        || *flush_access_log_on_connected
        || access_log_options.is_some();
    observed(ctx, "access_log", logs);
    let cluster = match cluster_specifier {
        Some(ClusterSpecifier::Cluster(name)) if !name.is_empty() => name.clone(),
        Some(ClusterSpecifier::Cluster(_)) => {
            return Err(ConvertError::new("cluster", "must not be empty"))
        }
        Some(ClusterSpecifier::WeightedClusters(_)) => {
            return Err(ConvertError::unsupported(
                "weighted_clusters",
                "weighted_clusters in tcp_proxy",
            ))
        }
        None => return Err(ConvertError::new("", "tcp_proxy needs a cluster")),
    };
    let idle_timeout = match idle_timeout {
        Some(d) => duration(d, "idle_timeout")?,
        None => ENVOY_IDLE_TIMEOUT,
    };
    let attempts = max_connect_attempts.map_or(1, |a| a.value);
    if attempts == 0 {
        return Err(ConvertError::new(
            "max_connect_attempts",
            "must be at least 1",
        ));
    }
    Ok(TcpProxyConfig {
        cluster: Some(cluster),
        routes: Vec::new(),
        idle_timeout: (!idle_timeout.is_zero()).then_some(idle_timeout),
        max_connect_attempts: attempts,
    })
}
