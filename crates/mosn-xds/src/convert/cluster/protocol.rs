//! How a cluster talks to its hosts: the HTTP protocol options, the transport sockets
//! (`transport_socket`, `transport_socket_matches`, Istio's pattern), upstream network
//! filters, and the subset labels hosts are grouped by.

use super::super::endpoint::string_labels;
use super::super::{duration, refuse_leftover, tls, unpack, Context, ConvertError, Result};
use super::SocketMatch;
use envoy_types::pb::envoy::config::cluster::v3::cluster::{lb_subset_config, LbSubsetConfig as EnvoySubsets};
use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::core::v3::{HttpProtocolOptions as CommonHttp, TransportSocket};
use envoy_types::pb::envoy::extensions::upstreams::http::v3::http_protocol_options::explicit_http_config::ProtocolConfig;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::http_protocol_options::UpstreamProtocolOptions;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::HttpProtocolOptions;
use mosn_config::model::{ClusterConfig, LbSubsetConfig, Protocol, SubsetFallback, TlsContextConfig};
use std::time::Duration;

/// The key of `typed_extension_protocol_options` for HTTP.
const HTTP_OPTIONS: &str = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
/// Envoy's upstream `idle_timeout` default.
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Istio's upstream network filter exchanging workload metadata for telemetry.
const METADATA_EXCHANGE: &str = "istio.metadata_exchange";
/// The ALPN value announcing the metadata exchange: offered only by the filter's peer.
const METADATA_EXCHANGE_ALPN: &str = "istio-peer-exchange";

/// The upstream HTTP protocol and the common HTTP options (`idle_timeout`,
/// `max_requests_per_connection`), from `typed_extension_protocol_options` or the
/// deprecated cluster fields.
pub(super) fn http_options(
    c: &mut Cluster,
    cluster: &mut ClusterConfig,
) -> Result<Option<Protocol>> {
    let mut common = None;
    let mut protocol = None;
    let mut options = std::mem::take(&mut c.typed_extension_protocol_options);
    if let Some(any) = options.remove(HTTP_OPTIONS) {
        let path = format!("typed_extension_protocol_options[{HTTP_OPTIONS:?}]");
        let mut http: HttpProtocolOptions = unpack(&any, &path)?;
        common = http.common_http_protocol_options.take();
        protocol = http
            .upstream_protocol_options
            .take()
            .map(upstream_protocol)
            .transpose()
            .map_err(|e| e.within(&path))?;
        refuse_leftover(&http, &path)?;
    }
    if let Some((key, _)) = options.iter().next() {
        return Err(ConvertError::unsupported(
            format!("typed_extension_protocol_options[{key:?}]"),
            "protocol options",
        ));
    }
    #[allow(deprecated)]
    let legacy = (
        c.common_http_protocol_options.take(),
        c.http2_protocol_options.take(),
        c.max_requests_per_connection.take(),
    );
    let (legacy_common, legacy_h2, legacy_max) = legacy;
    if let Some(h2) = legacy_h2 {
        refuse_leftover(&h2, "http2_protocol_options")?;
        protocol = Some(Protocol::Http2);
    }
    let common = common.or(legacy_common).unwrap_or_default();
    common_http(common, cluster).map_err(|e| e.within("common_http_protocol_options"))?;
    if let Some(max) = legacy_max {
        cluster.max_request_per_conn = max.value;
    }
    Ok(protocol)
}

/// `explicit_http_config` (HTTP/1.1 or HTTP/2) or `use_downstream_protocol_config`
/// (`Auto`), with default protocol settings only.
fn upstream_protocol(p: UpstreamProtocolOptions) -> Result<Protocol> {
    match p {
        UpstreamProtocolOptions::ExplicitHttpConfig(e) => match e.protocol_config {
            Some(ProtocolConfig::HttpProtocolOptions(h1)) => {
                refuse_leftover(&h1, "explicit_http_config.http_protocol_options")?;
                Ok(Protocol::Http1)
            }
            Some(ProtocolConfig::Http2ProtocolOptions(h2)) => {
                refuse_leftover(&h2, "explicit_http_config.http2_protocol_options")?;
                Ok(Protocol::Http2)
            }
            _ => Err(ConvertError::unsupported(
                "explicit_http_config",
                "HTTP/3 upstreams",
            )),
        },
        UpstreamProtocolOptions::UseDownstreamProtocolConfig(mut d) => {
            let path = "use_downstream_protocol_config";
            if let Some(h1) = d.http_protocol_options.take() {
                refuse_leftover(&h1, &format!("{path}.http_protocol_options"))?;
            }
            if let Some(h2) = d.http2_protocol_options.take() {
                refuse_leftover(&h2, &format!("{path}.http2_protocol_options"))?;
            }
            refuse_leftover(&d, path)?;
            Ok(Protocol::Auto)
        }
        UpstreamProtocolOptions::AutoConfig(_) => Err(ConvertError::unsupported(
            "auto_config",
            "ALPN-negotiated upstream protocol",
        )),
    }
}

