//! `Listener` (with its `HttpConnectionManager` and `TcpProxy` network filters and its
//! listener filters) → [`ListenerConfig`].
//!
//! Every field of the listener, its chains and their matches is named below (the structs
//! are destructured without `..`, so a field added to Envoy's API fails the build until it
//! is decided). Chain selection is mosn's (`mosn_net::FilterChains`): a chain's transport
//! follows its `transport_socket` and is checked before the other criteria, and there is
//! no default chain; a listener is only converted where that selects exactly the chain
//! Envoy would.
//!
//! `ignore_global_conn_limit` and `bypass_overload_manager` are accepted as they are:
//! mosn has no global downstream connection limit (the bootstrap refuses a real one) and
//! no overload manager (its actions are refused), so a listener exempt from them behaves
//! exactly as one that is not.

#[path = "hcm.rs"]
mod hcm;
#[path = "tcp_proxy.rs"]
mod tcp_proxy;

use super::{config_type, unpack, Context, ConvertError, Result};
use envoy_types::pb::envoy::config::core::v3::{
    address, socket_address, Address as EnvoyAddress, CidrRange as EnvoyCidr, Pipe, SocketAddress,
};
use envoy_types::pb::envoy::config::core::v3::{async_data_source, data_source};
use envoy_types::pb::envoy::config::listener::v3::{
    filter, filter_chain_match::ConnectionSourceType, listener_filter, Filter, FilterChain,
    FilterChainMatch as EnvoyMatch, Listener, ListenerFilter,
};
use envoy_types::pb::envoy::extensions::filters::listener::original_dst::v3::OriginalDst;
use envoy_types::pb::envoy::extensions::filters::listener::tls_inspector::v3::TlsInspector;
use envoy_types::pb::envoy::extensions::wasm::v3::{plugin_config, PluginConfig};
use envoy_types::pb::envoy::extensions::{filters::http, filters::network};
use envoy_types::pb::google::protobuf::Any;
use mosn_config::model::{
    Address, CidrRange, FilterChainConfig, FilterChainMatch, ListenerConfig, NetworkFilterConfig,
    RouterConfig, TransportProtocol,
};
use std::net::IpAddr;
use std::time::Duration;

/// A converted listener and what it brings or needs besides itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerPlan {
    /// The listener.
    pub listener: ListenerConfig,
    /// Route tables its HTTP connection managers carry inline (`route_config`), under
    /// names of their own that the listener's `proxy` filters refer to.
    pub inline_routes: Vec<RouterConfig>,
    /// Route configurations its HTTP connection managers name over RDS.
    pub rds: Vec<String>,
}

