//! An Envoy v3 bootstrap (JSON or YAML) as mosn's start-up configuration: what
//! `mosn start -c FILE`, `mosn envoy -c FILE` and a binary named `envoy` run from.
//!
//! [`load`] reads the file, merges `--config-yaml` over it as Envoy does, and turns it
//! into a [`BootstrapPlan`]: the node, the admin address, the static listeners and
//! clusters as one [`Batch`] (converted by [`crate::convert`]), the static secrets, and
//! how to reach the control plane (ADS, and the clusters SDS may use). Every bootstrap
//! field is converted, accepted as a counted no-op when it changes only observability, or
//! refused by its path ([`policy`]), so a bootstrap mosn cannot honour fails the start with
//! a message naming the field.

mod policy;

use crate::ads::AdsSettings;
use crate::convert::cluster::ClusterPlan;
use crate::convert::endpoint::address_of;
use crate::convert::{duration, Context, ConvertError, Result};
use envoy_types::pb::envoy::config::bootstrap::v3::{bootstrap, Admin, Bootstrap};
use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::core::v3::{
    api_config_source::ApiType, config_source, grpc_service, node, ApiConfigSource, ApiVersion,
    ConfigSource, Node,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::Secret;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::{
    http_protocol_options::{explicit_http_config::ProtocolConfig, UpstreamProtocolOptions},
    HttpProtocolOptions,
};
use mosn_config::model::{Address, TlsContextConfig};
use mosn_config::resources::{Batch, Resource};
use prost::{Message, Name};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

/// Top-level keys only MOSN's configuration has (lower case: MOSN matches keys
/// case-insensitively).
const MOSN_ONLY_KEYS: &[&str] = &[
    "servers",
    "pid",
    "certificates",
    "metrics",
    "pprof",
    "extends",
    "third_part_codec",
    "wasm_global_plugins",
    "plugin",
    "uds_dir",
    "disable_upgrade",
    "close_graceful",
    "inherit_old_mosnconfig",
];

/// Keys of MOSN's `cluster_manager` (Envoy's `cluster_manager` has none of them).
const MOSN_CLUSTER_MANAGER_KEYS: &[&str] = &[
    "clusters",
    "clusters_configs",
    "auto_discovery",
    "registry_use_health_check",
    "tls_context",
];

/// Tells an Envoy bootstrap from a MOSN configuration, so `mosn start -c FILE` runs
/// either. The rule, on the parsed document's top-level keys:
///
/// 1. a key only MOSN has (`servers`, `pid`, `certificates`, `metrics`, ... in any case),
///    or a `cluster_manager` with MOSN's `clusters`/`clusters_configs`: MOSN;
/// 2. otherwise, any `Bootstrap` field (`static_resources`, `dynamic_resources`, `node`,
///    `admin`, `layered_runtime`, ... by proto or JSON name): an Envoy bootstrap;
/// 3. otherwise (not an object, or no key either knows): MOSN, whose loader then says
///    what is wrong.
///
/// A document with only keys both share (`admin`, `tracing`) is read as a bootstrap:
/// both mean the same process with an admin API and no listeners.
pub fn is_bootstrap(document: &serde_json::Value) -> bool {
    let Some(object) = document.as_object() else {
        return false;
    };
    let mosn = object.iter().any(|(key, value)| is_mosn_key(key, value));
    !mosn && object.keys().any(|key| is_bootstrap_field(key))
}

/// Whether a top-level key and its value belong to MOSN's format only.
fn is_mosn_key(key: &str, value: &serde_json::Value) -> bool {
    let key = key.to_ascii_lowercase();
    if key == "cluster_manager" {
        return value.as_object().is_some_and(|m| {
            m.keys()
                .any(|k| MOSN_CLUSTER_MANAGER_KEYS.contains(&k.to_ascii_lowercase().as_str()))
        });
    }
    MOSN_ONLY_KEYS.contains(&key.as_str())
}

/// Whether `key` is a field of `Bootstrap`, by its proto or its JSON (camelCase) name.
fn is_bootstrap_field(key: &str) -> bool {
    crate::proto::pool()
        .get_message_by_name(&Bootstrap::full_name())
        .is_some_and(|d| {
            d.get_field_by_name(key).is_some() || d.get_field_by_json_name(key).is_some()
        })
}

/// What the command line adds to the file (Envoy's flags of the same names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `--config-yaml`: a bootstrap merged over the file's (proto `MergeFrom`: lists
    /// append, messages merge, set scalars replace), or the whole bootstrap without a file.
    pub config_yaml: Option<String>,
    /// `--allow-unknown-static-fields`: unknown fields are dropped instead of refused.
    pub allow_unknown_static_fields: bool,
    /// `--service-cluster`: replaces `node.cluster` (Envoy's rule: the flag wins).
    pub service_cluster: Option<String>,
    /// `--service-node`: replaces `node.id`.
    pub service_node: Option<String>,
}

