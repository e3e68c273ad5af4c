//! `HttpConnectionManager` → the `proxy` network filter ([`ProxyConfig`]), its route
//! table (RDS name or inline) and its idle timeout.

use super::{observability_feature, observed, unset};
use crate::convert::{
    config_type, duration, route, type_url, unpack, Context, ConvertError, Result,
};
use envoy_types::pb::envoy::config::core::v3::{
    config_source::ConfigSourceSpecifier, http_protocol_options::HeadersWithUnderscoresAction,
    Http2ProtocolOptions, HttpProtocolOptions,
};
use envoy_types::pb::envoy::extensions::compression::{
    brotli::compressor::v3::Brotli, gzip::compressor::v3::Gzip, zstd::compressor::v3::Zstd,
};
use envoy_types::pb::envoy::extensions::filters::http::{
    compressor::v3::Compressor, cors::v3::Cors, fault::v3::HttpFault, router::v3::Router,
};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    http_connection_manager::{
        CodecType, PathWithEscapedSlashesAction, RouteSpecifier, UpgradeConfig,
    },
    http_filter, HttpConnectionManager, HttpFilter, Rds,
};
use envoy_types::pb::google::protobuf::{Any, BoolValue};
use mosn_config::model::{EnvoyHeaders, Protocol, ProxyConfig, RouterConfig};
use std::sync::Once;
use std::time::Duration;

/// Envoy's default `common_http_protocol_options.idle_timeout`.
const ENVOY_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Envoy's default HTTP/2 `max_concurrent_streams` (2^31 - 1).
const ENVOY_MAX_CONCURRENT_STREAMS: u32 = 2_147_483_647;
/// Envoy's default `max_request_headers_kb`.
const ENVOY_MAX_REQUEST_HEADERS_KB: u32 = 60;
/// Envoy's default `common_http_protocol_options.max_headers_count`.
const ENVOY_MAX_HEADERS_COUNT: u32 = 100;
/// mosn's request header timeout, used where Envoy has none (the model cannot say "none").
const MOSN_REQUEST_HEADER_TIMEOUT: Duration = Duration::from_secs(60);
/// The HTTP filter that forwards: Envoy's last filter, mosn's proxy itself.
const ROUTER: &str = "envoy.filters.http.router";
/// Envoy's router answers 503 when the upstream cannot be connected to, or closes or
/// resets the connection before a response (mosn's own rule is 502, 504 on a connect
/// timeout).
const ENVOY_UPSTREAM_FAILURE_STATUS: u16 = 503;
/// Envoy's default `server_name`: every response's `server` header.
const ENVOY_SERVER_NAME: &str = "envoy";

/// Where a connection manager's routes come from.
#[derive(Debug)]
pub(super) enum Route {
    /// `rds.route_config_name`.
    Rds(String),
    /// `route_config`, converted and named for the chain.
    Inline(RouterConfig),
}

/// A converted connection manager.
#[derive(Debug)]
pub(super) struct Http {
    /// The `proxy` filter.
    pub proxy: ProxyConfig,
    /// `common_http_protocol_options.idle_timeout` (Envoy's default applied).
    pub idle_timeout: Duration,
    /// Its routes.
    pub route: Route,
}