/// Converts one listener, or names the first field mosn cannot honour exactly.
pub fn listener(l: &Listener, ctx: &mut Context<'_>) -> Result<ListenerPlan> {
    #[allow(deprecated)]
    let Listener {
        name,
        address,
        additional_addresses,
        stat_prefix,
        stats_matcher,
        filter_chains,
        fcds_config,
        filter_chain_matcher,
        use_original_dst,
        default_filter_chain,
        per_connection_buffer_limit_bytes,
        per_connection_buffer_high_watermark_timeout,
        metadata,
        drain_type,
        listener_filters,
        listener_filters_timeout,
        continue_on_listener_filters_timeout,
        transparent,
        freebind,
        socket_options,
        tcp_fast_open_queue_length,
        traffic_direction,
        udp_listener_config,
        api_listener,
        connection_balance_config,
        reuse_port: _, // which worker accepts: no effect on what a connection sees
        enable_reuse_port,
        access_log,
        tcp_backlog_size,
        max_connections_to_accept_per_socket_event,
        bind_to_port,
        enable_mptcp,
        ignore_global_conn_limit: _, // nothing to be exempt from (module doc)
        bypass_overload_manager: _,  // nothing to be exempt from (module doc)
        tcp_keepalive,
        listener_specifier,
        deprecated_v1,
    } = l;
    if name.is_empty() {
        return Err(ConvertError::new(
            "name",
            "must not be empty: mosn keys listeners by name",
        ));
    }
    unset("additional_addresses", additional_addresses)?;
    unset("fcds_config", fcds_config)?;
    unset("filter_chain_matcher", filter_chain_matcher)?;
    unset(
        "per_connection_buffer_limit_bytes",
        per_connection_buffer_limit_bytes,
    )?;
    unset(
        "per_connection_buffer_high_watermark_timeout",
        per_connection_buffer_high_watermark_timeout,
    )?;
    unset("drain_type", drain_type)?;
    unset("transparent", &transparent.map(|t| t.value))?;
    unset("freebind", &freebind.map(|t| t.value))?;
    unset("socket_options", socket_options)?;
    unset("tcp_fast_open_queue_length", tcp_fast_open_queue_length)?;
    unset("udp_listener_config", udp_listener_config)?;
    unset("api_listener", api_listener)?;
    unset("connection_balance_config", connection_balance_config)?;
    if enable_reuse_port.is_some_and(|r| !r.value) {
        return Err(ConvertError::unsupported(
            "enable_reuse_port",
            "enable_reuse_port: false",
        ));
    }
    unset("tcp_backlog_size", tcp_backlog_size)?;
    unset(
        "max_connections_to_accept_per_socket_event",
        max_connections_to_accept_per_socket_event,
    )?;
    unset("enable_mptcp", enable_mptcp)?;
    unset("tcp_keepalive", tcp_keepalive)?;
    unset("listener_specifier", listener_specifier)?;
    unset("deprecated_v1", deprecated_v1)?;
    if use_original_dst.is_some_and(|u| u.value) {
        return Err(ConvertError::new(
            "use_original_dst",
            "handing redirected connections off to the listener of their original \
             destination is not supported by mosn",
        ));
    }
    observed(ctx, "stat_prefix", !stat_prefix.is_empty());
    observed(ctx, "stats_matcher", stats_matcher.is_some());
    observed(ctx, "metadata", metadata.is_some());
    observed(ctx, "traffic_direction", *traffic_direction != 0);
    observed(ctx, "access_log", !access_log.is_empty());

    let address = listen_address(address.as_ref()).map_err(|e| e.within("address"))?;
    let inspectors = listener_filter_list(listener_filters)?;
    if inspectors.waits_for_bytes() {
        unset("listener_filters_timeout", listener_filters_timeout)?;
        unset(
            "continue_on_listener_filters_timeout",
            continue_on_listener_filters_timeout,
        )?;
    }
    let mut chains = Chains::new(name);
    for (i, chain) in filter_chains.iter().enumerate() {
        chains
            .add(chain, &i.to_string(), ctx)
            .map_err(|e| e.within(format!("filter_chains[{i}]")))?;
    }
    if let Some(chain) = default_filter_chain {
        chains
            .add(chain, "default", ctx)
            .map_err(|e| e.within("default_filter_chain"))?;
    }
    chains.check_selection(&inspectors)?;
    let connection_idle_timeout = chains.idle_timeout()?;
    Ok(ListenerPlan {
        listener: ListenerConfig {
            name: name.clone(),
            address,
            bind_port: bind_to_port.is_none_or(|b| b.value),
            connection_idle_timeout,
            filter_chains: chains.converted.into_iter().map(|c| c.config).collect(),
            inspector: inspectors.tls_inspector.is_some(),
            use_original_dst: inspectors.original_dst,
            stream_filters: Vec::new(),
        },
        inline_routes: chains.inline_routes,
        rds: chains.rds,
    })
}

/// Refuses `value` unless it is the field's default: for fields mosn has no counterpart
/// of, where only the default behaves like mosn. `field` is the path and the reason.
fn unset<T: Default + PartialEq>(field: &str, value: &T) -> Result<()> {
    if *value == T::default() {
        Ok(())
    } else {
        Err(ConvertError::unsupported(field, field))
    }
}