/// Why a bootstrap cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BootstrapError {
    /// The text is not JSON/YAML, or not a `Bootstrap` (a field Envoy does not know, a
    /// value of the wrong type). `origin` is `bootstrap` or `--config-yaml`.
    #[error("{origin}: {reason}")]
    Syntax {
        /// Which document.
        origin: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// A field mosn cannot honour, by its path from the bootstrap's root
    /// (`static_resources.clusters[0].type`).
    #[error("{0}")]
    Refused(ConvertError),
}

/// A static cluster a gRPC stream to a management server can use: STATIC, its endpoints
/// inline, HTTP/2. The ADS cluster is one; SDS names one per secret source.
#[derive(Debug, Clone, PartialEq)]
pub struct GrpcSource {
    /// The cluster's name.
    pub cluster: String,
    /// Its endpoints (TCP or Unix socket), tried in order.
    pub addresses: Vec<Address>,
    /// Its upstream TLS (`transport_socket`), if any.
    pub tls: Option<TlsContextConfig>,
    /// Its `connect_timeout`.
    pub connect_timeout: Duration,
}

/// Everything a bootstrap asks for, ready for the server to start from.
#[derive(Debug, Clone)]
pub struct BootstrapPlan {
    /// The bootstrap as merged (`--config-yaml`, node flags), for `/config_dump`.
    pub bootstrap: Bootstrap,
    /// `node`, as sent to the control plane.
    pub node: Node,
    /// `admin.address`; `None` when the bootstrap has no admin (Envoy then runs none).
    pub admin: Option<SocketAddr>,
    /// The static clusters, their inline route tables and the static listeners.
    pub resources: Batch,
    /// `static_resources.secrets`, by name: the converters resolved SDS names against
    /// them; the SDS client adds the ones it fetches.
    pub secrets: HashMap<String, Secret>,
    /// `dynamic_resources` with an `ads_config`: the ADS stream to open.
    pub ads: Option<AdsSettings>,
    /// The static clusters an SDS `api_config_source` (GRPC, `envoy_grpc.cluster_name`)
    /// may name, by cluster name: every STATIC HTTP/2 cluster (Istio's is `sds-grpc`).
    /// Secrets come over an SDS stream of their own to that cluster.
    pub sds: BTreeMap<String, GrpcSource>,
    /// Load assignments the static EDS clusters need (over ADS).
    pub eds: BTreeSet<String>,
    /// Route configurations the static listeners name over RDS.
    pub rds: BTreeSet<String>,
    /// Secrets the static resources name that are not static: they warm until SDS
    /// delivers them.
    pub missing_secrets: BTreeSet<String>,
    /// Fields accepted without effect, with how often: the `xds_ignored` counters.
    pub ignored: BTreeMap<&'static str, u64>,
}

/// Reads a bootstrap (`text`, JSON or YAML; empty when there is only `--config-yaml`) and
/// plans the start from it.
pub fn load(
    text: &str,
    options: &LoadOptions,
) -> std::result::Result<BootstrapPlan, BootstrapError> {
    let allow_unknown = options.allow_unknown_static_fields;
    let mut bootstrap = read(text, "bootstrap", allow_unknown)?;
    if let Some(yaml) = &options.config_yaml {
        let over = read(yaml, "--config-yaml", allow_unknown)?;
        merge(&mut bootstrap, &over)?;
    }
    set_node(&mut bootstrap, options);
    plan(bootstrap).map_err(BootstrapError::Refused)
}

