//! What mosn does with every field of an Envoy bootstrap: one row per field, so a field is
//! read by the loader, accepted as a counted no-op (it changes only what is observed:
//! stats, logs, traces, profiling), or refused by name. A field without a row is refused:
//! a new Envoy field never slips through unnoticed.
//!
//! A few fields are accepted or refused by their values (runtime keys, overload resource
//! monitors, bootstrap extensions); those checks are here too.

use crate::convert::{config_type, unpack, Context, ConvertError, Result};
use envoy_types::pb::envoy::config::bootstrap::v3::{runtime_layer, Bootstrap};
use envoy_types::pb::envoy::config::core::v3::TypedExtensionConfig;
use envoy_types::pb::envoy::config::overload::v3::{resource_monitor, ResourceMonitor};
use envoy_types::pb::envoy::extensions::bootstrap::internal_listener::v3::InternalListener;
use envoy_types::pb::envoy::extensions::resource_monitors::downstream_connections::v3::DownstreamConnectionsConfig;
use envoy_types::pb::google::protobuf::{value::Kind, Struct};
use prost::Name;
use prost_reflect::{DynamicMessage, Value};

/// What mosn does with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Treatment {
    /// Read by the loader, which refuses the values it cannot honour.
    Read,
    /// Accepted without effect (observability only), counted under the row's name.
    Ignored,
    /// A message whose fields have rows of their own.
    Nested,
    /// A message whose fields have rows under another name (one message type used in
    /// several places: `lds_config` and `cds_config` are both a `config_source`).
    As(&'static str),
    /// Refused, with why.
    Refused(&'static str),
}

use Treatment::{As, Ignored, Nested, Read, Refused};

const XDSTP: &str = "xDS-TP (xdstp://) naming is not supported by mosn";
const ONLY_ADS: &str = "mosn takes listeners and clusters over ADS only (`ads: {}`)";
const DNS: &str = "DNS resolver settings are not supported by mosn";
const WATCHDOG_KILL: &str = "a watchdog that kills the process is not supported by mosn";
const REST: &str = "REST config sources are not supported by mosn";

/// Every bootstrap field, by its path from the root without list indices. The rows are
/// the policy the report and the docs list.
pub(crate) const FIELDS: &[(&str, Treatment)] = &[
    ("node", Read),
    ("node_context_params", Refused(XDSTP)),
    ("static_resources", Nested),
    ("static_resources.listeners", Read),
    ("static_resources.clusters", Read),
    ("static_resources.secrets", Read),
    ("dynamic_resources", Nested),
    ("dynamic_resources.lds_config", As("config_source")),
    ("dynamic_resources.cds_config", As("config_source")),
    ("dynamic_resources.lds_resources_locator", Refused(XDSTP)),
    ("dynamic_resources.cds_resources_locator", Refused(XDSTP)),
    ("dynamic_resources.ads_config", Nested),
    ("dynamic_resources.ads_config.api_type", Read),
    ("dynamic_resources.ads_config.transport_api_version", Read),
    (
        "dynamic_resources.ads_config.set_node_on_first_message_only",
        Read,
    ),
    ("dynamic_resources.ads_config.grpc_services", Nested),
    (
        "dynamic_resources.ads_config.grpc_services.envoy_grpc",
        Nested,
    ),
    (
        "dynamic_resources.ads_config.grpc_services.envoy_grpc.cluster_name",
        Read,
    ),
    ("dynamic_resources.ads_config.grpc_services.timeout", Read),
    (
        "dynamic_resources.ads_config.grpc_services.google_grpc",
        Refused("the Google gRPC client is not supported by mosn: use envoy_grpc"),
    ),
    ("dynamic_resources.ads_config.cluster_names", Refused(REST)),
    ("dynamic_resources.ads_config.refresh_delay", Refused(REST)),
    (
        "dynamic_resources.ads_config.request_timeout",
        Refused(REST),
    ),
    (
        "dynamic_resources.ads_config.rate_limit_settings",
        Refused("rate limiting xDS requests is not supported by mosn"),
    ),
    ("config_source.ads", Read),
    ("config_source.initial_fetch_timeout", Read),
    ("config_source.resource_api_version", Read),
    ("config_source.path", Refused(ONLY_ADS)),
    ("config_source.path_config_source", Refused(ONLY_ADS)),
    ("config_source.api_config_source", Refused(ONLY_ADS)),
    ("config_source.self", Refused(ONLY_ADS)),
    ("config_source.authorities", Refused(XDSTP)),
    ("cluster_manager", Nested),
    ("cluster_manager.outlier_detection", Nested),
    ("cluster_manager.outlier_detection.event_log_path", Ignored),
    ("cluster_manager.outlier_detection.event_service", Ignored),
    ("cluster_manager.enable_deferred_cluster_creation", Ignored),
    (
        "cluster_manager.local_cluster_name",
        Refused("zone-aware routing (local_cluster_name) is not supported by mosn"),
    ),
    (
        "cluster_manager.load_stats_config",
        Refused("load reporting (LRS) is not supported by mosn"),
    ),
    (
        "cluster_manager.upstream_bind_config",
        Refused("a source address for upstream connections is not supported by mosn"),
    ),
    (
        "hds_config",
        Refused("health discovery (HDS) is not supported by mosn"),
    ),
    (
        "flags_path",
        Refused("flag files are not supported by mosn"),
    ),
    ("stats_sinks", Ignored),
    ("stats_config", Ignored),
    ("stats_flush_interval", Ignored),
    ("stats_flush_on_admin", Ignored),
    ("stats_eviction_interval", Ignored),
    ("deferred_stat_options", Ignored),
    ("stats_server_version_override", Ignored),
    ("enable_dispatcher_stats", Ignored),
    ("watchdog", As("watchdog")),
    ("watchdogs", Nested),
    ("watchdogs.main_thread_watchdog", As("watchdog")),
    ("watchdogs.worker_watchdog", As("watchdog")),
    ("watchdog.miss_timeout", Ignored),
    ("watchdog.megamiss_timeout", Ignored),
    ("watchdog.kill_timeout", Refused(WATCHDOG_KILL)),
    ("watchdog.multikill_timeout", Refused(WATCHDOG_KILL)),
    ("watchdog.multikill_threshold", Refused(WATCHDOG_KILL)),
    (
        "watchdog.actions",
        Refused("watchdog actions are not supported by mosn"),
    ),
    ("tracing", Ignored),
    ("layered_runtime", Nested),
    ("layered_runtime.layers", Nested),
    ("layered_runtime.layers.name", Read),
    ("layered_runtime.layers.static_layer", Read),
    ("layered_runtime.layers.admin_layer", Ignored),
    (
        "layered_runtime.layers.disk_layer",
        Refused("a runtime read from disk is not supported by mosn"),
    ),
    (
        "layered_runtime.layers.rtds_layer",
        Refused("runtime discovery (RTDS) is not supported by mosn"),
    ),
    ("admin", Nested),
    ("admin.address", Read),
    ("admin.access_log", Ignored),
    ("admin.access_log_path", Ignored),
    ("admin.profile_path", Ignored),
    ("admin.ignore_global_conn_limit", Ignored),
    (
        "admin.allow_paths",
        Refused("restricting the admin endpoints is not supported by mosn"),
    ),
    (
        "admin.socket_options",
        Refused("socket options on the admin listener are not supported by mosn"),
    ),
    ("overload_manager", Nested),
    ("overload_manager.refresh_interval", Ignored),
    ("overload_manager.resource_monitors", Read),
    (
        "overload_manager.actions",
        Refused("overload actions are not supported by mosn"),
    ),
    (
        "overload_manager.loadshed_points",
        Refused("load shed points are not supported by mosn"),
    ),
    (
        "overload_manager.buffer_factory_config",
        Refused("buffer accounting is not supported by mosn"),
    ),
    (
        "header_prefix",
        Refused("renaming the x-envoy- headers is not supported by mosn"),
    ),
    ("use_tcp_for_dns_lookups", Refused(DNS)),
    ("dns_resolution_config", Refused(DNS)),
    ("typed_dns_resolver_config", Refused(DNS)),
    ("bootstrap_extensions", Read),
    ("fatal_actions", Ignored),
    ("config_sources", Refused(XDSTP)),
    ("default_config_source", Refused(XDSTP)),
    (
        "default_socket_interface",
        Refused("socket interfaces are not supported by mosn"),
    ),
    (
        "certificate_provider_instances",
        Refused("certificate providers are not supported by mosn"),
    ),
    ("inline_headers", Ignored),
    ("perf_tracing_file_path", Ignored),
    (
        "default_regex_engine",
        Refused("choosing the regex engine is not supported by mosn"),
    ),
    (
        "xds_delegate_extension",
        Refused("xDS delegates are not supported by mosn"),
    ),
    ("xds_config_tracker_extension", Ignored),
    (
        "listener_manager",
        Refused("a custom listener manager is not supported by mosn"),
    ),
    ("application_log_config", Ignored),
    ("grpc_async_client_manager_config", Ignored),
    ("memory_allocator_manager", Ignored),
    ("enable_worker_cpu_affinity", Ignored),
];

/// The row of `key`.
fn row(key: &str) -> Option<&'static (&'static str, Treatment)> {
    FIELDS.iter().find(|(name, _)| *name == key)
}