/// Counts `feature` as an accepted no-op when `present`: fields that only change what is
/// observed.
fn observed(ctx: &mut Context<'_>, feature: &'static str, present: bool) {
    if present {
        ctx.ignore(feature);
    }
}

/// The listener's `address`: a TCP socket address or a Unix socket path.
fn listen_address(address: Option<&EnvoyAddress>) -> Result<Address> {
    match address.and_then(|a| a.address.as_ref()) {
        Some(address::Address::SocketAddress(s)) => socket(s).map(Address::Tcp),
        Some(address::Address::Pipe(p)) => pipe(p).map_err(|e| e.within("pipe")),
        Some(address::Address::EnvoyInternalAddress(_)) => Err(ConvertError::unsupported(
            "envoy_internal_address",
            "an internal listener address",
        )),
        None => Err(ConvertError::new("", "a listener needs an address")),
    }
}

/// A TCP `socket_address` with a literal IP and a numeric port.
fn socket(s: &SocketAddress) -> Result<std::net::SocketAddr> {
    let SocketAddress {
        protocol,
        address,
        resolver_name,
        ipv4_compat,
        network_namespace_filepath,
        port_specifier,
    } = s;
    let within = |e: ConvertError| e.within("socket_address");
    if *protocol != socket_address::Protocol::Tcp as i32 {
        return Err(within(ConvertError::unsupported(
            "protocol",
            "a listener protocol other than TCP",
        )));
    }
    unset("resolver_name", resolver_name).map_err(within)?;
    unset("ipv4_compat", ipv4_compat).map_err(within)?;
    unset("network_namespace_filepath", network_namespace_filepath).map_err(within)?;
    let ip: IpAddr = address.parse().map_err(|_| {
        within(ConvertError::new(
            "address",
            format!("{address:?} is not an IP address"),
        ))
    })?;
    let port = match port_specifier {
        Some(socket_address::PortSpecifier::PortValue(p)) => u16::try_from(*p).map_err(|_| {
            within(ConvertError::new(
                "port_value",
                format!("{p} is not a port"),
            ))
        })?,
        Some(socket_address::PortSpecifier::NamedPort(_)) => {
            return Err(within(ConvertError::unsupported(
                "named_port",
                "named_port",
            )))
        }
        None => 0,
    };
    Ok((ip, port).into())
}

/// A Unix socket `pipe`; abstract sockets (`@name`) and a `mode` are not supported.
fn pipe(p: &Pipe) -> Result<Address> {
    unset("mode", &p.mode)?;
    if p.path.is_empty() || p.path.starts_with('@') {
        return Err(ConvertError::unsupported(
            "path",
            format!("Unix socket path {:?}", p.path),
        ));
    }
    Ok(Address::Unix(p.path.clone().into()))
}

/// What the listener filters ask of the listener.
#[derive(Debug, Default)]
struct Inspectors {
    /// Index of `envoy.filters.listener.tls_inspector`, if present.
    tls_inspector: Option<usize>,
    /// `envoy.filters.listener.original_dst` is present.
    original_dst: bool,
}

impl Inspectors {
    /// True when a listener filter reads the client's first bytes before a chain is
    /// chosen, so `listener_filters_timeout` applies.
    fn waits_for_bytes(&self) -> bool {
        self.tls_inspector.is_some()
    }
}

/// The `listener_filters`: `tls_inspector` (mosn's `inspector`) and `original_dst`
/// (`use_original_dst`); anything else is refused.
fn listener_filter_list(filters: &[ListenerFilter]) -> Result<Inspectors> {
    let mut found = Inspectors::default();
    for (i, f) in filters.iter().enumerate() {
        let path = format!("listener_filters[{i}]");
        listener_filter(f, i, &mut found).map_err(|e| e.within(&path))?;
    }
    Ok(found)
}

