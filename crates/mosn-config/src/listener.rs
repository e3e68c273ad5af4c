//! `servers[].listeners[]` (MOSN's `v2.Listener`) and their filter chains.

use crate::address::parse_listener_address;
use crate::cluster::ClusterNames;
use crate::json::{Field, Obj};
use crate::model::{
    Address, FilterChainConfig, ListenerConfig, NetworkFilterConfig, StreamFilterConfig,
};
use crate::proxy::{parse_proxy, ServerRouters};
use crate::stream_filter::parse_stream_filter;
use crate::tcp_proxy::parse_tcp_proxy;
use crate::tls::{parse_tls_contexts, Side};
use crate::tree::Json;
use crate::unique::Unique;

/// What listeners are checked against: the clusters and routers they may reference, and
/// the names and addresses of the process's listeners so far.
pub(crate) struct ListenerContext<'c> {
    /// All clusters.
    pub(crate) clusters: &'c ClusterNames,
    /// The routers of the listener's server.
    pub(crate) routers: &'c ServerRouters,
    /// Listener names, unique per process.
    pub(crate) names: &'c mut Unique<String>,
    /// Listener addresses, unique per process.
    pub(crate) addresses: &'c mut Unique<Address>,
}

/// Parses one listener.
pub(crate) fn parse_listener(
    field: &Field<'_>,
    ctx: &mut ListenerContext<'_>,
) -> Option<ListenerConfig> {
    let obj = field.as_object()?;
    let name = obj.required_str_field("name").map(|(name, f)| {
        ctx.names.insert(name.to_owned(), &f, name);
        name
    });
    let unix = network_is_unix(&obj);
    let address = obj.required_str_field("address").and_then(|(text, f)| {
        let parsed = parse_listener_address(text, unix?);
        match &parsed {
            Some(address) => ctx.addresses.insert(address.clone(), &f, text),
            None => f.error(format!("invalid socket address {text:?}")),
        }
        parsed
    });
    let bind_port = obj.bool("bind_port").unwrap_or(false);
    if !bind_port && obj.get("bind_port").is_none() {
        obj.key_warn(
            "bind_port",
            "not set: MOSN does not open the socket of a listener without \"bind_port\": true",
        );
    }
    let connection_idle_timeout =
        obj.nonzero_duration("connection_idle_timeout", "never close idle connections");
    let chains: Vec<Option<FilterChainConfig>> = obj
        .items("filter_chains")
        .iter()
        .map(|chain| parse_filter_chain(chain, ctx.clusters, ctx.routers))
        .collect();
    let stream_filters: Vec<_> = obj
        .items("stream_filters")
        .iter()
        .map(parse_stream_filter)
        .collect();
    refuse_listener_features(&obj);
    let inspector = obj.bool("inspector").unwrap_or(false);
    if chains.is_empty() {
        obj.key_error("filter_chains", "a listener needs a filter chain");
    }
    // `Some(None)`: a filter accepted that builds nothing (MOSN's `healthcheck`).
    let stream_filters: Vec<_> = stream_filters
        .into_iter()
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    let chains: Vec<FilterChainConfig> = chains.into_iter().collect::<Option<_>>()?;
    crate::filter_chain_match::check_distinct(&obj, &chains)?;
    let has_tls = chains.iter().any(|c| !c.tls.is_empty());
    if has_tls && unix == Some(true) {
        obj.key_error(
            "filter_chains",
            "TLS on a Unix socket listener is not supported yet",
        );
        return None;
    }
    // The first filter owns the connection (a fallback tcp_proxy only gets the rest).
    let has_tcp_proxy = chains
        .iter()
        .filter_map(|c| c.filters.first())
        .any(|f| matches!(f, NetworkFilterConfig::TcpProxy(_)));
    if has_tcp_proxy && !stream_filters.is_empty() {
        // Stream filters see requests; tcp_proxy has none, so they would never run.
        obj.key_error(
            "stream_filters",
            "stream filters need a proxy filter; this listener's chain ends in tcp_proxy",
        );
        return None;
    }
    let has_rpc_proxy = chains.iter().flat_map(|c| &c.filters).any(
        |f| matches!(f, NetworkFilterConfig::Proxy(p) if p.downstream_protocol.rpc_name().is_some()),
    );
    if has_rpc_proxy && !stream_filters.is_empty() {
        // The built stream filters read HTTP requests; RPC frames do not reach them.
        obj.key_error(
            "stream_filters",
            "stream filters on RPC (bolt, boltv2, dubbo) listeners are not supported yet",
        );
        return None;
    }
    check_transcoding(&obj, &chains, &stream_filters)?;
    let use_original_dst = original_dst(&obj);
    Some(ListenerConfig {
        name: name?.to_owned(),
        address: address?,
        bind_port,
        connection_idle_timeout,
        filter_chains: chains,
        inspector,
        use_original_dst,
        stream_filters,
    })
}

/// HTTP requests reach a Bolt upstream only through the `transcoder` stream filter, and
/// the transcoder converts only HTTP requests.
fn check_transcoding(
    obj: &Obj<'_>,
    chains: &[FilterChainConfig],
    stream_filters: &[StreamFilterConfig],
) -> Option<()> {
    let transcoder = stream_filters
        .iter()
        .any(|f| matches!(f, StreamFilterConfig::Transcoder(_)));
    for filter in chains.iter().flat_map(|c| c.filters.first()) {
        let NetworkFilterConfig::Proxy(p) = filter else {
            continue;
        };
        let (down, up) = (p.downstream_protocol, p.upstream_protocol);
        if down.rpc_name().is_none() && up.rpc_name().is_some() && !transcoder {
            obj.key_error(
                "filter_chains",
                format!(
                    "the proxy takes {down:?} and sends {up:?}: HTTP becomes Bolt only through \
                     a \"transcoder\" stream filter (http2bolt_simple)"
                ),
            );
            return None;
        }
    }
    Some(())
}