/// `idle_timeout` (Envoy's default 1h; 0, never, is refused) and
/// `max_requests_per_connection`.
fn common_http(mut common: CommonHttp, cluster: &mut ClusterConfig) -> Result<()> {
    cluster.idle_timeout = match common.idle_timeout.take() {
        None => DEFAULT_IDLE_TIMEOUT,
        Some(d) => duration(&d, "idle_timeout")?,
    };
    if cluster.idle_timeout.is_zero() {
        return Err(ConvertError::unsupported(
            "idle_timeout",
            "0 (never closing idle connections)",
        ));
    }
    if let Some(max) = common.max_requests_per_connection.take() {
        cluster.max_request_per_conn = max.value;
    }
    refuse_leftover(&common, "")
}

/// `transport_socket` and `transport_socket_matches`: the cluster's one TLS context and
/// which hosts use it; and the upstream `filters`.
pub(super) fn transport_sockets(
    c: &mut Cluster,
    cluster: &mut ClusterConfig,
    ctx: &mut Context<'_>,
) -> Result<(Vec<SocketMatch>, bool)> {
    let default =
        socket(c.transport_socket.take(), ctx).map_err(|e| e.within("transport_socket"))?;
    let mut tls = default.clone();
    let mut matches = Vec::new();
    for (i, m) in std::mem::take(&mut c.transport_socket_matches)
        .into_iter()
        .enumerate()
    {
        let path = format!("transport_socket_matches[{i}]");
        let criteria = string_labels(&m.r#match.unwrap_or_default())
            .map_err(|e| e.within(format!("{path}.match")))?;
        let found = socket(m.transport_socket, ctx)
            .map_err(|e| e.within(format!("{path}.transport_socket")))?;
        if let Some(context) = &found {
            if tls.as_ref().is_some_and(|t| t != context) {
                return Err(ConvertError::unsupported(
                    format!("{path}.transport_socket"),
                    "a second, different TLS context (mosn has one per cluster)",
                ));
            }
            tls = found.clone();
        }
        matches.push(SocketMatch {
            criteria,
            tls: found.is_some(),
        });
    }
    cluster.tls = tls.map(std::sync::Arc::new);
    filters(c, cluster, ctx)?;
    if cluster.tls.is_none() {
        matches.clear();
    }
    Ok((matches, default.is_some()))
}

/// One transport socket (absent: plaintext).
fn socket(s: Option<TransportSocket>, ctx: &mut Context<'_>) -> Result<Option<TlsContextConfig>> {
    s.map_or(Ok(None), |s| tls::upstream(&s, ctx))
}

/// Upstream network `filters`: only Istio's metadata exchange, which feeds telemetry; it
/// is a counted no-op, and its ALPN value is no longer offered so that the peer does not
/// wait for the exchange.
fn filters(c: &mut Cluster, cluster: &mut ClusterConfig, ctx: &mut Context<'_>) -> Result<()> {
    for (i, f) in std::mem::take(&mut c.filters).iter().enumerate() {
        if f.name != METADATA_EXCHANGE {
            return Err(ConvertError::unsupported(
                format!("filters[{i}]"),
                format!("upstream network filter {:?}", f.name),
            ));
        }
        ctx.ignore("cluster.filters.istio.metadata_exchange");
        if let Some(t) = cluster.tls.as_mut() {
            std::sync::Arc::make_mut(t)
                .alpn
                .retain(|p| p != METADATA_EXCHANGE_ALPN);
        }
    }
    Ok(())
}

/// `lb_subset_config`: selectors (sorted keys), the fallback policy and default subset.
pub(super) fn subsets(mut s: EnvoySubsets) -> Result<Option<LbSubsetConfig>> {
    use lb_subset_config::LbSubsetFallbackPolicy as Policy;
    let default_subset = string_labels(&s.default_subset.take().unwrap_or_default())
        .map_err(|e| e.within("default_subset"))?;
    let fallback = match Policy::try_from(std::mem::take(&mut s.fallback_policy)) {
        Ok(Policy::NoFallback) => SubsetFallback::NoFallback,
        Ok(Policy::AnyEndpoint) => SubsetFallback::AnyEndpoint,
        Ok(Policy::DefaultSubset) => SubsetFallback::DefaultSubset(default_subset),
        Err(_) => return Err(ConvertError::new("fallback_policy", "unknown value")),
    };
    let mut selectors = Vec::new();
    for (i, mut selector) in std::mem::take(&mut s.subset_selectors)
        .into_iter()
        .enumerate()
    {
        let mut keys = std::mem::take(&mut selector.keys);
        if keys.is_empty() {
            return Err(ConvertError::new(
                format!("subset_selectors[{i}].keys"),
                "must not be empty",
            ));
        }
        keys.sort();
        keys.dedup();
        refuse_leftover(&selector, &format!("subset_selectors[{i}]"))?;
        selectors.push(keys);
    }
    refuse_leftover(&s, "")?;
    if selectors.is_empty() {
        return Err(ConvertError::unsupported(
            "subset_selectors",
            "lb_subset_config without selectors",
        ));
    }
    Ok(Some(LbSubsetConfig {
        selectors,
        fallback,
    }))
}