/// One document as a `Bootstrap`; a blank one is empty.
fn read(
    text: &str,
    origin: &'static str,
    allow_unknown: bool,
) -> std::result::Result<Bootstrap, BootstrapError> {
    let syntax = |reason: String| BootstrapError::Syntax { origin, reason };
    if text.trim().is_empty() {
        return Ok(Bootstrap::default());
    }
    let mut document = crate::proto::parse_document(text).map_err(syntax)?;
    unwrap_typed_structs(&mut document);
    crate::proto::from_json(&document, allow_unknown).map_err(|e| syntax(e.to_string()))
}

/// The `@type`s of a `TypedStruct` (Istio's bootstrap wraps `internal_listener` in one).
const TYPED_STRUCT_URLS: [&str; 2] = [
    "type.googleapis.com/udpa.type.v1.TypedStruct",
    "type.googleapis.com/xds.type.v3.TypedStruct",
];

/// Rewrites every `Any` that is a `TypedStruct` into the typed message it stands for
/// (`{"@type": type_url, ...value}`), which is how Envoy reads one: the descriptor pool
/// has no `TypedStruct`, and the inner message is then checked against its own type.
fn unwrap_typed_structs(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(object) => {
            let typed_struct = object
                .get("@type")
                .and_then(|t| t.as_str())
                .is_some_and(|t| TYPED_STRUCT_URLS.contains(&t));
            if typed_struct {
                let inner = object.remove("type_url").unwrap_or_default();
                let fields = match object.remove("value") {
                    Some(serde_json::Value::Object(fields)) => fields,
                    _ => serde_json::Map::new(),
                };
                *object = fields;
                object.insert("@type".to_owned(), inner);
            }
            object.values_mut().for_each(unwrap_typed_structs);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(unwrap_typed_structs),
        _ => {}
    }
}

/// Envoy's `bootstrap.MergeFrom(config_yaml)`: protobuf's merge is exactly decoding the
/// second message's bytes over the first.
fn merge(bootstrap: &mut Bootstrap, over: &Bootstrap) -> std::result::Result<(), BootstrapError> {
    bootstrap
        .merge(over.encode_to_vec().as_slice())
        .map_err(|e| BootstrapError::Syntax {
            origin: "--config-yaml",
            reason: e.to_string(),
        })
}

/// The node flags (they replace the file's values, as in Envoy), and mosn as the user
/// agent when the bootstrap names none (Envoy always names itself).
fn set_node(bootstrap: &mut Bootstrap, options: &LoadOptions) {
    let node = bootstrap.node.get_or_insert_with(Node::default);
    if let Some(cluster) = &options.service_cluster {
        node.cluster.clone_from(cluster);
    }
    if let Some(id) = &options.service_node {
        node.id.clone_from(id);
    }
    if node.user_agent_name.is_empty() {
        node.user_agent_name = "mosn".to_owned();
    }
    if node.user_agent_version_type.is_none() {
        node.user_agent_version_type = Some(node::UserAgentVersionType::UserAgentVersion(
            env!("CARGO_PKG_VERSION").to_owned(),
        ));
    }
}

/// The plan of a merged bootstrap.
fn plan(bootstrap: Bootstrap) -> Result<BootstrapPlan> {
    let no_statics = bootstrap::StaticResources::default();
    let statics = bootstrap.static_resources.as_ref().unwrap_or(&no_statics);
    let secrets = static_secrets(&statics.secrets)?;
    let mut ctx = Context::with_secrets(&secrets);
    policy::check(&bootstrap, &mut ctx)?;
    let admin = admin_address(bootstrap.admin.as_ref())?;
    let converted = convert_statics(statics, &mut ctx)?;
    let node = bootstrap.node.clone().unwrap_or_default();
    let sds = grpc_sources(&statics.clusters, &converted.clusters);
    let dynamic = bootstrap.dynamic_resources.as_ref();
    let ads = ads_settings(dynamic, &statics.clusters, &converted.clusters, &node)?;
    require_ads(ads.as_ref(), &converted)?;
    let Context {
        ignored,
        missing_secrets,
        ..
    } = ctx;
    Ok(BootstrapPlan {
        bootstrap,
        node,
        admin,
        resources: converted.batch,
        secrets,
        ads,
        sds,
        eds: converted.eds,
        rds: converted.rds,
        missing_secrets,
        ignored,
    })
}