/// Checks every set field of `bootstrap` against [`FIELDS`], counting the no-ops in `ctx`,
/// then the fields accepted by their values.
pub(crate) fn check(bootstrap: &Bootstrap, ctx: &mut Context<'_>) -> Result<()> {
    let Some(descriptor) = crate::proto::pool().get_message_by_name(&Bootstrap::full_name()) else {
        return Err(ConvertError::new(
            "",
            "the Bootstrap type is not in the descriptor pool",
        ));
    };
    let mut message = DynamicMessage::new(descriptor);
    message
        .transcode_from(bootstrap)
        .map_err(|e| ConvertError::new("", format!("cannot read the bootstrap: {e}")))?;
    walk(&message, "", "", ctx)?;
    runtime(bootstrap, ctx)?;
    overload(bootstrap, ctx)?;
    extensions(&bootstrap.bootstrap_extensions, ctx)
}

/// `prefix.name`, or `name` at the root.
fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Checks the set fields of `message`; `path` names it for errors (with list indices),
/// `key` for the table (without).
fn walk(message: &DynamicMessage, path: &str, key: &str, ctx: &mut Context<'_>) -> Result<()> {
    for (field, value) in message.fields() {
        let path = join(path, field.name());
        let key = join(key, field.name());
        let Some((name, treatment)) = row(&key) else {
            return Err(ConvertError::new(path, "not supported by mosn"));
        };
        match *treatment {
            Read => {}
            Ignored => ctx.ignore(name),
            Nested => walk_value(value, &path, &key, ctx)?,
            As(alias) => walk_value(value, &path, alias, ctx)?,
            Refused(why) => return Err(ConvertError::new(path, why)),
        }
    }
    Ok(())
}

