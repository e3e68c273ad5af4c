//! `servers[]` (MOSN's `v2.ServerConfig`): process settings, routers and listeners.

use std::time::Duration;

use crate::cluster::ClusterNames;
use crate::json::{Field, Obj};
use crate::listener::{parse_listener, ListenerContext};
use crate::model::{
    Address, IoModel, ListenerConfig, LogLevel, NetworkFilterConfig, RouteAction, RouterConfig,
    ServerConfig,
};
use crate::proxy::ServerRouters;
use crate::router::parse_router;
use crate::tree::{Json, Number};
use crate::unique::Unique;

const DEFAULT_GRACEFUL_TIMEOUT: Duration = Duration::from_secs(30);

/// Names and addresses that must be unique across all servers.
pub(crate) struct ProcessNames {
    routers: Unique<String>,
    listeners: Unique<String>,
    addresses: Unique<Address>,
}

impl ProcessNames {
    /// Nothing seen yet.
    pub(crate) fn new() -> Self {
        ProcessNames {
            routers: Unique::new("router name"),
            listeners: Unique::new("listener name"),
            addresses: Unique::new("listener address"),
        }
    }
}

/// Parses one server.
pub(crate) fn parse_server(
    field: &Field<'_>,
    clusters: &ClusterNames,
    names: &mut ProcessNames,
) -> Option<ServerConfig> {
    let obj = field.as_object()?;
    let default_log_path = obj.str("default_log_path").map(str::to_owned);
    let default_log_level = log_level(&obj);
    let processor = processor(&obj);
    let io_model = io_model(&obj);
    let graceful_timeout = obj
        .duration("graceful_timeout")
        .unwrap_or(DEFAULT_GRACEFUL_TIMEOUT);
    // The server's name and log rolling only label and rotate logs; netpoll is an I/O
    // model choice with no visible effect.
    obj.tolerate(&["mosn_server_name", "global_log_roller", "use_netpoll_mode"]);

    let mut router_names = Vec::new();
    let mut routers = Vec::new();
    for item in obj.items("routers") {
        let (name, router) = parse_router(&item, clusters, &mut names.routers);
        router_names.extend(name);
        routers.push(router);
    }
    let server_routers = ServerRouters {
        path: obj.key_path("routers"),
        names: router_names,
    };
    let mut ctx = ListenerContext {
        clusters,
        routers: &server_routers,
        names: &mut names.listeners,
        addresses: &mut names.addresses,
    };
    let listeners: Vec<_> = obj
        .items("listeners")
        .iter()
        .map(|l| parse_listener(l, &mut ctx))
        .collect();
    refuse_rpc_header_edits(&obj, &listeners, &routers);
    Some(ServerConfig {
        default_log_path,
        default_log_level: default_log_level?,
        processor: processor?,
        io_model: io_model?,
        graceful_timeout,
        listeners: listeners.into_iter().collect::<Option<_>>()?,
        routers: routers.into_iter().collect::<Option<_>>()?,
    })
}

/// Refuses header edits in a router an RPC (bolt, boltv2, dubbo) proxy uses: they are
/// not applied to RPC frames yet, and silently skipping them would change what the
/// upstream sees.
fn refuse_rpc_header_edits(
    obj: &Obj<'_>,
    listeners: &[Option<ListenerConfig>],
    routers: &[Option<RouterConfig>],
) {
    let rpc_routers: Vec<&str> = listeners
        .iter()
        .flatten()
        .flat_map(|l| l.filter_chains.iter().flat_map(|c| &c.filters))
        .filter_map(|f| match f {
            NetworkFilterConfig::Proxy(p) if p.downstream_protocol.rpc_name().is_some() => {
                Some(p.router_config_name.as_str())
            }
            _ => None,
        })
        .collect();
    for (i, router) in routers.iter().enumerate() {
        let Some(router) = router else { continue };
        if !rpc_routers.contains(&router.name.as_str()) {
            continue;
        }
        let route_edits = router.virtual_hosts.iter().flat_map(|vh| {
            vh.routes
                .iter()
                .filter_map(|r| match &r.action {
                    RouteAction::Forward(fwd) => Some(&fwd.headers),
                    _ => None,
                })
                .chain([&vh.headers])
        });
        let edited = route_edits.chain([&router.headers]).any(|h| {
            !(h.request_headers_to_add.is_empty()
                && h.request_headers_to_remove.is_empty()
                && h.response_headers_to_add.is_empty()
                && h.response_headers_to_remove.is_empty())
        });
        if edited {
            obj.diag().error(
                &format!("{}[{i}]", obj.key_path("routers")),
                "header edits are not supported yet on routers of RPC (bolt, boltv2, dubbo) proxies",
            );
        }
    }
}

/// `default_log_level`: MOSN's names, case-insensitively; `FATAL` maps to `Error`.
/// `Some(None)` when unset.
fn log_level(obj: &Obj<'_>) -> Option<Option<LogLevel>> {
    let Some(field) = obj.get("default_log_level") else {
        return Some(None);
    };
    let levels = [
        ("", None),
        ("TRACE", Some(LogLevel::Trace)),
        ("DEBUG", Some(LogLevel::Debug)),
        ("INFO", Some(LogLevel::Info)),
        ("WARN", Some(LogLevel::Warn)),
        ("ERROR", Some(LogLevel::Error)),
        ("FATAL", Some(LogLevel::Error)),
    ];
    field.one_of(&levels, true, |l| {
        format!("unknown log level {l:?}, expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL")
    })
}

/// `io_model`: `"thread_per_core"` (default) or `"work_stealing"`.
fn io_model(obj: &Obj<'_>) -> Option<IoModel> {
    let Some(field) = obj.get("io_model") else {
        return Some(IoModel::default());
    };
    let models = [
        ("thread_per_core", IoModel::ThreadPerCore),
        ("work_stealing", IoModel::WorkStealing),
    ];
    field.one_of(&models, false, |m| {
        format!("unknown io_model {m:?}, expected \"thread_per_core\" or \"work_stealing\"")
    })
}

/// `processor`: a positive number of worker threads, or `"auto"` (one per core, also
/// the default). MOSN also takes the number as a string, and so does this; MOSN turns
/// 0, negatives and other strings into "auto", mosn-rs refuses them. `Some(None)` means
/// one per core.
fn processor(obj: &Obj<'_>) -> Option<Option<usize>> {
    let Some(field) = obj.get("processor") else {
        return Some(None);
    };
    let count = match field.value {
        Json::Number(Number::Unsigned(n)) => usize::try_from(*n).ok(),
        Json::String(s) if s.eq_ignore_ascii_case("auto") => return Some(None),
        Json::String(s) => s.parse::<usize>().ok(),
        _ => None,
    };
    match count {
        Some(n) if n > 0 => Some(Some(n)),
        _ => {
            field.error("processor must be a positive integer or \"auto\"");
            None
        }
    }
}