/// Converts one connection manager; an inline route table gets `route_name`.
pub(super) fn convert(
    h: &HttpConnectionManager,
    route_name: &str,
    ctx: &mut Context<'_>,
) -> Result<Http> {
    #[allow(deprecated)]
    let HttpConnectionManager {
        codec_type,
        stat_prefix,
        http_filters,
        add_user_agent,
        tracing,
        common_http_protocol_options,
        http1_safe_max_connection_duration,
        http_protocol_options,
        http2_protocol_options,
        http3_protocol_options,
        server_name,
        server_header_transformation,
        scheme_header_transformation,
        max_request_headers_kb,
        stream_idle_timeout,
        stream_flush_timeout,
        request_timeout,
        request_headers_timeout,
        drain_timeout,
        drain_timeout_jitter,
        delayed_close_timeout,
        access_log,
        access_log_flush_interval,
        flush_access_log_on_new_request,
        access_log_options,
        use_remote_address,
        xff_num_trusted_hops,
        original_ip_detection_extensions,
        early_header_mutation_extensions,
        internal_address_config,
        skip_xff_append,
        via,
        generate_request_id,
        preserve_external_request_id,
        always_set_request_id_in_response,
        forward_client_cert_details,
        set_current_client_cert_details,
        forward_client_cert_matcher,
        proxy_100_continue,
        represent_ipv4_remote_address_as_ipv4_mapped_ipv6,
        upgrade_configs,
        normalize_path,
        merge_slashes,
        path_with_escaped_slashes_action,
        request_id_extension,
        local_reply_config,
        strip_matching_host_port,
        stream_error_on_invalid_http_message,
        path_normalization_options,
        strip_trailing_host_dot,
        proxy_status_config,
        typed_header_validation_config,
        append_x_forwarded_port,
        append_local_overload,
        add_proxy_protocol_connection_state,
        forward_proto_config,
        route_specifier,
        strip_port_mode,
    } = h;
    let downstream_protocol = match CodecType::try_from(*codec_type) {
        Ok(CodecType::Auto) => Protocol::Auto,
        Ok(CodecType::Http1) => Protocol::Http1,
        Ok(CodecType::Http2) => Protocol::Http2,
        _ => return Err(ConvertError::unsupported("codec_type", "codec_type HTTP3")),
    };
    flag("add_user_agent", add_user_agent)?;
    unset(
        "http1_safe_max_connection_duration",
        http1_safe_max_connection_duration,
    )?;
    unset("http_protocol_options", http_protocol_options)?;
    unset("http3_protocol_options", http3_protocol_options)?;
    unset("server_header_transformation", server_header_transformation)?;
    unset("scheme_header_transformation", scheme_header_transformation)?;
    disabled_timeout("stream_idle_timeout", stream_idle_timeout)?;
    disabled_timeout("request_timeout", request_timeout)?;
    unset("stream_flush_timeout", stream_flush_timeout)?;
    unset("drain_timeout", drain_timeout)?;
    unset("drain_timeout_jitter", drain_timeout_jitter)?;
    unset("delayed_close_timeout", delayed_close_timeout)?;
    flag("use_remote_address", use_remote_address)?;
    unset("xff_num_trusted_hops", xff_num_trusted_hops)?;
    unset(
        "original_ip_detection_extensions",
        original_ip_detection_extensions,
    )?;
    unset(
        "early_header_mutation_extensions",
        early_header_mutation_extensions,
    )?;
    unset("internal_address_config", internal_address_config)?;
    unset("skip_xff_append", skip_xff_append)?;
    unset("via", via)?;
    unset("forward_client_cert_details", forward_client_cert_details)?;
    unset(
        "set_current_client_cert_details",
        set_current_client_cert_details,
    )?;
    unset("forward_client_cert_matcher", forward_client_cert_matcher)?;
    unset("proxy_100_continue", proxy_100_continue)?;
    unset(
        "represent_ipv4_remote_address_as_ipv4_mapped_ipv6",
        represent_ipv4_remote_address_as_ipv4_mapped_ipv6,
    )?;
    flag("normalize_path", normalize_path)?;
    unset("merge_slashes", merge_slashes)?;
    escaped_slashes(*path_with_escaped_slashes_action)?;
    unset("local_reply_config", local_reply_config)?;
    unset("strip_matching_host_port", strip_matching_host_port)?;
    unset(
        "stream_error_on_invalid_http_message",
        stream_error_on_invalid_http_message,
    )?;
    unset("path_normalization_options", path_normalization_options)?;
    unset("strip_trailing_host_dot", strip_trailing_host_dot)?;
    unset("proxy_status_config", proxy_status_config)?;
    unset(
        "typed_header_validation_config",
        typed_header_validation_config,
    )?;
    unset("append_x_forwarded_port", append_x_forwarded_port)?;
    unset("append_local_overload", append_local_overload)?;
    unset(
        "add_proxy_protocol_connection_state",
        add_proxy_protocol_connection_state,
    )?;
    unset("forward_proto_config", forward_proto_config)?;
    unset("strip_port_mode", strip_port_mode)?;
    for (i, u) in upgrade_configs.iter().enumerate() {
        upgrade(u).map_err(|e| e.within(format!("upgrade_configs[{i}]")))?;
    }
    observed(ctx, "stat_prefix", !stat_prefix.is_empty());
    observed(ctx, "http.tracing", tracing.is_some());
    let logs = !access_log.is_empty()
        || access_log_flush_interval.is_some()
        || *flush_access_log_on_new_request
        || access_log_options.is_some();
    observed(ctx, "access_log", logs);
    observed(
        ctx,
        "http.request_id_extension",
        request_id_extension.is_some(),
    );
    observed(
        ctx,
        "http.generate_request_id",
        generate_request_id.is_some(),
    );
    let preserve = *preserve_external_request_id;
    observed(ctx, "http.preserve_external_request_id", preserve);
    let always = *always_set_request_id_in_response;
    observed(ctx, "http.always_set_request_id_in_response", always);

    http_filter_list(http_filters, ctx).map_err(|e| e.within("http_filters"))?;
    let common = common_options(common_http_protocol_options.as_ref())
        .map_err(|e| e.within("common_http_protocol_options"))?;
    let max_concurrent_streams = http2_options(http2_protocol_options.as_ref())
        .map_err(|e| e.within("http2_protocol_options"))?;
    let headers_kb = max_request_headers_kb.map_or(ENVOY_MAX_REQUEST_HEADERS_KB, |v| v.value);
    let request_header_timeout = match request_headers_timeout {
        Some(d) => duration(d, "request_headers_timeout")?,
        None => Duration::ZERO,
    };
    let route = routes(route_specifier.as_ref(), route_name, ctx)?;
    let router_config_name = match &route {
        Route::Rds(name) => name.clone(),
        Route::Inline(table) => table.name.clone(),
    };
    Ok(Http {
        proxy: ProxyConfig {
            downstream_protocol,
            // Envoy speaks HTTP/1.1 to a cluster that names no protocol, whatever the
            // client spoke (the cluster's own options, converted with it, come first).
            upstream_protocol: Protocol::Http1,
            router_config_name,
            request_header_timeout: if request_header_timeout.is_zero() {
                MOSN_REQUEST_HEADER_TIMEOUT
            } else {
                request_header_timeout
            },
            max_request_header_bytes: usize::try_from(headers_kb)
                .unwrap_or(usize::MAX)
                .saturating_mul(1024),
            max_request_headers: usize::try_from(common.max_headers).unwrap_or(usize::MAX),
            max_concurrent_streams,
            fallback_for_unknown_protocol: false,
            upstream_failure_status: Some(ENVOY_UPSTREAM_FAILURE_STATUS),
            // Envoy resends a request whose connection was reset only under the route's
            // retry policy.
            free_reset_retry: false,
            server_name: Some(if server_name.is_empty() {
                ENVOY_SERVER_NAME.to_owned()
            } else {
                server_name.clone()
            }),
            envoy_headers: EnvoyHeaders {
                strip_internal: true,
                add: !suppresses_envoy_headers(http_filters),
            },
        },
        idle_timeout: common.idle_timeout,
        route,
    })
}

