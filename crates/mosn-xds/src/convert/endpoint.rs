//! `ClusterLoadAssignment` → the hosts of a cluster.
//!
//! Priority 0 only (the model has no priorities). Hosts whose `health_status` is
//! `UNHEALTHY`, `DRAINING` or `TIMEOUT` are left out, since Envoy does not route to them
//! (except in panic mode, see the cluster converter); `DEGRADED` is refused. Locality
//! weights only matter with `locality_weighted_lb_config`, which the cluster converter
//! refuses, so they need no conversion; nor does `overprovisioning_factor` with a single
//! priority. Labels under `filter_metadata["envoy.lb"]` become the host's subset labels,
//! those under `envoy.transport_socket_match` choose the host's transport socket (see
//! [`super::cluster::ClusterPlan::hosts`]), Istio's `istio` namespace (telemetry only) is a
//! counted no-op, any other namespace is refused.

use super::{refuse_leftover, Context, ConvertError, Result};
use envoy_types::pb::envoy::config::core::v3::address::Address as AddressKind;
use envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier;
use envoy_types::pb::envoy::config::core::v3::{
    Address as EnvoyAddress, HealthStatus, Metadata as EnvoyMetadata,
};
use envoy_types::pb::envoy::config::endpoint::v3::lb_endpoint::HostIdentifier;
use envoy_types::pb::envoy::config::endpoint::v3::{
    ClusterLoadAssignment, LbEndpoint, LocalityLbEndpoints,
};
use envoy_types::pb::google::protobuf::value::Kind;
use mosn_config::model::{Address, HostConfig, Metadata};

/// The namespace of subset labels.
const LB_NAMESPACE: &str = "envoy.lb";
/// The namespace `transport_socket_matches` select on.
pub(crate) const SOCKET_MATCH_NAMESPACE: &str = "envoy.transport_socket_match";
/// Istio's namespace: workload names for telemetry.
const ISTIO_NAMESPACE: &str = "istio";

/// One endpoint: its host and the labels its transport socket is chosen by.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Endpoint {
    /// The host as the model has it (`tls_disable` still false).
    pub(crate) host: HostConfig,
    /// `filter_metadata["envoy.transport_socket_match"]`.
    pub(crate) socket_labels: Metadata,
}

/// The hosts a load assignment lists (EDS, or a cluster's inline `load_assignment`), all
/// with the cluster's transport socket: for a cluster with `transport_socket_matches`
/// use [`super::cluster::ClusterPlan::hosts`], which also sets `tls_disable`.
pub fn endpoints(cla: &ClusterLoadAssignment, ctx: &mut Context<'_>) -> Result<Vec<HostConfig>> {
    let mut hosts: Vec<HostConfig> = lb_endpoints(cla, ctx)?
        .into_iter()
        .map(|e| e.host)
        .collect();
    // Collected in place, the vector would keep the endpoints' larger allocation.
    hosts.shrink_to_fit();
    Ok(hosts)
}

/// The endpoints Envoy would route to, in order.
pub(crate) fn lb_endpoints(
    cla: &ClusterLoadAssignment,
    ctx: &mut Context<'_>,
) -> Result<Vec<Endpoint>> {
    let mut rest = cla.clone();
    rest.cluster_name.clear();
    let localities = std::mem::take(&mut rest.endpoints);
    if let Some(mut policy) = rest.policy.take() {
        // Only the split between priorities (and weighted localities) uses it.
        policy.overprovisioning_factor = None;
        refuse_leftover(&policy, "policy")?;
    }
    refuse_leftover(&rest, "")?;
    let mut out = Vec::new();
    for (i, locality) in localities.into_iter().enumerate() {
        let path = format!("endpoints[{i}]");
        locality_endpoints(locality, ctx, &mut out).map_err(|e| e.within(path))?;
    }
    Ok(out)
}

/// One locality's endpoints, appended to `out`.
fn locality_endpoints(
    mut l: LocalityLbEndpoints,
    ctx: &mut Context<'_>,
    out: &mut Vec<Endpoint>,
) -> Result<()> {
    if l.priority > 0 {
        return Err(ConvertError::unsupported("priority", "priorities above 0"));
    }
    // Without locality-weighted balancing (refused on the cluster) neither changes a pick.
    l.locality = None;
    l.load_balancing_weight = None;
    let endpoints = std::mem::take(&mut l.lb_endpoints);
    refuse_leftover(&l, "")?;
    let mut total: u64 = 0;
    for (i, e) in endpoints.into_iter().enumerate() {
        let path = format!("lb_endpoints[{i}]");
        let Some(endpoint) = lb_endpoint(e, ctx).map_err(|e| e.within(&path))? else {
            continue;
        };
        total += u64::from(endpoint.host.weight);
        if total > u64::from(u32::MAX) {
            return Err(ConvertError::new(
                format!("{path}.load_balancing_weight"),
                "the weights of a locality add up to more than 4294967295",
            ));
        }
        out.push(endpoint);
    }
    Ok(())
}