/// One listener filter, recorded in `found`.
fn listener_filter(f: &ListenerFilter, index: usize, found: &mut Inspectors) -> Result<()> {
    unset("filter_disabled", &f.filter_disabled)?;
    let any = match &f.config_type {
        Some(listener_filter::ConfigType::TypedConfig(any)) => any,
        Some(listener_filter::ConfigType::ConfigDiscovery(_)) => {
            return Err(ConvertError::unsupported(
                "config_discovery",
                "config_discovery (ECDS)",
            ))
        }
        None => {
            return Err(ConvertError::new(
                "",
                "a listener filter needs a typed_config",
            ))
        }
    };
    let type_url = config_type(any);
    if type_url == super::type_url::<TlsInspector>() {
        let config: TlsInspector = unpack(any, "typed_config")?;
        if config != TlsInspector::default() {
            return Err(ConvertError::unsupported(
                "typed_config",
                "tls_inspector settings (fingerprints, read buffer size)",
            ));
        }
        found.tls_inspector = Some(index);
    } else if type_url == super::type_url::<OriginalDst>() {
        let _: OriginalDst = unpack(any, "typed_config")?;
        found.original_dst = true;
    } else {
        return Err(ConvertError::unsupported(
            "typed_config",
            format!("listener filter {type_url}"),
        ));
    }
    Ok(())
}

/// The listener's chains as converted, with what chain selection needs to know of them.
struct Chains<'a> {
    /// The listener's name, for the names of inline route tables.
    listener: &'a str,
    /// The chains, the default one (if any) last.
    converted: Vec<Converted>,
    /// Inline route tables, named `<listener>#<chain>`.
    inline_routes: Vec<RouterConfig>,
    /// RDS names, once each.
    rds: Vec<String>,
}

/// One converted chain.
struct Converted {
    /// Its path in the listener (`filter_chains[1]`, `default_filter_chain`).
    path: String,
    /// The model's chain.
    config: FilterChainConfig,
    /// It is the `default_filter_chain`.
    is_default: bool,
    /// Its HTTP connection manager's idle timeout, for an HTTP chain.
    idle_timeout: Option<Duration>,
}

impl<'a> Chains<'a> {
    fn new(listener: &'a str) -> Self {
        Self {
            listener,
            converted: Vec::new(),
            inline_routes: Vec::new(),
            rds: Vec::new(),
        }
    }

    /// Converts one chain; `id` is its index, or `default`.
    fn add(&mut self, chain: &FilterChain, id: &str, ctx: &mut Context<'_>) -> Result<()> {
        #[allow(deprecated)]
        let FilterChain {
            filter_chain_match,
            filters,
            use_proxy_proto,
            metadata,
            transport_socket,
            transport_socket_connect_timeout,
            name: _, // informational
        } = chain;
        unset("use_proxy_proto", &use_proxy_proto.map(|u| u.value))?;
        unset(
            "transport_socket_connect_timeout",
            transport_socket_connect_timeout,
        )?;
        observed(ctx, "filter_chain.metadata", metadata.is_some());
        let tls = match transport_socket {
            Some(socket) => {
                super::tls::downstream(socket, ctx).map_err(|e| e.within("transport_socket"))?
            }
            None => None,
        };
        let is_default = id == "default";
        let filter_chain_match = match filter_chain_match {
            Some(m) if is_default && *m != EnvoyMatch::default() => {
                return Err(ConvertError::new(
                    "filter_chain_match",
                    "the default chain matches everything; a match is not allowed",
                ))
            }
            Some(m) => chain_match(m, tls.is_some()).map_err(|e| e.within("filter_chain_match"))?,
            None => FilterChainMatch::default(),
        };
        let route_name = format!("{}#{id}", self.listener);
        let (filter, idle_timeout) = self.network_filters(filters, &route_name, ctx)?;
        self.converted.push(Converted {
            path: if is_default {
                "default_filter_chain".into()
            } else {
                format!("filter_chains[{id}]")
            },
            config: FilterChainConfig {
                filter_chain_match,
                tls: tls.into_iter().collect(),
                filters: vec![filter],
            },
            is_default,
            idle_timeout,
        });
        Ok(())
    }