/// Refuses a `BoolValue` set to true, for switches mosn does not have.
fn flag(field: &str, value: &Option<BoolValue>) -> Result<()> {
    unset(field, &value.is_some_and(|b| b.value))
}

/// Refuses a timeout mosn does not have unless it is 0 (disabled, as in mosn).
fn disabled_timeout(
    field: &str,
    value: &Option<envoy_types::pb::google::protobuf::Duration>,
) -> Result<()> {
    match value {
        Some(d) if !duration(d, field)?.is_zero() => Err(ConvertError::unsupported(field, field)),
        _ => Ok(()),
    }
}

/// `path_with_escaped_slashes_action`: mosn keeps `%2F` and `%5C` as they are.
fn escaped_slashes(action: i32) -> Result<()> {
    match PathWithEscapedSlashesAction::try_from(action) {
        Ok(
            PathWithEscapedSlashesAction::ImplementationSpecificDefault
            | PathWithEscapedSlashesAction::KeepUnchanged,
        ) => Ok(()),
        _ => Err(ConvertError::unsupported(
            "path_with_escaped_slashes_action",
            "an escaped slashes action other than KEEP_UNCHANGED",
        )),
    }
}

/// One `upgrade_configs` entry: mosn relays WebSocket upgrades, nothing else, unfiltered.
fn upgrade(u: &UpgradeConfig) -> Result<()> {
    let UpgradeConfig {
        upgrade_type,
        filters,
        enabled,
    } = u;
    if !upgrade_type.eq_ignore_ascii_case("websocket") {
        return Err(ConvertError::unsupported(
            "upgrade_type",
            format!("upgrade {upgrade_type:?}"),
        ));
    }
    unset("filters", filters)?;
    if enabled.is_some_and(|e| !e.value) {
        return Err(ConvertError::unsupported(
            "enabled",
            "refusing WebSocket upgrades",
        ));
    }
    Ok(())
}