/// Static EDS clusters and RDS listeners get their hosts and routes over ADS only.
fn require_ads(ads: Option<&AdsSettings>, statics: &Statics) -> Result<()> {
    match (ads, &statics.needs_ads) {
        (None, Some(path)) => Err(ConvertError::new(
            path.as_str(),
            "its EDS or RDS comes over ADS, but there is no dynamic_resources.ads_config",
        )),
        _ => Ok(()),
    }
}

/// Refuses the second of two resources of one kind with the same name, at its `name`.
fn unique<'a>(names: impl Iterator<Item = &'a str>, list: &str, kind: &str) -> Result<()> {
    let mut seen = BTreeSet::new();
    for (i, name) in names.enumerate() {
        if !seen.insert(name) {
            return Err(ConvertError::new(
                format!("{list}[{i}].name"),
                format!("duplicate {kind} name {name:?}"),
            ));
        }
    }
    Ok(())
}

/// `static_resources.secrets` by name.
fn static_secrets(secrets: &[Secret]) -> Result<HashMap<String, Secret>> {
    let names = secrets.iter().map(|s| s.name.as_str());
    unique(names, "static_resources.secrets", "secret")?;
    Ok(secrets
        .iter()
        .map(|s| (s.name.clone(), s.clone()))
        .collect())
}

/// `admin.address`: a TCP socket address (mosn's admin API listens on TCP only).
fn admin_address(admin: Option<&Admin>) -> Result<Option<SocketAddr>> {
    let Some(address) = admin.and_then(|a| a.address.as_ref()) else {
        return Ok(None);
    };
    match address_of(address).map_err(|e| e.within("admin.address"))? {
        Address::Tcp(socket) => Ok(Some(socket)),
        Address::Unix(_) => Err(ConvertError::unsupported(
            "admin.address.pipe",
            "an admin API on a Unix socket",
        )),
    }
}

/// The static resources, converted.
struct Statics {
    /// Clusters, inline route tables, listeners.
    batch: Batch,
    /// Each static cluster's plan, in the bootstrap's order.
    clusters: Vec<ClusterPlan>,
    /// Load assignments the EDS clusters need.
    eds: BTreeSet<String>,
    /// Route configurations the listeners name over RDS.
    rds: BTreeSet<String>,
    /// The first resource whose EDS or RDS needs the ADS stream, by its path.
    needs_ads: Option<String>,
}

/// Converts the static clusters and listeners; an error names its resource by its index.
fn convert_statics(statics: &bootstrap::StaticResources, ctx: &mut Context<'_>) -> Result<Statics> {
    let cluster_names = statics.clusters.iter().map(|c| c.name.as_str());
    unique(cluster_names, "static_resources.clusters", "cluster")?;
    let listener_names = statics.listeners.iter().map(|l| l.name.as_str());
    unique(listener_names, "static_resources.listeners", "listener")?;
    let mut out = Statics {
        batch: Batch::default(),
        clusters: Vec::new(),
        eds: BTreeSet::new(),
        rds: BTreeSet::new(),
        needs_ads: None,
    };
    for (i, cluster) in statics.clusters.iter().enumerate() {
        let path = format!("static_resources.clusters[{i}]");
        let plan = crate::convert::cluster::cluster(cluster, ctx).map_err(|e| e.within(&path))?;
        if plan.eds.is_some() {
            out.needs_ads.get_or_insert(path);
        }
        out.eds.extend(plan.eds.clone());
        out.batch
            .upserts
            .push(Resource::Cluster(Box::new(plan.cluster.clone())));
        out.clusters.push(plan);
    }
    for (i, listener) in statics.listeners.iter().enumerate() {
        let path = format!("static_resources.listeners[{i}]");
        let plan =
            crate::convert::listener::listener(listener, ctx).map_err(|e| e.within(&path))?;
        if !plan.rds.is_empty() {
            out.needs_ads.get_or_insert(path);
        }
        out.rds.extend(plan.rds);
        let routes = plan.inline_routes.into_iter().map(Resource::Router);
        out.batch.upserts.extend(routes);
        out.batch.upserts.push(Resource::Listener(plan.listener));
    }
    Ok(out)
}