/// `network`: `tcp` (default) or `unix`, case-insensitively; `None` if unusable.
fn network_is_unix(obj: &Obj<'_>) -> Option<bool> {
    let Some(field) = obj.get("network") else {
        return Some(false);
    };
    let network = field.as_str()?.to_ascii_lowercase();
    match network.as_str() {
        "" | "tcp" => Some(false),
        "unix" => Some(true),
        "udp" => {
            field.error("UDP listeners are not supported yet");
            None
        }
        _ => {
            field.error(format!(
                "unknown network {network:?}, expected tcp, udp or unix"
            ));
            None
        }
    }
}

/// Listener keys MOSN knows that mosn-rs has not built, or that change nothing.
fn refuse_listener_features(obj: &Obj<'_>) {
    refuse_filters(obj, "listener_filters", "listener filter");
    obj.refuse("access_logs", "access logs are not supported yet");
    // Listener type is a label; `reuseport` and the buffer size are socket tuning; the
    // log keys only choose where logs go.
    obj.tolerate(&[
        "type",
        "reuseport",
        "default_read_buffer_size",
        "log_path",
        "log_level",
    ]);
}

/// Refuses every filter of a filter list, naming its type: none is built yet.
fn refuse_filters(obj: &Obj<'_>, key: &str, kind: &str) {
    for item in obj.items(key) {
        let Some(filter) = item.as_object() else {
            continue;
        };
        match filter.get("type") {
            Some(type_field) => {
                if let Some(name) = type_field.as_str() {
                    type_field.error(format!("{kind} {name:?} is not supported yet"));
                }
            }
            None => filter.error(format!("{kind}s are not supported yet")),
        }
        filter.tolerate_all();
    }
}

/// `use_original_dst`: MOSN takes `"redirect"` (iptables REDIRECT, read back with
/// `SO_ORIGINAL_DST`) or `"tproxy"` (any other string means off); `true` means redirect.
/// TPROXY needs transparent sockets and policy routing, not built yet.
fn original_dst(obj: &Obj<'_>) -> bool {
    let Some(field) = obj.get("use_original_dst") else {
        return false;
    };
    match field.value {
        Json::Bool(on) => *on,
        _ => match field.as_str() {
            Some("redirect") => true,
            Some("tproxy") => {
                field.error("use_original_dst \"tproxy\" is not supported yet (use \"redirect\")");
                false
            }
            _ => false,
        },
    }
}

/// One filter chain: its TLS contexts, its match, and `filters[]`, which must hold
/// exactly one `proxy` or `tcp_proxy`.
fn parse_filter_chain(
    field: &Field<'_>,
    clusters: &ClusterNames,
    routers: &ServerRouters,
) -> Option<FilterChainConfig> {
    let chain = field.as_object()?;
    let tls = parse_tls_contexts(&chain, Side::Listener);
    chain.refuse(
        "match",
        "MOSN's match string is not supported; use filter_chain_match",
    );
    let filter_chain_match = crate::filter_chain_match::parse(&chain);
    let items = chain.items("filters");
    let filters: Vec<Option<NetworkFilterConfig>> = items
        .iter()
        .map(|f| parse_network_filter(f, clusters, routers))
        .collect();
    if filters.is_empty() {
        chain.key_error(
            "filters",
            "a filter chain needs a proxy or tcp_proxy filter",
        );
    } else if filters.iter().flatten().count() > 1 && !is_fallback_pair(&filters) {
        chain.key_error(
            "filters",
            "more than one proxy or tcp_proxy filter in a chain is not supported yet \
             (except proxy with fallback_for_unknown_protocol followed by tcp_proxy)",
        );
    }
    Some(FilterChainConfig {
        filter_chain_match: filter_chain_match?,
        tls: tls?,
        filters: filters.into_iter().collect::<Option<_>>()?,
    })
}

/// `[proxy (Auto, fallback_for_unknown_protocol), tcp_proxy]`: the proxy serves what it
/// recognises and hands the rest to tcp_proxy.
fn is_fallback_pair(filters: &[Option<NetworkFilterConfig>]) -> bool {
    matches!(
        filters,
        [Some(NetworkFilterConfig::Proxy(p)), Some(NetworkFilterConfig::TcpProxy(_))]
            if p.fallback_for_unknown_protocol
    )
}

fn parse_network_filter(
    field: &Field<'_>,
    clusters: &ClusterNames,
    routers: &ServerRouters,
) -> Option<NetworkFilterConfig> {
    let filter = field.as_object()?;
    // Only stream filters can be Go plugins.
    filter.tolerate(&["go_plugin_config"]);
    let Some(kind) = filter.required_str("type") else {
        filter.tolerate(&["config"]);
        return None;
    };
    match kind {
        "proxy" => {
            parse_proxy(&filter.required_object("config")?, routers).map(NetworkFilterConfig::Proxy)
        }
        "tcp_proxy" => parse_tcp_proxy(&filter.required_object("config")?, clusters)
            .map(NetworkFilterConfig::TcpProxy),
        other => {
            filter.key_error(
                "type",
                format!("network filter {other:?} is not supported yet"),
            );
            filter.tolerate(&["config"]);
            None
        }
    }
}