/// What `common_http_protocol_options` sets, Envoy's defaults applied.
struct Common {
    idle_timeout: Duration,
    max_headers: u32,
}

/// `common_http_protocol_options`: the idle timeout and the header count limit.
fn common_options(o: Option<&HttpProtocolOptions>) -> Result<Common> {
    let Some(o) = o else {
        return Ok(Common {
            idle_timeout: ENVOY_IDLE_TIMEOUT,
            max_headers: ENVOY_MAX_HEADERS_COUNT,
        });
    };
    let HttpProtocolOptions {
        idle_timeout,
        max_connection_duration,
        max_connection_duration_jitter,
        max_headers_count,
        max_response_headers_kb,
        max_stream_duration,
        headers_with_underscores_action,
        max_requests_per_connection,
    } = o;
    unset("max_connection_duration", max_connection_duration)?;
    unset(
        "max_connection_duration_jitter",
        max_connection_duration_jitter,
    )?;
    unset("max_response_headers_kb", max_response_headers_kb)?;
    unset("max_stream_duration", max_stream_duration)?;
    unset("max_requests_per_connection", max_requests_per_connection)?;
    if *headers_with_underscores_action != HeadersWithUnderscoresAction::Allow as i32 {
        return Err(ConvertError::unsupported(
            "headers_with_underscores_action",
            "rejecting or dropping headers with underscores",
        ));
    }
    let idle_timeout = match idle_timeout {
        Some(d) => duration(d, "idle_timeout")?,
        None => ENVOY_IDLE_TIMEOUT,
    };
    if idle_timeout.is_zero() {
        return Err(ConvertError::unsupported(
            "idle_timeout",
            "an idle timeout of 0 (never close idle connections)",
        ));
    }
    Ok(Common {
        idle_timeout,
        max_headers: max_headers_count.map_or(ENVOY_MAX_HEADERS_COUNT, |c| c.value),
    })
}

/// `http2_protocol_options`: only `max_concurrent_streams` has a counterpart.
fn http2_options(o: Option<&Http2ProtocolOptions>) -> Result<u32> {
    let Some(o) = o else {
        return Ok(ENVOY_MAX_CONCURRENT_STREAMS);
    };
    if o.allow_connect {
        return Err(ConvertError::unsupported("allow_connect", "HTTP/2 CONNECT"));
    }
    let rest = Http2ProtocolOptions {
        max_concurrent_streams: None,
        ..o.clone()
    };
    if rest != Http2ProtocolOptions::default() {
        return Err(ConvertError::unsupported(
            "",
            "HTTP/2 settings other than max_concurrent_streams",
        ));
    }
    let streams = o
        .max_concurrent_streams
        .map_or(ENVOY_MAX_CONCURRENT_STREAMS, |s| s.value);
    if streams == 0 {
        return Err(ConvertError::new(
            "max_concurrent_streams",
            "must be at least 1",
        ));
    }
    Ok(streams)
}