/// Every static cluster a gRPC stream can use, by name.
fn grpc_sources(clusters: &[Cluster], plans: &[ClusterPlan]) -> BTreeMap<String, GrpcSource> {
    clusters
        .iter()
        .zip(plans)
        .filter_map(|(cluster, plan)| grpc_source(cluster, plan).ok())
        .map(|source| (source.cluster.clone(), source))
        .collect()
}

/// The static cluster `cluster` as a gRPC source; the error says why it cannot be one,
/// its path from the cluster.
fn grpc_source(cluster: &Cluster, plan: &ClusterPlan) -> Result<GrpcSource> {
    if !speaks_http2(cluster) {
        return Err(ConvertError::new(
            "",
            format!(
                "the gRPC cluster {:?} must speak HTTP/2: set typed_extension_protocol_options' \
                 HttpProtocolOptions explicit_http_config.http2_protocol_options",
                cluster.name
            ),
        ));
    }
    let hosts = &plan.cluster.hosts;
    if plan.eds.is_some() || plan.cluster.dns.is_some() || hosts.is_empty() {
        return Err(ConvertError::new(
            "",
            format!(
                "the gRPC cluster {:?} must be STATIC with its endpoints in load_assignment",
                cluster.name
            ),
        ));
    }
    Ok(GrpcSource {
        cluster: cluster.name.clone(),
        addresses: hosts.iter().map(|h| h.address.clone()).collect(),
        tls: plan.cluster.tls.as_deref().cloned(),
        connect_timeout: plan.cluster.connect_timeout,
    })
}

/// The ADS client (`crate::ads`) does not set TCP keepalive, so the ADS cluster may have
/// `tcp_keepalive` only over Unix sockets, where it has no TCP to act on (Istio's
/// `xds-grpc` reaches the agent over one). The SDS client sets none either, and which
/// source it uses is chosen after loading: an SDS cluster over TCP with keepalive streams
/// without it (Istio's `sds-grpc` is a Unix socket).
fn keepalive_over_unix_only(source: &GrpcSource, plan: &ClusterPlan) -> Result<()> {
    let tcp = source
        .addresses
        .iter()
        .any(|a| matches!(a, Address::Tcp(_)));
    if plan.cluster.tcp_keepalive.is_some() && tcp {
        return Err(ConvertError::unsupported(
            "upstream_connection_options.tcp_keepalive",
            "TCP keepalive on a gRPC stream to the control plane over TCP",
        ));
    }
    Ok(())
}

/// Whether the cluster's upstream protocol is HTTP/2: `typed_extension_protocol_options`'
/// `HttpProtocolOptions` with `explicit_http_config.http2_protocol_options`, or the
/// deprecated `http2_protocol_options`.
fn speaks_http2(cluster: &Cluster) -> bool {
    #[allow(deprecated)]
    let legacy = cluster.http2_protocol_options.is_some();
    let typed = cluster
        .typed_extension_protocol_options
        .get("envoy.extensions.upstreams.http.v3.HttpProtocolOptions")
        .and_then(|any| crate::convert::unpack::<HttpProtocolOptions>(any, "").ok())
        .and_then(|o| o.upstream_protocol_options)
        .is_some_and(|o| match o {
            UpstreamProtocolOptions::ExplicitHttpConfig(explicit) => matches!(
                explicit.protocol_config,
                Some(ProtocolConfig::Http2ProtocolOptions(_))
            ),
            _ => false,
        });
    legacy || typed
}

/// Where `dynamic_resources.ads_config` is, for errors.
const ADS_CONFIG: &str = "dynamic_resources.ads_config";