    /// A chain's `filters`: observability no-ops, then exactly one terminal filter
    /// (`http_connection_manager` or `tcp_proxy`) last.
    fn network_filters(
        &mut self,
        filters: &[Filter],
        route_name: &str,
        ctx: &mut Context<'_>,
    ) -> Result<(NetworkFilterConfig, Option<Duration>)> {
        let Some((last, before)) = filters.split_last() else {
            return Err(ConvertError::new(
                "filters",
                "a chain needs an http_connection_manager or tcp_proxy filter",
            ));
        };
        for (j, f) in before.iter().enumerate() {
            let path = format!("filters[{j}]");
            let any = filter_config(f).map_err(|e| e.within(&path))?;
            let feature = observability_feature(any).ok_or_else(|| {
                let what = config_type(any);
                let reason = if is_terminal(&what) {
                    format!("{what} must be the chain's last filter")
                } else {
                    format!("network filter {what} is not supported by mosn")
                };
                ConvertError::new(format!("{path}.typed_config"), reason)
            })?;
            ctx.ignore(feature);
        }
        let path = format!("filters[{}]", before.len());
        self.terminal(last, route_name, ctx)
            .map_err(|e| e.within(&path))
    }

    /// The chain's last filter, which owns the connection.
    fn terminal(
        &mut self,
        f: &Filter,
        route_name: &str,
        ctx: &mut Context<'_>,
    ) -> Result<(NetworkFilterConfig, Option<Duration>)> {
        let any = filter_config(f)?;
        let type_url = config_type(any);
        if type_url == super::type_url::<network::tcp_proxy::v3::TcpProxy>() {
            let config = unpack(any, "typed_config")?;
            let tcp = tcp_proxy::convert(&config, ctx).map_err(|e| e.within("typed_config"))?;
            return Ok((NetworkFilterConfig::TcpProxy(tcp), None));
        }
        if type_url
            == super::type_url::<network::http_connection_manager::v3::HttpConnectionManager>()
        {
            let config = unpack(any, "typed_config")?;
            let http =
                hcm::convert(&config, route_name, ctx).map_err(|e| e.within("typed_config"))?;
            match http.route {
                hcm::Route::Rds(name) => {
                    if !self.rds.contains(&name) {
                        self.rds.push(name);
                    }
                }
                hcm::Route::Inline(table) => self.inline_routes.push(table),
            }
            return Ok((
                NetworkFilterConfig::Proxy(http.proxy),
                Some(http.idle_timeout),
            ));
        }
        let reason = if observability_feature(any).is_some() {
            format!("{type_url} cannot be the chain's last filter: nothing would serve it")
        } else {
            format!("network filter {type_url} is not supported by mosn")
        };
        Err(ConvertError::new("typed_config", reason))
    }

    /// The listener's `connection_idle_timeout`: mosn has one per listener, Envoy one per
    /// HTTP connection manager; they must agree.
    fn idle_timeout(&self) -> Result<Option<Duration>> {
        let mut found: Option<Duration> = None;
        for c in &self.converted {
            match (found, c.idle_timeout) {
                (Some(a), Some(b)) if a != b => {
                    return Err(ConvertError::new(
                        format!("{}.filters", c.path),
                        format!(
                            "an HTTP idle timeout of {b:?} where another chain has {a:?}: \
                             mosn has one per listener"
                        ),
                    ))
                }
                (None, Some(b)) => found = Some(b),
                _ => {}
            }
        }
        Ok(found)
    }