/// `rds` (over ADS) or an inline `route_config`.
fn routes(
    specifier: Option<&RouteSpecifier>,
    route_name: &str,
    ctx: &mut Context<'_>,
) -> Result<Route> {
    match specifier {
        Some(RouteSpecifier::Rds(rds)) => rds_name(rds).map_err(|e| e.within("rds")),
        Some(RouteSpecifier::RouteConfig(config)) => {
            let mut table =
                route::route_configuration(config, ctx).map_err(|e| e.within("route_config"))?;
            table.name = route_name.to_owned();
            Ok(Route::Inline(table))
        }
        Some(RouteSpecifier::ScopedRoutes(_)) => {
            Err(ConvertError::unsupported("scoped_routes", "scoped_routes"))
        }
        None => Err(ConvertError::new(
            "",
            "an HTTP connection manager needs rds or route_config",
        )),
    }
}

/// The route configuration an `rds` names; it must come over the same ADS stream.
fn rds_name(rds: &Rds) -> Result<Route> {
    let over_ads = rds.config_source.as_ref().is_some_and(|s| {
        matches!(
            s.config_source_specifier,
            Some(ConfigSourceSpecifier::Ads(_) | ConfigSourceSpecifier::Self_(_))
        )
    });
    if !over_ads {
        return Err(ConvertError::unsupported(
            "config_source",
            "a route config source other than ADS",
        ));
    }
    if rds.route_config_name.is_empty() {
        return Err(ConvertError::new("route_config_name", "must not be empty"));
    }
    Ok(Route::Rds(rds.route_config_name.clone()))
}

/// The `http_filters`: observability no-ops and inert filters, then the router, last.
fn http_filter_list(filters: &[HttpFilter], ctx: &mut Context<'_>) -> Result<()> {
    let Some((last, before)) = filters.split_last() else {
        return Err(ConvertError::new(
            "",
            format!("the last HTTP filter must be {ROUTER}"),
        ));
    };
    for (k, f) in before.iter().enumerate() {
        http_filter(f, false, ctx).map_err(|e| e.within(format!("[{k}]")))?;
    }
    http_filter(last, true, ctx).map_err(|e| e.within(format!("[{}]", before.len())))
}

/// One HTTP filter; `last` says whether it is the list's last.
fn http_filter(f: &HttpFilter, last: bool, ctx: &mut Context<'_>) -> Result<()> {
    let any = match &f.config_type {
        Some(http_filter::ConfigType::TypedConfig(any)) => Some(any),
        Some(http_filter::ConfigType::ConfigDiscovery(_)) => {
            return Err(ConvertError::unsupported(
                "config_discovery",
                "config_discovery (ECDS)",
            ))
        }
        None => None,
    };
    let is_router = match any {
        Some(any) => config_type(any) == type_url::<Router>(),
        None => f.name == ROUTER,
    };
    match (is_router, last) {
        (true, true) => return router(any, ctx).map_err(|e| e.within("typed_config")),
        (true, false) => {
            return Err(ConvertError::new(
                "",
                format!("{ROUTER} must be the last HTTP filter"),
            ))
        }
        (false, true) => {
            return Err(ConvertError::new(
                "",
                format!("the last HTTP filter must be {ROUTER}"),
            ))
        }
        (false, false) if f.disabled => return Ok(()),
        (false, false) => {}
    }
    let Some(any) = any else {
        return Err(ConvertError::new(
            "",
            format!("filter {:?} needs a typed_config", f.name),
        ));
    };
    inert_filter(any, ctx).map_err(|e| e.within("typed_config"))
}

/// A filter before the router: telemetry (counted), `fault`/`cors` with nothing set
/// (they act only through per-route configuration, which the route conversion refuses),
/// or a compressor (counted, see [`compressor`]).
fn inert_filter(any: &Any, ctx: &mut Context<'_>) -> Result<()> {
    if let Some(feature) = observability_feature(any) {
        ctx.ignore(feature);
        return Ok(());
    }
    let type_url = config_type(any);
    if type_url == crate::convert::type_url::<HttpFault>() {
        let fault: HttpFault = unpack(any, "")?;
        if fault != HttpFault::default() {
            return Err(ConvertError::unsupported("", "fault injection"));
        }
        ctx.ignore("http.fault");
        return Ok(());
    }
    if type_url == crate::convert::type_url::<Cors>() {
        let _: Cors = unpack(any, "")?;
        ctx.ignore("http.cors");
        return Ok(());
    }
    if type_url == crate::convert::type_url::<Compressor>() {
        return compressor(any, ctx);
    }
    Err(ConvertError::unsupported(
        "",
        format!("HTTP filter {type_url}"),
    ))
}