/// `dynamic_resources`: the ADS stream, if there is one.
fn ads_settings(
    dynamic: Option<&bootstrap::DynamicResources>,
    clusters: &[Cluster],
    plans: &[ClusterPlan],
    node: &Node,
) -> Result<Option<AdsSettings>> {
    let Some(dynamic) = dynamic else {
        return Ok(None);
    };
    let lds = over_ads(dynamic.lds_config.as_ref(), "dynamic_resources.lds_config")?;
    let cds = over_ads(dynamic.cds_config.as_ref(), "dynamic_resources.cds_config")?;
    let initial_fetch_timeout = initial_fetch_timeout(lds, cds)?;
    let Some(ads) = &dynamic.ads_config else {
        return match (lds, cds) {
            (Some(_), _) | (_, Some(_)) => Err(ConvertError::new(
                ADS_CONFIG,
                "lds_config/cds_config use ads, but there is no ads_config",
            )),
            _ => Ok(None),
        };
    };
    let delta = delta(ads)?;
    let (cluster_name, call_timeout) = grpc_cluster(ads)?;
    let source = find_source(&cluster_name, clusters, plans)?;
    Ok(Some(AdsSettings {
        delta,
        cluster_name,
        addresses: source.addresses,
        tls: source.tls,
        node: node.clone(),
        node_on_first_message_only: ads.set_node_on_first_message_only,
        lds: lds.is_some(),
        cds: cds.is_some(),
        initial_fetch_timeout,
        connect_timeout: call_timeout.unwrap_or(source.connect_timeout),
    }))
}

/// A config source that is `ads: {}` (the policy refuses the other kinds by name):
/// `Some(initial_fetch_timeout)`, `None` when absent.
fn over_ads(source: Option<&ConfigSource>, path: &str) -> Result<Option<Option<Duration>>> {
    let Some(source) = source else {
        return Ok(None);
    };
    version(
        source.resource_api_version,
        &format!("{path}.resource_api_version"),
    )?;
    if !matches!(
        source.config_source_specifier,
        Some(config_source::ConfigSourceSpecifier::Ads(_))
    ) {
        return Err(ConvertError::new(
            path,
            "names no config source: set `ads: {}`",
        ));
    }
    let timeout = source.initial_fetch_timeout.as_ref();
    let timeout = timeout
        .map(|d| duration(d, &format!("{path}.initial_fetch_timeout")))
        .transpose()?;
    Ok(Some(timeout))
}

/// Envoy's `initial_fetch_timeout` when a config source sets none.
const DEFAULT_INITIAL_FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// mosn has one initial fetch timeout for the stream: `lds_config` and `cds_config` may
/// set it, but not to different values. Unset is Envoy's 15 s; `0s` is no timeout
/// (`None`: warming resources wait for as long as it takes).
fn initial_fetch_timeout(
    lds: Option<Option<Duration>>,
    cds: Option<Option<Duration>>,
) -> Result<Option<Duration>> {
    match (lds.flatten(), cds.flatten()) {
        (Some(l), Some(c)) if l != c => Err(ConvertError::new(
            "dynamic_resources.lds_config.initial_fetch_timeout",
            "differs from cds_config's: mosn has one initial fetch timeout for ADS",
        )),
        (l, c) => Ok(match c.or(l) {
            None => Some(DEFAULT_INITIAL_FETCH_TIMEOUT),
            Some(Duration::ZERO) => None,
            Some(timeout) => Some(timeout),
        }),
    }
}

/// `AUTO` (unset) or `V3`: mosn speaks xDS v3 only.
fn version(value: i32, path: &str) -> Result<()> {
    match ApiVersion::try_from(value) {
        Ok(ApiVersion::Auto | ApiVersion::V3) => Ok(()),
        _ => Err(ConvertError::new(path, "only V3 is supported by mosn")),
    }
}

/// `api_type`: `DELTA_GRPC` (true) or `GRPC` (false).
fn delta(ads: &ApiConfigSource) -> Result<bool> {
    version(
        ads.transport_api_version,
        &format!("{ADS_CONFIG}.transport_api_version"),
    )?;
    match ads.api_type() {
        ApiType::Grpc => Ok(false),
        ApiType::DeltaGrpc => Ok(true),
        other => Err(ConvertError::new(
            format!("{ADS_CONFIG}.api_type"),
            format!(
                "{} is not supported by mosn: use GRPC or DELTA_GRPC",
                other.as_str_name()
            ),
        )),
    }
}