/// [`walk`] over a message, or each message of a list.
fn walk_value(value: &Value, path: &str, key: &str, ctx: &mut Context<'_>) -> Result<()> {
    match value {
        Value::Message(message) => walk(message, path, key, ctx),
        Value::List(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| walk_value(item, &format!("{path}[{i}]"), key, ctx)),
        _ => Ok(()),
    }
}

/// Runtime keys mosn accepts, each because mosn already behaves as the value asks or
/// because the key only concerns Envoy's internals; counted as no-ops. Any other key is
/// refused by name.
const RUNTIME_KEYS: &[&str] = &[
    // Re-batching load balancer rebuilds: an Envoy-internal optimisation.
    "envoy.reloadable_features.coalesce_lb_rebuilds_on_batch_update",
    // How the overload manager measures the heap (which mosn does not have).
    "envoy.reloadable_features.fixed_heap_use_allocated",
    // `false`: Envoy strips a fragment from the request path instead of answering 400;
    // mosn answers 400 (RFC 9112 has no fragment in a request-target). Only requests that
    // are malformed to begin with are affected (Istio renders this key).
    "envoy.reloadable_features.http_reject_path_with_fragment",
    // RE2 program-size limits: mosn's regex engine has none to enforce.
    "re2.max_program_size.error_level",
    "re2.max_program_size.warn_level",
];