/// `envoy.filters.http.compressor`, accepted as a counted no-op (`http.compressor`): mosn
/// sends each body in the encoding the upstream gave it.
///
/// That changes bandwidth, not meaning. Identity is always a valid answer to
/// `Accept-Encoding` (content negotiation lets a server ignore it), and every setting of
/// the filter only decides whether Envoy compresses: `content_type`, `min_content_length`,
/// `disable_on_etag_header`/`weaken_etag_on_compress` (ETags change only on a body Envoy
/// compressed), `choose_first`, `enabled`. Two settings reach further, and stay within
/// encodings the peer accepts: `request_direction_config` compresses request bodies
/// (without it the upstream reads them as sent, in identity), and
/// `remove_accept_encoding_header` hides the client's `Accept-Encoding` from the upstream
/// so that only Envoy compresses (without it the upstream may compress, in an encoding
/// that client listed). The library must be one Envoy ships (gzip, brotli, zstd), as
/// Envoy refuses others.
fn compressor(any: &Any, ctx: &mut Context<'_>) -> Result<()> {
    let config: Compressor = unpack(any, "")?;
    let library = config.compressor_library.as_ref();
    let Some(library) = library.and_then(|l| l.typed_config.as_ref()) else {
        return Err(ConvertError::new(
            "compressor_library.typed_config",
            "is required",
        ));
    };
    let kind = config_type(library);
    let known = [type_url::<Gzip>(), type_url::<Brotli>(), type_url::<Zstd>()];
    if !known.contains(&kind) {
        return Err(ConvertError::unsupported(
            "compressor_library.typed_config",
            format!("compressor library {kind}"),
        ));
    }
    static NOTED: Once = Once::new();
    NOTED.call_once(|| {
        tracing::info!(
            "envoy.filters.http.compressor is accepted without effect: mosn sends \
             responses in the encoding the upstream gave them, uncompressed by mosn"
        );
    });
    ctx.ignore("http.compressor");
    Ok(())
}

/// The router's `suppress_envoy_headers` (the router is the last filter, checked before).
fn suppresses_envoy_headers(filters: &[HttpFilter]) -> bool {
    let router = filters.last().and_then(|f| match &f.config_type {
        Some(http_filter::ConfigType::TypedConfig(any)) => unpack::<Router>(any, "").ok(),
        _ => None,
    });
    router.is_some_and(|r| r.suppress_envoy_headers)
}

/// The router's own settings: only those that change observability may be set.
fn router(any: Option<&Any>, ctx: &mut Context<'_>) -> Result<()> {
    let Some(any) = any else { return Ok(()) };
    let r: Router = unpack(any, "")?;
    #[allow(deprecated)]
    let Router {
        dynamic_stats,
        start_child_span,
        upstream_log,
        upstream_log_options,
        suppress_envoy_headers: _, // see suppresses_envoy_headers
        strict_check_headers,
        respect_expected_rq_timeout,
        suppress_grpc_request_failure_code_stats,
        upstream_http_filters,
        reject_connect_request_early_data,
    } = &r;
    observed(ctx, "router.dynamic_stats", dynamic_stats.is_some());
    observed(ctx, "http.tracing", *start_child_span);
    let logs = !upstream_log.is_empty() || upstream_log_options.is_some();
    observed(ctx, "access_log", logs);
    let grpc_stats = *suppress_grpc_request_failure_code_stats;
    observed(
        ctx,
        "router.suppress_grpc_request_failure_code_stats",
        grpc_stats,
    );
    unset("strict_check_headers", strict_check_headers)?;
    unset("respect_expected_rq_timeout", respect_expected_rq_timeout)?;
    unset("upstream_http_filters", upstream_http_filters)?;
    unset(
        "reject_connect_request_early_data",
        reject_connect_request_early_data,
    )
}