/// One `LbEndpoint`; `None` when Envoy would not route to it.
fn lb_endpoint(mut e: LbEndpoint, ctx: &mut Context<'_>) -> Result<Option<Endpoint>> {
    let status = HealthStatus::try_from(e.health_status).map_err(|_| {
        ConvertError::new(
            "health_status",
            format!("unknown value {}", e.health_status),
        )
    })?;
    let routed = match status {
        HealthStatus::Unknown | HealthStatus::Healthy => true,
        HealthStatus::Unhealthy | HealthStatus::Draining | HealthStatus::Timeout => false,
        HealthStatus::Degraded => {
            return Err(ConvertError::unsupported("health_status", "DEGRADED hosts"));
        }
    };
    e.health_status = 0;
    let weight = match e.load_balancing_weight.take() {
        None => 1,
        Some(w) if w.value == 0 => {
            return Err(ConvertError::new(
                "load_balancing_weight",
                "must be at least 1",
            ));
        }
        Some(w) => w.value,
    };
    let (labels, socket_labels) = match e.metadata.take() {
        None => Default::default(),
        Some(m) => endpoint_metadata(m, ctx).map_err(|e| e.within("metadata"))?,
    };
    let Some(HostIdentifier::Endpoint(mut endpoint)) = e.host_identifier.take() else {
        return Err(ConvertError::unsupported(
            "endpoint_name",
            "named endpoints",
        ));
    };
    refuse_leftover(&e, "")?;
    let address = endpoint
        .address
        .take()
        .ok_or_else(|| ConvertError::new("endpoint.address", "is required"))?;
    let address = address_of(&address).map_err(|e| e.within("endpoint.address"))?;
    let hostname = std::mem::take(&mut endpoint.hostname);
    // `{}` (Istio sends it) means: check the host's own address.
    if endpoint.health_check_config == Some(Default::default()) {
        endpoint.health_check_config = None;
    }
    refuse_leftover(&endpoint, "endpoint")?;
    if !routed {
        return Ok(None);
    }
    let mut host = HostConfig::new(address, (!hostname.is_empty()).then_some(hostname), weight);
    host.metadata = labels;
    Ok(Some(Endpoint {
        host,
        socket_labels,
    }))
}

/// An endpoint's `socket_address` (an IP literal and a port) or `pipe`.
pub(crate) fn address_of(a: &EnvoyAddress) -> Result<Address> {
    match &a.address {
        Some(AddressKind::SocketAddress(s)) => {
            let mut rest = s.clone();
            let ip = std::mem::take(&mut rest.address);
            let port = match rest.port_specifier.take() {
                Some(PortSpecifier::PortValue(p)) => u16::try_from(p).map_err(|_| {
                    ConvertError::new("socket_address.port_value", format!("{p} is not a port"))
                })?,
                Some(PortSpecifier::NamedPort(_)) => {
                    return Err(ConvertError::unsupported(
                        "socket_address.named_port",
                        "named ports",
                    ));
                }
                None => 0,
            };
            refuse_leftover(&rest, "socket_address")?;
            let ip = ip.parse().map_err(|_| {
                ConvertError::new(
                    "socket_address.address",
                    format!("{ip:?} is not an IP address"),
                )
            })?;
            Ok(Address::Tcp(std::net::SocketAddr::new(ip, port)))
        }
        Some(AddressKind::Pipe(p)) if p.mode == 0 => Ok(Address::Unix(p.path.clone().into())),
        Some(AddressKind::Pipe(_)) => Err(ConvertError::unsupported("pipe.mode", "pipe modes")),
        Some(AddressKind::EnvoyInternalAddress(_)) => Err(ConvertError::unsupported(
            "envoy_internal_address",
            "internal listeners",
        )),
        None => Err(ConvertError::new("", "no address set")),
    }
}

/// `filter_metadata`: subset labels and transport socket labels.
fn endpoint_metadata(m: EnvoyMetadata, ctx: &mut Context<'_>) -> Result<(Metadata, Metadata)> {
    if !m.typed_filter_metadata.is_empty() {
        return Err(ConvertError::unsupported(
            "typed_filter_metadata",
            "typed host metadata",
        ));
    }
    let mut lb = Metadata::default();
    let mut socket = Metadata::default();
    for (namespace, value) in m.filter_metadata {
        let path = format!("filter_metadata[{namespace:?}]");
        match namespace.as_str() {
            LB_NAMESPACE => lb = string_labels(&value).map_err(|e| e.within(&path))?,
            SOCKET_MATCH_NAMESPACE => {
                socket = string_labels(&value).map_err(|e| e.within(&path))?
            }
            ISTIO_NAMESPACE => ctx.ignore("endpoint.metadata.istio"),
            _ => {
                return Err(ConvertError::unsupported(
                    path,
                    format!("host metadata {namespace:?}"),
                ));
            }
        }
    }
    Ok((lb, socket))
}

/// A `Struct` of strings as labels; other values are refused (the model's labels are
/// strings).
pub(crate) fn string_labels(s: &envoy_types::pb::google::protobuf::Struct) -> Result<Metadata> {
    s.fields
        .iter()
        .map(|(k, v)| match &v.kind {
            Some(Kind::StringValue(text)) => Ok((k.clone(), text.clone())),
            _ => Err(ConvertError::unsupported(
                k.as_str(),
                "label values other than strings",
            )),
        })
        .collect::<Result<Vec<_>>>()
        .map(Metadata::new)
}