    /// Refuses listeners on which mosn's chain selection would pick a different chain
    /// than Envoy's for some connection (see the module doc).
    fn check_selection(&mut self, inspectors: &Inspectors) -> Result<()> {
        let tls = self
            .converted
            .iter()
            .filter(|c| !c.config.tls.is_empty())
            .count();
        let plain = self.converted.len() - tls;
        if let (Some(i), 0) = (inspectors.tls_inspector, tls) {
            return Err(ConvertError::new(
                format!("listener_filters[{i}]"),
                "tls_inspector on a listener without TLS chains: mosn does not tell TLS \
                 from plaintext there",
            ));
        }
        if inspectors.original_dst {
            self.check_original_dst()?;
        }
        let mixed = tls > 0 && plain > 0;
        if !mixed {
            self.default_transport();
        }
        self.check_explicit_transport(mixed)?;
        self.check_default_chain()
    }

    /// mosn matches `destination_port` and `prefix_ranges` against the address the
    /// connection was accepted on, Envoy (with `original_dst`) against the original one.
    fn check_original_dst(&self) -> Result<()> {
        match self
            .converted
            .iter()
            .find(|c| matches_destination(&c.config))
        {
            Some(c) => Err(ConvertError::new(
                format!("{}.filter_chain_match", c.path),
                "matching the original destination (original_dst) is not supported by \
                 mosn: it matches the address the connection was accepted on",
            )),
            None => Ok(()),
        }
    }

    /// A default chain takes the transport the other chains name, when they all name it;
    /// called only when all chains share one transport, so that loses nothing.
    fn default_transport(&mut self) {
        let named: Vec<_> = self
            .converted
            .iter()
            .filter(|c| !c.is_default)
            .map(|c| c.config.filter_chain_match.transport_protocol)
            .collect();
        let Some(&Some(first)) = named.first() else {
            return;
        };
        if named.iter().all(|t| *t == Some(first)) {
            for c in self.converted.iter_mut().filter(|c| c.is_default) {
                c.config.filter_chain_match.transport_protocol = Some(first);
            }
        }
    }

    /// mosn gives a chain without `transport_protocol` the transport of its
    /// `transport_socket` and filters by transport first; Envoy matches such a chain for
    /// either transport, after port, address and SNI. They agree when every chain names
    /// its transport or none does, and, when TLS and plaintext chains share the listener,
    /// every chain names it and none matches on the destination.
    fn check_explicit_transport(&self, mixed: bool) -> Result<()> {
        let named = |c: &Converted| c.config.filter_chain_match.transport_protocol.is_some();
        let some_named = self.converted.iter().any(named);
        if let Some(c) = self
            .converted
            .iter()
            .find(|c| !named(c) && (mixed || some_named))
        {
            return Err(ConvertError::new(
                format!("{}.filter_chain_match.transport_protocol", c.path),
                "must be set when other chains set it or TLS and plaintext chains share the \
                 listener: mosn would serve only the transport of this chain's \
                 transport_socket here, Envoy both",
            ));
        }
        if let Some(c) = self
            .converted
            .iter()
            .find(|c| mixed && matches_destination(&c.config))
        {
            return Err(ConvertError::new(
                format!("{}.filter_chain_match", c.path),
                "matching the destination on a listener with TLS and plaintext chains is \
                 not supported by mosn: it tells the transports apart first, Envoy after \
                 the destination",
            ));
        }
        Ok(())
    }

    /// mosn has no default chain; a catch-all chain is the same only when no connection
    /// can narrow down to other chains and then fail to match, i.e. when every other
    /// chain matches on at most one criterion.
    fn check_default_chain(&self) -> Result<()> {
        if !self.converted.iter().any(|c| c.is_default) {
            return Ok(());
        }
        match self
            .converted
            .iter()
            .find(|c| !c.is_default && criteria(&c.config.filter_chain_match) > 1)
        {
            Some(c) => Err(ConvertError::new(
                "default_filter_chain",
                format!(
                    "a default chain beside {}, which matches on more than one criterion, \
                     is not supported by mosn: a connection that fails its later criteria \
                     gets no chain in mosn, the default chain in Envoy",
                    c.path
                ),
            )),
            None => Ok(()),
        }
    }
}