/// The prefix of runtime keys that only permit a deprecated field: mosn's converters take
/// or refuse each field on their own, so the permission changes nothing.
const DEPRECATED_FEATURES: &str = "envoy.deprecated_features:";

/// Istio's pre-1.13 way to cap downstream connections; checked like the resource monitor.
const GLOBAL_MAX_CONNECTIONS: &str = "overload.global_downstream_max_connections";

/// The `static_layer` keys of every runtime layer.
fn runtime(bootstrap: &Bootstrap, ctx: &mut Context<'_>) -> Result<()> {
    let layers = bootstrap.layered_runtime.iter().flat_map(|r| &r.layers);
    for (i, layer) in layers.enumerate() {
        if let Some(runtime_layer::LayerSpecifier::StaticLayer(values)) = &layer.layer_specifier {
            let mut flat = Vec::new();
            flatten(values, "", &mut flat);
            let path = format!("layered_runtime.layers[{i}].static_layer");
            for (key, value) in flat {
                runtime_key(&key, value, &path, ctx)?;
            }
        }
    }
    Ok(())
}

/// Nested runtime objects name keys joined with `.`, as Envoy reads them.
fn flatten<'a>(values: &'a Struct, prefix: &str, out: &mut Vec<(String, &'a Kind)>) {
    for (name, value) in &values.fields {
        let key = join(prefix, name);
        match &value.kind {
            Some(Kind::StructValue(inner)) => flatten(inner, &key, out),
            Some(kind) => out.push((key, kind)),
            None => {}
        }
    }
}

/// One runtime key: accepted (counted) or refused by name.
fn runtime_key(key: &str, value: &Kind, path: &str, ctx: &mut Context<'_>) -> Result<()> {
    let at = || format!("{path}.{key:?}");
    if key == GLOBAL_MAX_CONNECTIONS {
        let Kind::NumberValue(limit) = value else {
            return Err(ConvertError::new(at(), "must be a number"));
        };
        return unlimited_connections(*limit, at(), ctx);
    }
    if key.starts_with(DEPRECATED_FEATURES) {
        ctx.ignore("layered_runtime.envoy.deprecated_features");
        return Ok(());
    }
    match RUNTIME_KEYS.iter().find(|k| **k == key) {
        Some(known) => {
            ctx.ignore(known);
            Ok(())
        }
        None => Err(ConvertError::new(at(), "runtime key not supported by mosn")),
    }
}

/// Envoy's global downstream connection limit: mosn has none, so it accepts only the
/// limit nothing reaches (`2147483647`, what Istio renders) and refuses a real cap.
fn unlimited_connections(limit: f64, path: String, ctx: &mut Context<'_>) -> Result<()> {
    if limit >= f64::from(i32::MAX) {
        ctx.ignore("overload_manager.global_downstream_max_connections");
        Ok(())
    } else {
        Err(ConvertError::new(
            path,
            format!("a global downstream connection limit ({limit}) is not supported by mosn"),
        ))
    }
}

/// The resource monitors: they only measure (actions, which act on the measures, are
/// refused), except the downstream connection limit, which acts by itself.
fn overload(bootstrap: &Bootstrap, ctx: &mut Context<'_>) -> Result<()> {
    let monitors = bootstrap
        .overload_manager
        .iter()
        .flat_map(|o| &o.resource_monitors);
    for (i, monitor) in monitors.enumerate() {
        let path = format!("overload_manager.resource_monitors[{i}]");
        match downstream_connections(monitor, &path)? {
            Some(limit) => unlimited_connections(limit as f64, path, ctx)?,
            None => ctx.ignore("overload_manager.resource_monitors"),
        }
    }
    Ok(())
}