/// The one `grpc_services` entry: its `envoy_grpc.cluster_name` and `timeout`.
fn grpc_cluster(ads: &ApiConfigSource) -> Result<(String, Option<Duration>)> {
    let path = format!("{ADS_CONFIG}.grpc_services");
    let [service] = ads.grpc_services.as_slice() else {
        return Err(ConvertError::new(
            path,
            format!(
                "must name exactly one gRPC service, not {}",
                ads.grpc_services.len()
            ),
        ));
    };
    let Some(grpc_service::TargetSpecifier::EnvoyGrpc(envoy)) = &service.target_specifier else {
        return Err(ConvertError::new(
            format!("{path}[0]"),
            "names no envoy_grpc cluster",
        ));
    };
    let timeout = service.timeout.as_ref();
    let timeout = timeout
        .map(|d| duration(d, &format!("{path}[0].timeout")))
        .transpose()?;
    Ok((envoy.cluster_name.clone(), timeout))
}

/// The static cluster the ADS config names, as a gRPC source.
fn find_source(name: &str, clusters: &[Cluster], plans: &[ClusterPlan]) -> Result<GrpcSource> {
    let mut named = clusters.iter().zip(plans).enumerate();
    let Some((i, (cluster, plan))) = named.find(|(_, (c, _))| c.name == name) else {
        return Err(ConvertError::new(
            format!("{ADS_CONFIG}.grpc_services[0].envoy_grpc.cluster_name"),
            format!("no static cluster is named {name:?}"),
        ));
    };
    grpc_source(cluster, plan)
        .and_then(|source| keepalive_over_unix_only(&source, plan).map(|()| source))
        .map_err(|e| e.within(format!("static_resources.clusters[{i}]")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_mosn_only_key_in_any_case_makes_a_mosn_config() {
        assert!(!is_bootstrap(&json!({"Servers": [], "admin": {}})));
        assert!(!is_bootstrap(&json!({"pid": "/tmp/x", "node": {}})));
        let mosn_clusters = json!({"cluster_manager": {"clusters": []}, "admin": {}});
        assert!(!is_bootstrap(&mosn_clusters));
    }

    #[test]
    fn bootstrap_fields_by_proto_or_json_name_make_a_bootstrap() {
        assert!(is_bootstrap(&json!({"static_resources": {}})));
        assert!(is_bootstrap(&json!({"dynamicResources": {}})));
        let envoy_cluster_manager = json!({"cluster_manager": {"outlier_detection": {}}});
        assert!(is_bootstrap(&envoy_cluster_manager));
        assert!(is_bootstrap(&json!({"admin": {"address": {}}})));
    }

    #[test]
    fn documents_neither_format_knows_are_left_to_mosn() {
        assert!(!is_bootstrap(&json!({"foo": 1})));
        assert!(!is_bootstrap(&json!([1])));
        assert!(!is_bootstrap(&json!(null)));
    }

    #[test]
    fn typed_struct_becomes_the_typed_message_it_wraps() {
        let mut any = json!([{"typed_config": {
            "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
            "type_url": "type.googleapis.com/a.B",
            "value": {"x": 1}
        }}]);
        unwrap_typed_structs(&mut any);
        let expected = json!([{"typed_config": {"@type": "type.googleapis.com/a.B", "x": 1}}]);
        assert_eq!(any, expected);
    }

    #[test]
    fn one_initial_fetch_timeout_from_either_source_or_refused_when_they_differ() {
        let s = Duration::from_secs;
        assert_eq!(
            initial_fetch_timeout(Some(Some(s(1))), Some(None)),
            Ok(Some(s(1)))
        );
        assert_eq!(
            initial_fetch_timeout(None, Some(Some(s(2)))),
            Ok(Some(s(2)))
        );
        assert_eq!(
            initial_fetch_timeout(Some(None), None),
            Ok(Some(DEFAULT_INITIAL_FETCH_TIMEOUT)),
            "unset is Envoy's 15 s"
        );
        assert_eq!(
            initial_fetch_timeout(Some(Some(s(0))), Some(Some(s(0)))),
            Ok(None),
            "0s waits forever"
        );
        assert!(initial_fetch_timeout(Some(Some(s(1))), Some(Some(s(2)))).is_err());
    }
}