/// True when a chain matches on the address the client connected to.
fn matches_destination(c: &FilterChainConfig) -> bool {
    let m = &c.filter_chain_match;
    m.destination_port.is_some() || !m.prefix_ranges.is_empty()
}

/// How many of the criteria mosn narrows by (all but the transport) a match sets.
fn criteria(m: &FilterChainMatch) -> usize {
    [
        m.destination_port.is_some(),
        !m.prefix_ranges.is_empty(),
        !m.server_names.is_empty(),
        !m.application_protocols.is_empty(),
        !m.source_prefix_ranges.is_empty(),
        !m.source_ports.is_empty(),
    ]
    .into_iter()
    .filter(|set| *set)
    .count()
}

/// A chain's `filter_chain_match`; `tls` says whether the chain terminates TLS.
fn chain_match(m: &EnvoyMatch, tls: bool) -> Result<FilterChainMatch> {
    let EnvoyMatch {
        destination_port,
        prefix_ranges,
        address_suffix,
        suffix_len,
        direct_source_prefix_ranges,
        source_type,
        source_prefix_ranges,
        source_ports,
        server_names,
        transport_protocol,
        application_protocols,
    } = m;
    unset("address_suffix", address_suffix)?;
    unset("suffix_len", suffix_len)?;
    unset("direct_source_prefix_ranges", direct_source_prefix_ranges)?;
    if *source_type != ConnectionSourceType::Any as i32 {
        return Err(ConvertError::unsupported("source_type", "source_type"));
    }
    let passthrough = |field: &str| {
        ConvertError::new(
            field,
            "matching TLS connections on a chain without a TLS transport_socket (TLS \
             passthrough, or plaintext protocol detection) is not supported by mosn",
        )
    };
    if !tls && !server_names.is_empty() {
        return Err(passthrough("server_names"));
    }
    if !tls && !application_protocols.is_empty() {
        return Err(passthrough("application_protocols"));
    }
    Ok(FilterChainMatch {
        destination_port: destination_port
            .map(|p| port(p.value, "destination_port"))
            .transpose()?,
        prefix_ranges: cidrs(prefix_ranges, "prefix_ranges")?,
        server_names: server_names
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .collect(),
        transport_protocol: transport(transport_protocol, tls)?,
        application_protocols: application_protocols.clone(),
        source_prefix_ranges: cidrs(source_prefix_ranges, "source_prefix_ranges")?,
        source_ports: source_ports
            .iter()
            .enumerate()
            .map(|(i, p)| port(*p, &format!("source_ports[{i}]")))
            .collect::<Result<_>>()?,
    })
}

/// `transport_protocol`, which must agree with the chain's transport socket.
fn transport(name: &str, tls: bool) -> Result<Option<TransportProtocol>> {
    let field = "transport_protocol";
    match (name, tls) {
        ("", _) => Ok(None),
        ("tls", true) => Ok(Some(TransportProtocol::Tls)),
        ("raw_buffer", false) => Ok(Some(TransportProtocol::RawBuffer)),
        ("tls", false) => Err(ConvertError::new(
            field,
            "matching TLS connections on a chain without a TLS transport_socket (TLS \
             passthrough) is not supported by mosn",
        )),
        ("raw_buffer", true) => Err(ConvertError::new(
            field,
            "raw_buffer on a chain whose transport_socket is TLS: it could never serve",
        )),
        (other, _) => Err(ConvertError::unsupported(
            field,
            format!("transport protocol {other:?}"),
        )),
    }
}

/// A port number from a `uint32` field; 0 and values above 65535 are refused.
fn port(value: u32, path: &str) -> Result<u16> {
    u16::try_from(value)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| ConvertError::new(path, format!("{value} is not a port")))
}

/// A list of Envoy `CidrRange`s.
fn cidrs(ranges: &[EnvoyCidr], field: &str) -> Result<Vec<CidrRange>> {
    ranges
        .iter()
        .enumerate()
        .map(|(i, r)| cidr(r).map_err(|e| e.within(format!("{field}[{i}]"))))
        .collect()
}