/// The limit of a `DownstreamConnectionsConfig` monitor; `None` for other monitors.
fn downstream_connections(monitor: &ResourceMonitor, path: &str) -> Result<Option<i64>> {
    let Some(resource_monitor::ConfigType::TypedConfig(any)) = &monitor.config_type else {
        return Ok(None);
    };
    if config_type(any) != DownstreamConnectionsConfig::type_url() {
        return Ok(None);
    }
    let config: DownstreamConnectionsConfig = unpack(any, &format!("{path}.typed_config"))?;
    Ok(Some(config.max_active_downstream_connections))
}

/// `bootstrap_extensions`: only `internal_listener` is accepted, as a no-op — it only
/// enables internal listeners and `envoy_internal_address` endpoints, which the listener
/// and cluster converters refuse on their own.
fn extensions(extensions: &[TypedExtensionConfig], ctx: &mut Context<'_>) -> Result<()> {
    for (i, extension) in extensions.iter().enumerate() {
        let kind = extension
            .typed_config
            .as_ref()
            .map(config_type)
            .unwrap_or_default();
        if kind == InternalListener::type_url() {
            ctx.ignore("bootstrap_extensions.internal_listener");
        } else {
            return Err(ConvertError::new(
                format!("bootstrap_extensions[{i}]"),
                format!(
                    "extension {} ({kind}) is not supported by mosn",
                    extension.name
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The message types whose fields the table lists, by the key they are listed under.
    const TABLES: &[(&str, &str)] = &[
        ("", "envoy.config.bootstrap.v3.Bootstrap"),
        ("admin", "envoy.config.bootstrap.v3.Admin"),
        (
            "cluster_manager",
            "envoy.config.bootstrap.v3.ClusterManager",
        ),
        (
            "dynamic_resources",
            "envoy.config.bootstrap.v3.Bootstrap.DynamicResources",
        ),
        (
            "static_resources",
            "envoy.config.bootstrap.v3.Bootstrap.StaticResources",
        ),
        (
            "overload_manager",
            "envoy.config.overload.v3.OverloadManager",
        ),
        ("watchdogs", "envoy.config.bootstrap.v3.Watchdogs"),
        (
            "layered_runtime",
            "envoy.config.bootstrap.v3.LayeredRuntime",
        ),
    ];

    #[test]
    fn every_bootstrap_field_and_every_field_of_its_listed_messages_has_a_row() {
        let mut missing = BTreeSet::new();
        for (prefix, message) in TABLES {
            let descriptor = crate::proto::pool().get_message_by_name(message).unwrap();
            for field in descriptor.fields() {
                let key = join(prefix, field.name());
                if row(&key).is_none() {
                    missing.insert(key);
                }
            }
        }
        assert!(missing.is_empty(), "fields without a row: {missing:?}");
    }

    /// The field `key` names, walking the messages from the type its first part stands for.
    fn field_exists(key: &str) -> bool {
        let pool = crate::proto::pool();
        let (root, rest) = match key.split_once('.') {
            Some(("config_source", rest)) => ("envoy.config.core.v3.ConfigSource", rest),
            Some(("watchdog", rest)) => ("envoy.config.bootstrap.v3.Watchdog", rest),
            _ => ("envoy.config.bootstrap.v3.Bootstrap", key),
        };
        let mut message = pool.get_message_by_name(root);
        let mut found = false;
        for part in rest.split('.') {
            let field = message.as_ref().and_then(|m| m.get_field_by_name(part));
            found = field.is_some();
            message = field.and_then(|f| f.kind().as_message().cloned());
        }
        found
    }

    #[test]
    fn every_row_names_a_field_that_exists() {
        let unknown: Vec<_> = FIELDS
            .iter()
            .map(|(key, _)| *key)
            .filter(|k| !field_exists(k))
            .collect();
        assert!(unknown.is_empty(), "rows naming no field: {unknown:?}");
    }
}
