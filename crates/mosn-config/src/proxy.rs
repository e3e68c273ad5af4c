//! The `proxy` network filter's `config` (MOSN's `v2.Proxy`) plus mosn-rs's HTTP/1
//! limits. The RPC protocols (bolt, boltv2, dubbo) are named directly or as MOSN's `"X"`
//! with `extend_config.sub_protocol`.

use std::time::Duration;

use crate::json::{Field, Obj, UInt};
use crate::model::{Protocol, ProxyConfig};

const DEFAULT_REQUEST_HEADER_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_MAX_REQUEST_HEADER_BYTES: usize = 60 * 1024;
const DEFAULT_MAX_REQUEST_HEADERS: usize = 100;
const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 1024;

/// The router names of one server, which its `proxy` filters may reference.
pub(crate) struct ServerRouters {
    /// JSON path of the server's `routers`, for messages.
    pub(crate) path: String,
    /// Names of the routers (also those with other errors).
    pub(crate) names: Vec<String>,
}

/// Parses a `proxy` filter config.
pub(crate) fn parse_proxy(config: &Obj<'_>, routers: &ServerRouters) -> Option<ProxyConfig> {
    // MOSN's generic "X" protocol names its codec in `extend_config.sub_protocol`.
    let sub_protocol = config.object("extend_config").and_then(|o| {
        o.get("sub_protocol").and_then(|f| {
            let unsupported =
                |p: &str| format!("sub_protocol {p:?} is not supported (bolt, boltv2 or dubbo)");
            f.one_of(&PROTOCOL_NAMES[3..], true, unsupported)
        })
    });
    let downstream = config
        .required_str_field("downstream_protocol")
        .and_then(|(_, f)| protocol(&f, sub_protocol));
    // Defaults to the downstream protocol, as in MOSN; so does "Auto" behind an RPC
    // downstream (an RPC request goes upstream in its own protocol).
    let rpc_downstream = downstream.is_some_and(|p| p.rpc_name().is_some());
    let upstream = match config.get("upstream_protocol") {
        None => downstream,
        Some(f) => match f.as_str() {
            Some("") => downstream,
            Some(auto) if rpc_downstream && auto.eq_ignore_ascii_case("Auto") => downstream,
            Some(_) => protocol(&f, sub_protocol).filter(|&up| {
                let Some(down) = downstream else { return true };
                let ok = conversion_supported(down, up);
                if !ok {
                    f.error(format!(
                        "protocol conversion {down:?} -> {up:?} is not supported (HTTP converts \
                         to HTTP, and to bolt/boltv2 with the transcoder stream filter)"
                    ));
                }
                ok
            }),
            None => None,
        },
    };
    let router_name = config
        .required_str_field("router_config_name")
        .map(|(name, f)| {
            // Dangling, like a cluster reference: the route table may arrive later.
            if !routers.names.iter().any(|n| n == name) {
                f.warn(format!(
                    "router {name:?} is not defined in {}; requests get 404 until it is added",
                    routers.path
                ));
            }
            name
        });
    // These name the filter, pick MOSN's default handler or tune its goroutine pool.
    config.tolerate(&[
        "name",
        "router_handler_name",
        "validate_clusters",
        "concurrency_num",
    ]);
    let request_header_timeout = config
        .nonzero_duration("request_header_timeout", "no header timeout")
        .unwrap_or(DEFAULT_REQUEST_HEADER_TIMEOUT);
    let max_request_header_bytes =
        positive(config, "max_request_header_bytes").unwrap_or(DEFAULT_MAX_REQUEST_HEADER_BYTES);
    let max_request_headers =
        positive(config, "max_request_headers").unwrap_or(DEFAULT_MAX_REQUEST_HEADERS);
    let fallback_for_unknown_protocol = config
        .bool("fallback_for_unknown_protocol")
        .unwrap_or(false);
    let max_concurrent_streams =
        positive(config, "max_concurrent_streams").unwrap_or(DEFAULT_MAX_CONCURRENT_STREAMS);
    Some(ProxyConfig {
        downstream_protocol: downstream?,
        upstream_protocol: upstream?,
        router_config_name: router_name?.to_owned(),
        request_header_timeout,
        max_request_header_bytes,
        max_request_headers,
        max_concurrent_streams,
        fallback_for_unknown_protocol,
        upstream_failure_status: None,
        free_reset_retry: true,
        envoy_headers: Default::default(),
        server_name: None,
    })
}

/// Every protocol name MOSN knows, matched case-insensitively; the RPC (xprotocol) ones
/// last, as `sub_protocol` accepts only those.
const PROTOCOL_NAMES: &[(&str, Protocol)] = &[
    ("Http1", Protocol::Http1),
    ("Http2", Protocol::Http2),
    ("Auto", Protocol::Auto),
    ("bolt", Protocol::Bolt),
    ("boltv2", Protocol::BoltV2),
    ("dubbo", Protocol::Dubbo),
];

/// The protocols whose codecs are built; the others are refused by name.
const BUILT: &[Protocol] = &[
    Protocol::Http1,
    Protocol::Http2,
    Protocol::Auto,
    Protocol::Bolt,
    Protocol::BoltV2,
    Protocol::Dubbo,
];

/// Whether a `proxy` can take `down` in and send `up` out: HTTP versions convert into
/// each other, and HTTP into Bolt through the listener's `transcoder` stream filter
/// (checked with the listener); RPC frames pass through as they are, so they need the
/// same protocol.
fn conversion_supported(down: Protocol, up: Protocol) -> bool {
    let http = |p| matches!(p, Protocol::Http1 | Protocol::Http2 | Protocol::Auto);
    down == up || (http(down) && (http(up) || matches!(up, Protocol::Bolt | Protocol::BoltV2)))
}

/// A protocol name, case-insensitively, refused unless its codec is built; `"X"` stands
/// for `extend_config.sub_protocol`.
pub(crate) fn protocol(field: &Field<'_>, sub_protocol: Option<Protocol>) -> Option<Protocol> {
    if field.as_str().is_some_and(|p| p.eq_ignore_ascii_case("X")) {
        if sub_protocol.is_none() {
            field.error("protocol \"X\" needs extend_config.sub_protocol (bolt, boltv2 or dubbo)");
        }
        return sub_protocol;
    }
    let unsupported = |p: &str| format!("protocol {p:?} is not supported yet");
    let found = field.one_of(PROTOCOL_NAMES, true, unsupported)?;
    if !BUILT.contains(&found) {
        field.error(unsupported(field.as_str().unwrap_or_default()));
        return None;
    }
    Some(found)
}

/// An integer field that must be greater than 0 when present.
fn positive<T: UInt + PartialEq + From<u8>>(obj: &Obj<'_>, key: &str) -> Option<T> {
    let field = obj.get(key)?;
    let value = field.as_uint::<T>()?;
    if value == T::from(0) {
        field.error("must be greater than 0");
        return None;
    }
    Some(value)
}