/// One `CidrRange`: an IP and a prefix length that fits it.
fn cidr(r: &EnvoyCidr) -> Result<CidrRange> {
    let address: IpAddr = r.address_prefix.parse().map_err(|_| {
        ConvertError::new(
            "address_prefix",
            format!("{:?} is not an IP address", r.address_prefix),
        )
    })?;
    let len = r.prefix_len.map_or(0, |l| l.value);
    let max = if address.is_ipv4() { 32 } else { 128 };
    let prefix_len = u8::try_from(len)
        .ok()
        .filter(|l| u32::from(*l) <= max)
        .ok_or_else(|| ConvertError::new("prefix_len", format!("{len} exceeds {max}")))?;
    Ok(CidrRange {
        address,
        prefix_len,
    })
}

/// A network filter's `typed_config`; ECDS and name-only filters are refused.
fn filter_config(f: &Filter) -> Result<&Any> {
    match &f.config_type {
        Some(filter::ConfigType::TypedConfig(any)) => Ok(any),
        Some(filter::ConfigType::ConfigDiscovery(_)) => Err(ConvertError::unsupported(
            "config_discovery",
            "config_discovery (ECDS)",
        )),
        None => Err(ConvertError::new(
            "",
            format!("filter {:?} needs a typed_config", f.name),
        )),
    }
}

/// True for the network filters that own a connection.
fn is_terminal(type_url: &str) -> bool {
    type_url == super::type_url::<network::tcp_proxy::v3::TcpProxy>()
        || type_url
            == super::type_url::<network::http_connection_manager::v3::HttpConnectionManager>()
}

/// Istio's filters that only produce telemetry, by the type they carry, as the feature
/// name they are counted under; `None` for anything else.
fn observability_feature(any: &Any) -> Option<&'static str> {
    const BY_TYPE: [(&str, &str); 4] = [
        ("stats.PluginConfig", "istio.stats"),
        (
            "envoy.tcp.metadataexchange.config.MetadataExchange",
            "istio.metadata_exchange",
        ),
        ("io.istio.http.peer_metadata.Config", "istio.peer_metadata"),
        (
            "envoy.extensions.filters.http.grpc_stats.v3.FilterConfig",
            "grpc_stats",
        ),
    ];
    let type_url = config_type(any);
    let name = type_url.strip_prefix("type.googleapis.com/")?;
    if let Some((_, feature)) = BY_TYPE.iter().find(|(t, _)| *t == name) {
        return Some(feature);
    }
    if type_url == super::type_url::<http::wasm::v3::Wasm>() {
        let wasm: http::wasm::v3::Wasm = unpack(any, "").ok()?;
        return builtin_wasm(wasm.config.as_ref()?);
    }
    if type_url == super::type_url::<network::wasm::v3::Wasm>() {
        let wasm: network::wasm::v3::Wasm = unpack(any, "").ok()?;
        return builtin_wasm(wasm.config.as_ref()?);
    }
    None
}

/// Istio's telemetry plugins compiled into its proxy (the `null` Wasm runtime with the
/// plugin named inline), as their feature names.
fn builtin_wasm(plugin: &PluginConfig) -> Option<&'static str> {
    let Some(plugin_config::Vm::VmConfig(vm)) = &plugin.vm else {
        return None;
    };
    if vm.runtime != "envoy.wasm.runtime.null" {
        return None;
    }
    let local = match vm.code.as_ref()?.specifier.as_ref()? {
        async_data_source::Specifier::Local(local) => local,
        async_data_source::Specifier::Remote(_) => return None,
    };
    match local.specifier.as_ref()? {
        data_source::Specifier::InlineString(s) if s == "envoy.wasm.metadata_exchange" => {
            Some("istio.metadata_exchange")
        }
        data_source::Specifier::InlineString(s) if s == "envoy.wasm.stats" => Some("istio.stats"),
        _ => None,
    }
}
