//! Envoy `Listener`s → mosn's `ListenerConfig`: every listener of a real Istio sidecar's
//! config dump, and hand-written listeners for each field that converts and each that is
//! refused.

use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
use mosn_config::model::{
    Address, CidrRange, FilterChainMatch, NetworkFilterConfig, Protocol, TransportProtocol,
};
use mosn_xds::convert::listener::{listener, ListenerPlan};
use mosn_xds::convert::{Context, ConvertError};
use prost::Message;
use prost_reflect::{DynamicMessage, ReflectMessage, Value};
use std::time::Duration;

const ISTIO_LISTENERS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/istio/01-sidecar-listeners-configdump.json"
);

/// Marks the `StringValue` that stands in for an `Any` of a type this build lacks.
const UNKNOWN: &str = "unknown-any:";

/// Reads an Envoy listener from proto3 JSON (a leading `@type` is allowed).
///
/// `proto::from_json` needs every `Any`'s type in envoy-types' pool; Istio's own types
/// (`stats.PluginConfig`, the ALPN filter, `TypedStruct`s of Istio filters) are not.
/// Such an `Any` is read as it would arrive over ADS to a converter that only looks at
/// its type: the same `type_url` (a `TypedStruct`'s inner one) and an opaque value.
fn read(json: &serde_json::Value) -> Listener {
    let mut json = json.clone();
    if let Some(object) = json.as_object_mut() {
        object.remove("@type");
    }
    stand_in_unknown_anys(&mut json);
    let typed: Listener = mosn_xds::proto::from_json(&json, false).expect("the listener reads");
    let mut message = dynamic(&typed);
    restore_unknown_anys(&mut message);
    message.transcode_to().expect("the listener transcodes")
}

/// Replaces each `Any` of a type the pool lacks by a `StringValue` carrying its type.
fn stand_in_unknown_anys(json: &mut serde_json::Value) {
    match json {
        serde_json::Value::Object(object) => {
            let type_url = object
                .get("@type")
                .and_then(|t| t.as_str())
                .map(str::to_owned);
            if let Some(type_url) = type_url {
                let name = type_url.trim_start_matches("type.googleapis.com/");
                if mosn_xds::proto::pool().get_message_by_name(name).is_none() {
                    let inner = match name {
                        "udpa.type.v1.TypedStruct" | "xds.type.v3.TypedStruct" => {
                            object["type_url"].as_str().unwrap_or_default().to_owned()
                        }
                        _ => type_url,
                    };
                    *json = serde_json::json!({
                        "@type": "type.googleapis.com/google.protobuf.StringValue",
                        "value": format!("{UNKNOWN}{inner}"),
                    });
                    return;
                }
            }
            object.values_mut().for_each(stand_in_unknown_anys);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(stand_in_unknown_anys),
        _ => {}
    }
}

/// Turns the stand-ins back into `Any`s of their original type, inside `Any`s too.
fn restore_unknown_anys(message: &mut DynamicMessage) {
    if message.descriptor().full_name() == "google.protobuf.Any" {
        restore_any(message);
        return;
    }
    for (_, value) in message.fields_mut() {
        restore_value(value);
    }
}

fn restore_value(value: &mut Value) {
    match value {
        Value::Message(m) => restore_unknown_anys(m),
        Value::List(items) => items.iter_mut().for_each(restore_value),
        Value::Map(entries) => entries.values_mut().for_each(restore_value),
        _ => {}
    }
}

fn restore_any(any: &mut DynamicMessage) {
    let mut typed: envoy_types::pb::google::protobuf::Any = any.transcode_to().unwrap();
    let name = typed.type_url.trim_start_matches("type.googleapis.com/");
    if name == "google.protobuf.StringValue" {
        let s = String::decode(typed.value.as_slice()).unwrap_or_default();
        if let Some(original) = s.strip_prefix(UNKNOWN) {
            typed.type_url = original.to_owned();
            typed.value.clear();
        }
    } else if let Some(descriptor) = mosn_xds::proto::pool().get_message_by_name(name) {
        let mut inner = DynamicMessage::decode(descriptor, typed.value.as_slice()).unwrap();
        restore_unknown_anys(&mut inner);
        typed.value = inner.encode_to_vec();
    }
    *any = dynamic(&typed);
}

/// A typed message as a dynamic one, to walk its fields.
fn dynamic<T: Message + prost::Name>(message: &T) -> DynamicMessage {
    let descriptor = mosn_xds::proto::pool()
        .get_message_by_name(&T::full_name())
        .unwrap();
    DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice()).unwrap()
}

/// Reads a listener written as YAML.
fn yaml(text: &str) -> Listener {
    read(&mosn_xds::proto::parse_document(text).unwrap())
}

/// Converts, expecting success; returns the plan and the counted no-ops.
fn converts(l: &Listener) -> (ListenerPlan, Vec<(&'static str, u64)>) {
    let mut ctx = Context::default();
    let plan = listener(l, &mut ctx).unwrap_or_else(|e| panic!("{}: {e}", l.name));
    (plan, ctx.ignored.into_iter().collect())
}

/// Converts, expecting a refusal; returns it as `path: reason`.
fn refused(l: &Listener) -> String {
    let mut ctx = Context::default();
    match listener(l, &mut ctx) {
        Ok(plan) => panic!("{} converted: {plan:?}", l.name),
        Err(e) => e.to_string(),
    }
}

/// The Istio dump's listeners, static then dynamic.
fn istio_listeners() -> Vec<Listener> {
    let text = std::fs::read_to_string(ISTIO_LISTENERS).unwrap();
    let dump: serde_json::Value = serde_json::from_str(&text).unwrap();
    let listeners = &dump["configs"][0];
    let statics = listeners["static_listeners"].as_array().unwrap().iter();
    let dynamics = listeners["dynamic_listeners"].as_array().unwrap().iter();
    statics
        .map(|e| &e["listener"])
        .chain(dynamics.map(|e| &e["active_state"]["listener"]))
        .map(read)
        .collect()
}

/// Refusals shared by several Istio listeners.
const UNNAMED: &str = "name: must not be empty: mosn keys listeners by name";
const HTTP_INSPECTOR: &str = "listener_filters[1].typed_config: listener filter \
     type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector \
     is not supported by mosn";
const INTERNAL: &str = "listener_specifier: listener_specifier is not supported by mosn";

#[test]
fn every_istio_sidecar_listener_converts_or_is_refused_with_the_field_named() {
    let expected: Vec<(&str, &str)> = vec![
        ("", UNNAMED),
        ("", UNNAMED),
        ("10.102.11.148_15021", "converts"),
        ("10.108.65.203_443", "converts"),
        ("10.96.0.1_443", "converts"),
        ("10.111.137.16_15021", "converts"),
        ("10.98.166.148_443", "converts"),
        ("10.100.160.191_15021", "converts"),
        ("10.109.111.153_15021", "converts"),
        ("10.100.228.83_15021", "converts"),
        ("10.96.0.10_53", "converts"),
        ("10.108.65.203_15012", "converts"),
        ("0.0.0.0_9080", HTTP_INSPECTOR),
        ("0.0.0.0_80", HTTP_INSPECTOR),
        ("10.109.111.153_15008", HTTP_INSPECTOR),
        ("10.111.137.16_15008", HTTP_INSPECTOR),
        ("10.96.0.10_9153", HTTP_INSPECTOR),
        ("10.100.228.83_15008", HTTP_INSPECTOR),
        ("0.0.0.0_15014", HTTP_INSPECTOR),
        ("0.0.0.0_8000", HTTP_INSPECTOR),
        ("0.0.0.0_15010", HTTP_INSPECTOR),
        ("10.100.4.52_443", HTTP_INSPECTOR),
        ("0.0.0.0_5000", HTTP_INSPECTOR),
        ("10.102.11.148_15008", HTTP_INSPECTOR),
        (
            "virtualOutbound",
            "use_original_dst: handing redirected connections off to the listener of their \
             original destination is not supported by mosn",
        ),
        (
            "virtualInbound",
            "listener_filters[1].filter_disabled: filter_disabled is not supported by mosn",
        ),
        (
            "connect_terminate",
            "filter_chains[0].filters[0].typed_config: network filter \
             type.googleapis.com/io.istio.network.authn.Config is not supported by mosn",
        ),
        ("main_internal", INTERNAL),
        ("connect_originate", INTERNAL),
    ];
    let outcomes: Vec<(String, String)> = istio_listeners()
        .iter()
        .map(|l| {
            let mut ctx = Context::default();
            let outcome = match listener(l, &mut ctx) {
                Ok(_) => "converts".to_owned(),
                Err(e) => e.to_string(),
            };
            (l.name.clone(), outcome)
        })
        .collect();
    let expected: Vec<(String, String)> = expected
        .into_iter()
        .map(|(n, o)| (n.to_owned(), o.to_owned()))
        .collect();
    assert_eq!(outcomes, expected);
}

#[test]
fn istio_inbound_mtls_chain_gets_past_its_tls_to_istios_authn_filter() {
    let mut l = istio_listeners()
        .into_iter()
        .find(|l| l.name == "virtualInbound")
        .unwrap();
    l.listener_filters.clear();
    l.default_filter_chain = None;
    l.filter_chains = vec![l.filter_chains[1].clone()];
    assert!(l.filter_chains[0].transport_socket.is_some());
    let mut ctx = Context::default();
    let e = listener(&l, &mut ctx).unwrap_err();
    assert_eq!(
        e.to_string(),
        "filter_chains[0].filters[0].typed_config: network filter \
         type.googleapis.com/io.istio.network.authn.Config is not supported by mosn"
    );
    // Its TLS context converted first, leaving out the two static-RSA suites.
    assert_eq!(ctx.ignored.get("tls.cipher_suites.unsupported"), Some(&2));
}

#[test]
fn istio_outbound_tcp_listener_is_a_virtual_tcp_proxy_with_its_telemetry_counted() {
    let l = istio_listeners()
        .into_iter()
        .find(|l| l.name == "10.96.0.1_443")
        .unwrap();
    let (plan, ignored) = converts(&l);
    let cluster = "outbound|443||kubernetes.default.svc.cluster.local";
    assert_eq!(
        plan.listener.address,
        Address::Tcp("10.96.0.1:443".parse().unwrap())
    );
    assert!(!plan.listener.bind_port);
    let chain = &plan.listener.filter_chains[0];
    let NetworkFilterConfig::TcpProxy(tcp) = &chain.filters[0] else {
        panic!("{chain:?}")
    };
    assert_eq!(tcp.cluster.as_deref(), Some(cluster));
    assert_eq!(tcp.idle_timeout, Some(Duration::from_secs(3600)));
    assert_eq!(tcp.max_connect_attempts, 1);
    assert!(plan.rds.is_empty() && plan.inline_routes.is_empty());
    assert_eq!(
        ignored,
        [
            ("istio.stats", 1),
            ("stat_prefix", 1),
            ("traffic_direction", 1)
        ]
    );
}

#[test]
fn istio_outbound_http_listener_fails_on_plaintext_detection_its_match_normalize_path_and_alpn() {
    let mut l = istio_listeners()
        .into_iter()
        .find(|l| l.name == "0.0.0.0_80")
        .unwrap();
    l.listener_filters.clear();
    assert_eq!(
        refused(&l),
        "filter_chains[0].filter_chain_match.application_protocols: matching TLS connections \
         on a chain without a TLS transport_socket (TLS passthrough, or plaintext protocol \
         detection) is not supported by mosn"
    );
    l.filter_chains[0].filter_chain_match = None;
    let at = "filter_chains[0].filters[0].typed_config";
    assert_eq!(
        refused(&l),
        format!("{at}.normalize_path: normalize_path is not supported by mosn")
    );
    edit_hcm(&mut l, |h| h.normalize_path = None);
    assert_eq!(
        refused(&l),
        format!(
            "{at}.http_filters[2].typed_config: HTTP filter \
             type.googleapis.com/istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig is \
             not supported by mosn"
        )
    );
    edit_hcm(&mut l, |h| {
        h.http_filters.remove(2);
    });
    let (plan, ignored) = converts(&l);
    assert_eq!(plan.rds, ["80"]);
    assert_eq!(
        plan.listener.filter_chains.len(),
        2,
        "the default chain is the catch-all"
    );
    assert_eq!(
        ignored,
        [
            ("grpc_stats", 1),
            ("http.cors", 1),
            ("http.fault", 1),
            ("http.request_id_extension", 1),
            ("http.tracing", 1),
            ("istio.metadata_exchange", 1),
            ("istio.stats", 2),
            ("stat_prefix", 2),
            ("traffic_direction", 1)
        ]
    );
}

/// Changes the connection manager of a listener's first chain.
fn edit_hcm(l: &mut Listener, edit: impl FnOnce(&mut HttpConnectionManager)) {
    use envoy_types::pb::envoy::config::listener::v3::filter::ConfigType;
    let Some(ConfigType::TypedConfig(any)) = &mut l.filter_chains[0].filters[0].config_type else {
        panic!("no typed_config")
    };
    let mut hcm = HttpConnectionManager::decode(any.value.as_slice()).unwrap();
    edit(&mut hcm);
    any.value = hcm.encode_to_vec();
}

#[test]
fn istio_static_listener_with_a_name_converts_its_inline_routes_under_a_name_of_its_own() {
    let mut l = istio_listeners().remove(0);
    l.name = "0.0.0.0_15090".into();
    let (plan, _) = converts(&l);
    assert_eq!(plan.inline_routes.len(), 1);
    assert_eq!(plan.inline_routes[0].name, "0.0.0.0_15090#0");
    assert!(plan.rds.is_empty());
    let NetworkFilterConfig::Proxy(p) = &plan.listener.filter_chains[0].filters[0] else {
        panic!("{plan:?}")
    };
    assert_eq!(p.router_config_name, "0.0.0.0_15090#0");
}

/// A plaintext chain with an HTTP connection manager over RDS, `extra` added to it.
fn rds_hcm(route: &str, extra: &str) -> String {
    format!(
        r#"
        - name: envoy.filters.network.http_connection_manager
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
            stat_prefix: in
            rds: {{route_config_name: {route}, config_source: {{ads: {{}}}}}}
            http_filters:
            - name: envoy.filters.http.router
              typed_config: {{"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}
{extra}"#
    )
}

/// A listener on 127.0.0.1:8080 with one chain of `filters`.
fn one_chain(filters: &str) -> Listener {
    yaml(&format!(
        r#"
name: l
address: {{socket_address: {{address: 127.0.0.1, port_value: 8080}}}}
filter_chains:
- filters:
{filters}
"#
    ))
}

/// A `tcp_proxy` filter to `cluster`.
fn tcp(cluster: &str) -> String {
    format!(
        r#"
        - name: tcp
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
            stat_prefix: t
            cluster: {cluster}
"#
    )
}

#[test]
fn tcp_proxy_listener_converts_address_bind_port_timeouts_and_counts_observability() {
    let l = yaml(
        r#"
name: tcp6
address: {socket_address: {address: "::1", port_value: 9000}}
bind_to_port: false
stat_prefix: s
traffic_direction: INBOUND
access_log:
- name: envoy.access_loggers.stdout
  typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog}
filter_chains:
- filters:
  - name: tcp
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: t
      cluster: backend
      idle_timeout: 0s
      max_connect_attempts: 3
"#,
    );
    let (plan, ignored) = converts(&l);
    assert_eq!(
        plan.listener.address,
        Address::Tcp("[::1]:9000".parse().unwrap())
    );
    assert!(!plan.listener.bind_port);
    assert_eq!(plan.listener.connection_idle_timeout, None);
    let NetworkFilterConfig::TcpProxy(t) = &plan.listener.filter_chains[0].filters[0] else {
        panic!("{plan:?}")
    };
    assert_eq!(t.idle_timeout, None, "0s disables the idle timeout");
    assert_eq!(t.max_connect_attempts, 3);
    assert_eq!(
        ignored,
        [
            ("access_log", 1),
            ("stat_prefix", 2),
            ("traffic_direction", 1)
        ]
    );
}

#[test]
fn pipe_address_becomes_a_unix_socket() {
    let mut l = one_chain(&tcp("c"));
    l.address = yaml("address: {pipe: {path: /tmp/l.sock}}").address;
    assert_eq!(
        converts(&l).0.listener.address,
        Address::Unix("/tmp/l.sock".into())
    );
    l.address = yaml("address: {pipe: {path: '@abstract'}}").address;
    assert_eq!(
        refused(&l),
        r#"address.pipe.path: Unix socket path "@abstract" is not supported by mosn"#
    );
}

#[test]
fn http_connection_manager_converts_its_protocol_limits_timeouts_and_rds_name() {
    let extra = r#"
            codec_type: HTTP2
            request_headers_timeout: 5s
            max_request_headers_kb: 96
            stream_idle_timeout: 0s
            request_timeout: 0s
            use_remote_address: false
            normalize_path: false
            path_with_escaped_slashes_action: KEEP_UNCHANGED
            common_http_protocol_options: {idle_timeout: 30s, max_headers_count: 50}
            http2_protocol_options: {max_concurrent_streams: 77}
            upgrade_configs: [{upgrade_type: websocket}]
            tracing: {}
            generate_request_id: true"#;
    let hcm = rds_hcm("r1", extra).replace(
        "            http_filters:\n",
        r#"            http_filters:
            - name: envoy.filters.http.fault
              typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault}
            - name: envoy.filters.http.cors
              typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors}
            - name: envoy.filters.http.grpc_stats
              typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig, emit_filter_state: true}
"#,
    );
    let (plan, ignored) = converts(&one_chain(&hcm));
    assert_eq!(plan.rds, ["r1"]);
    assert_eq!(
        plan.listener.connection_idle_timeout,
        Some(Duration::from_secs(30))
    );
    assert!(plan.listener.stream_filters.is_empty());
    let NetworkFilterConfig::Proxy(p) = &plan.listener.filter_chains[0].filters[0] else {
        panic!("{plan:?}")
    };
    assert_eq!(p.downstream_protocol, Protocol::Http2);
    // A cluster without protocol options gets HTTP/1.1 from Envoy, even for HTTP/2 clients.
    assert_eq!(p.upstream_protocol, Protocol::Http1);
    assert_eq!(p.router_config_name, "r1");
    assert_eq!(p.request_header_timeout, Duration::from_secs(5));
    assert_eq!(p.max_request_header_bytes, 96 * 1024);
    assert_eq!(p.max_request_headers, 50);
    assert_eq!(p.max_concurrent_streams, 77);
    assert!(!p.fallback_for_unknown_protocol);
    // Envoy's router answers connect failures and resets with 503 (MOSN: 502).
    assert_eq!(p.upstream_failure_status, Some(503));
    // ... and resends a request after a reset only under the retry policy.
    assert!(!p.free_reset_retry);
    // ... strips the x-envoy-* headers clients must not set, and adds its own.
    assert!(p.envoy_headers.strip_internal && p.envoy_headers.add);
    // Every response says `server: envoy` (the default server_name).
    assert_eq!(p.server_name.as_deref(), Some("envoy"));
    assert_eq!(
        ignored,
        [
            ("grpc_stats", 1),
            ("http.cors", 1),
            ("http.fault", 1),
            ("http.generate_request_id", 1),
            ("http.tracing", 1),
            ("stat_prefix", 1)
        ]
    );
}

#[test]
fn http_connection_manager_gets_envoys_defaults_where_it_sets_nothing() {
    let (plan, _) = converts(&one_chain(&rds_hcm("r", "")));
    assert_eq!(
        plan.listener.connection_idle_timeout,
        Some(Duration::from_secs(3600))
    );
    let NetworkFilterConfig::Proxy(p) = &plan.listener.filter_chains[0].filters[0] else {
        panic!("{plan:?}")
    };
    assert_eq!(p.downstream_protocol, Protocol::Auto);
    assert_eq!(p.max_request_header_bytes, 60 * 1024);
    assert_eq!(p.max_request_headers, 100);
    assert_eq!(p.max_concurrent_streams, 2_147_483_647);
}

#[test]
fn filter_chain_match_criteria_convert_and_rds_names_are_listed_once() {
    let l = yaml(&format!(
        r#"
name: m
address: {{socket_address: {{address: 0.0.0.0, port_value: 80}}}}
filter_chains:
- filter_chain_match:
    destination_port: 8080
    transport_protocol: raw_buffer
  filters:
{}
- filter_chain_match:
    prefix_ranges: [{{address_prefix: 10.0.0.0, prefix_len: 8}}]
    source_prefix_ranges: [{{address_prefix: "fd00::", prefix_len: 16}}]
    source_ports: [1234]
    transport_protocol: raw_buffer
  filters:
{}
"#,
        rds_hcm("shared", ""),
        rds_hcm("shared", "")
    ));
    let (plan, _) = converts(&l);
    assert_eq!(plan.rds, ["shared"]);
    let matches: Vec<&FilterChainMatch> = plan
        .listener
        .filter_chains
        .iter()
        .map(|c| &c.filter_chain_match)
        .collect();
    assert_eq!(
        *matches[0],
        FilterChainMatch {
            destination_port: Some(8080),
            transport_protocol: Some(TransportProtocol::RawBuffer),
            ..Default::default()
        }
    );
    assert_eq!(
        *matches[1],
        FilterChainMatch {
            prefix_ranges: vec![CidrRange {
                address: "10.0.0.0".parse().unwrap(),
                prefix_len: 8
            }],
            source_prefix_ranges: vec![CidrRange {
                address: "fd00::".parse().unwrap(),
                prefix_len: 16
            }],
            source_ports: vec![1234],
            transport_protocol: Some(TransportProtocol::RawBuffer),
            ..Default::default()
        }
    );
}

/// A listener whose chains are `chains` (YAML list items) plus a tcp_proxy default chain.
fn with_default(chains: &str) -> Listener {
    yaml(&format!(
        r#"
name: d
address: {{socket_address: {{address: 0.0.0.0, port_value: 80}}}}
filter_chains:
{chains}
default_filter_chain:
  filters:
{}
"#,
        tcp("passthrough")
    ))
}

#[test]
fn default_filter_chain_is_a_trailing_catch_all_when_every_chain_has_one_criterion() {
    let l = with_default(&format!(
        "- filter_chain_match: {{destination_port: 81}}\n  filters:\n{}",
        tcp("a")
    ));
    let (plan, _) = converts(&l);
    let chains = &plan.listener.filter_chains;
    assert_eq!(chains.len(), 2);
    assert_eq!(chains[1].filter_chain_match, FilterChainMatch::default());
    let NetworkFilterConfig::TcpProxy(t) = &chains[1].filters[0] else {
        panic!("{chains:?}")
    };
    assert_eq!(t.cluster.as_deref(), Some("passthrough"));
}

#[test]
fn default_filter_chain_beside_a_chain_with_two_criteria_is_refused() {
    let l = with_default(&format!(
        "- filter_chain_match: {{destination_port: 81, source_ports: [5]}}\n  filters:\n{}",
        tcp("a")
    ));
    assert_eq!(
        refused(&l),
        "default_filter_chain: a default chain beside filter_chains[0], which matches on more \
         than one criterion, is not supported by mosn: a connection that fails its later \
         criteria gets no chain in mosn, the default chain in Envoy"
    );
}

/// A TLS transport socket whose certificate comes over SDS.
const TLS_SOCKET: &str = r#"
  transport_socket:
    name: tls
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
      common_tls_context:
        tls_certificate_sds_secret_configs: [{name: default, sds_config: {ads: {}}}]
"#;

/// A listener with a TLS chain and a plaintext chain, with the given matches.
fn mixed(tls_match: &str, plain_match: &str) -> Listener {
    yaml(&format!(
        r#"
name: mixed
address: {{socket_address: {{address: 0.0.0.0, port_value: 443}}}}
listener_filters:
- name: tls
  typed_config: {{"@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector}}
filter_chains:
- filter_chain_match: {tls_match}
{TLS_SOCKET}
  filters:
{}
- filter_chain_match: {plain_match}
  filters:
{}
"#,
        tcp("secure"),
        tcp("plain")
    ))
}

#[test]
fn tls_and_plaintext_chains_convert_when_each_names_its_transport() {
    let l = mixed(
        "{transport_protocol: tls, server_names: [A.example.com], application_protocols: [h2]}",
        "{transport_protocol: raw_buffer}",
    );
    let mut ctx = Context::default();
    let plan = listener(&l, &mut ctx).unwrap();
    assert!(plan.listener.inspector);
    assert_eq!(plan.listener.filter_chains[0].tls.len(), 1);
    assert!(plan.listener.filter_chains[1].tls.is_empty());
    let m = &plan.listener.filter_chains[0].filter_chain_match;
    assert_eq!(m.server_names, ["a.example.com"]);
    assert_eq!(m.application_protocols, ["h2"]);
    assert_eq!(m.transport_protocol, Some(TransportProtocol::Tls));
    assert!(ctx.secret_refs.contains("default"));
}

#[test]
fn tls_and_plaintext_chains_without_transport_protocol_are_refused() {
    assert_eq!(
        refused(&mixed("{transport_protocol: tls}", "{}")),
        "filter_chains[1].filter_chain_match.transport_protocol: must be set when other chains \
         set it or TLS and plaintext chains share the listener: mosn would serve only the \
         transport of this chain's transport_socket here, Envoy both"
    );
    assert_eq!(
        refused(&mixed(
            "{transport_protocol: tls}",
            "{transport_protocol: raw_buffer, destination_port: 443}"
        )),
        "filter_chains[1].filter_chain_match: matching the destination on a listener with TLS \
         and plaintext chains is not supported by mosn: it tells the transports apart first, \
         Envoy after the destination"
    );
}

/// Each listener, as YAML, with the exact refusal it gets.
fn assert_refusals(cases: &[(Listener, &str)]) {
    for (l, want) in cases {
        assert_eq!(refused(l), *want);
    }
}

#[test]
fn listener_fields_mosn_lacks_are_refused_by_path() {
    let chain = format!("filter_chains:\n- filters:\n{}", tcp("c"));
    let listener = |fields: &str| {
        yaml(&format!(
            "name: l\naddress: {{socket_address: {{address: 127.0.0.1, port_value: 1}}}}\n{fields}\n{chain}"
        ))
    };
    assert_refusals(&[
        (
            listener("use_original_dst: true"),
            "use_original_dst: handing redirected connections off to the listener of their \
             original destination is not supported by mosn",
        ),
        (
            listener("per_connection_buffer_limit_bytes: 1024"),
            "per_connection_buffer_limit_bytes: per_connection_buffer_limit_bytes is not \
             supported by mosn",
        ),
        (
            listener(
                "listener_filters: [{name: pp, typed_config: {\"@type\": type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol}}]",
            ),
            "listener_filters[0].typed_config: listener filter \
             type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol \
             is not supported by mosn",
        ),
        (
            listener(
                "listener_filters: [{name: t, typed_config: {\"@type\": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector}}]",
            ),
            "listener_filters[0]: tls_inspector on a listener without TLS chains: mosn does \
             not tell TLS from plaintext there",
        ),
        (
            yaml(&format!(
                "name: u\naddress: {{socket_address: {{protocol: UDP, address: 127.0.0.1, port_value: 1}}}}\n{chain}"
            )),
            "address.socket_address.protocol: a listener protocol other than TCP is not \
             supported by mosn",
        ),
        (
            yaml(&format!("name: i\naddress: {{envoy_internal_address: {{server_listener_name: x}}}}\n{chain}")),
            "address.envoy_internal_address: an internal listener address is not supported by mosn",
        ),
    ]);
}

#[test]
fn original_dst_listener_filter_sets_use_original_dst_unless_chains_match_the_destination() {
    let original_dst = "listener_filters: [{name: o, typed_config: {\"@type\": type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst}}]";
    let l = yaml(&format!(
        "name: o\naddress: {{socket_address: {{address: 0.0.0.0, port_value: 15001}}}}\n{original_dst}\nfilter_chains:\n- filters:\n{}",
        tcp("c")
    ));
    assert!(converts(&l).0.listener.use_original_dst);
    let l = yaml(&format!(
        "name: o\naddress: {{socket_address: {{address: 0.0.0.0, port_value: 15001}}}}\n{original_dst}\nfilter_chains:\n- filter_chain_match: {{destination_port: 80}}\n  filters:\n{}",
        tcp("c")
    ));
    assert_eq!(
        refused(&l),
        "filter_chains[0].filter_chain_match: matching the original destination \
         (original_dst) is not supported by mosn: it matches the address the connection was \
         accepted on"
    );
}

#[test]
fn chain_match_criteria_mosn_lacks_are_refused_by_path() {
    let chain = |m: &str| {
        yaml(&format!(
            "name: l\naddress: {{socket_address: {{address: 127.0.0.1, port_value: 1}}}}\nfilter_chains:\n- filter_chain_match: {m}\n  filters:\n{}",
            tcp("c")
        ))
    };
    let passthrough = "matching TLS connections on a chain without a TLS transport_socket";
    assert_refusals(&[
        (
            chain("{direct_source_prefix_ranges: [{address_prefix: 10.0.0.0, prefix_len: 8}]}"),
            "filter_chains[0].filter_chain_match.direct_source_prefix_ranges: \
             direct_source_prefix_ranges is not supported by mosn",
        ),
        (
            chain("{source_type: EXTERNAL}"),
            "filter_chains[0].filter_chain_match.source_type: source_type is not supported by mosn",
        ),
        (
            chain("{transport_protocol: tls}"),
            &format!(
                "filter_chains[0].filter_chain_match.transport_protocol: {passthrough} (TLS \
                 passthrough) is not supported by mosn"
            ),
        ),
        (
            chain("{server_names: [a.example.com]}"),
            &format!(
                "filter_chains[0].filter_chain_match.server_names: {passthrough} (TLS \
                 passthrough, or plaintext protocol detection) is not supported by mosn"
            ),
        ),
        (
            chain("{prefix_ranges: [{address_prefix: 10.0.0.0, prefix_len: 33}]}"),
            "filter_chains[0].filter_chain_match.prefix_ranges[0].prefix_len: 33 exceeds 32",
        ),
    ]);
}

#[test]
fn network_filters_mosn_lacks_are_refused_by_type() {
    let rbac = r#"
        - name: rbac
          typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC, stat_prefix: r}
"#;
    let weighted = r#"
        - name: tcp
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
            stat_prefix: t
            weighted_clusters: {clusters: [{name: a, weight: 1}]}
"#;
    assert_refusals(&[
        (
            one_chain(&format!("{rbac}{}", tcp("c"))),
            "filter_chains[0].filters[0].typed_config: network filter \
             type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC is not supported \
             by mosn",
        ),
        (
            one_chain(&format!("{}{}", tcp("a"), tcp("b"))),
            "filter_chains[0].filters[0].typed_config: \
             type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy must be \
             the chain's last filter",
        ),
        (
            one_chain(weighted),
            "filter_chains[0].filters[0].typed_config.weighted_clusters: weighted_clusters in \
             tcp_proxy is not supported by mosn",
        ),
    ]);
}

#[test]
fn http_connection_manager_settings_mosn_lacks_are_refused_by_path() {
    let at = "filter_chains[0].filters[0].typed_config";
    let hcm = |extra: &str| one_chain(&rds_hcm("r", extra));
    let router_first = rds_hcm("r", "").replace(
        "            http_filters:\n",
        "            http_filters:\n            - name: envoy.filters.http.router\n              typed_config: {\"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}\n",
    );
    let active_fault = rds_hcm("r", "").replace(
        "            http_filters:\n",
        "            http_filters:\n            - name: f\n              typed_config: {\"@type\": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault, max_active_faults: 1}\n",
    );
    assert_refusals(&[
        (
            hcm("            normalize_path: true"),
            &format!("{at}.normalize_path: normalize_path is not supported by mosn"),
        ),
        (
            hcm("            use_remote_address: true"),
            &format!("{at}.use_remote_address: use_remote_address is not supported by mosn"),
        ),
        (
            hcm("            forward_client_cert_details: APPEND_FORWARD"),
            &format!(
                "{at}.forward_client_cert_details: forward_client_cert_details is not \
                 supported by mosn"
            ),
        ),
        (
            hcm("            stream_idle_timeout: 300s"),
            &format!("{at}.stream_idle_timeout: stream_idle_timeout is not supported by mosn"),
        ),
        (
            hcm("            codec_type: HTTP3"),
            &format!("{at}.codec_type: codec_type HTTP3 is not supported by mosn"),
        ),
        (
            hcm("            upgrade_configs: [{upgrade_type: CONNECT}]"),
            &format!(
                "{at}.upgrade_configs[0].upgrade_type: upgrade \"CONNECT\" is not supported by mosn"
            ),
        ),
        (
            hcm("            common_http_protocol_options: {idle_timeout: 0s}"),
            &format!(
                "{at}.common_http_protocol_options.idle_timeout: an idle timeout of 0 (never \
                 close idle connections) is not supported by mosn"
            ),
        ),
        (
            hcm("            http2_protocol_options: {allow_connect: true}"),
            &format!(
                "{at}.http2_protocol_options.allow_connect: HTTP/2 CONNECT is not supported by mosn"
            ),
        ),
        (
            one_chain(&rds_hcm("r", "").replace("{ads: {}}", "{path: /etc/r.yaml}")),
            &format!(
                "{at}.rds.config_source: a route config source other than ADS is not supported \
                 by mosn"
            ),
        ),
        (
            one_chain(&router_first),
            &format!(
                "{at}.http_filters[0]: envoy.filters.http.router must be the last HTTP filter"
            ),
        ),
        (
            one_chain(&active_fault),
            &format!("{at}.http_filters[0].typed_config: fault injection is not supported by mosn"),
        ),
    ]);
}

#[test]
fn http_filters_without_the_router_last_or_of_unknown_type_are_refused() {
    let at = "filter_chains[0].filters[0].typed_config.http_filters";
    let rbac = rds_hcm("r", "").replace(
        "            http_filters:\n",
        "            http_filters:\n            - name: rbac\n              typed_config: {\"@type\": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC}\n",
    );
    let no_router = rds_hcm("r", "").replace(
        "envoy.extensions.filters.http.router.v3.Router",
        "envoy.extensions.filters.http.cors.v3.Cors",
    );
    assert_refusals(&[
        (
            one_chain(&rbac),
            &format!(
                "{at}[0].typed_config: HTTP filter \
                 type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC is not \
                 supported by mosn"
            ),
        ),
        (
            one_chain(&no_router),
            &format!("{at}[0]: the last HTTP filter must be envoy.filters.http.router"),
        ),
    ]);
}

/// An RDS connection manager with one compressor filter of `library` before the router,
/// set up as far as its configuration goes.
fn compressing_hcm(library: &str) -> String {
    rds_hcm("r", "").replace(
        "            http_filters:\n",
        &format!(
            r#"            http_filters:
            - name: envoy.filters.http.compressor
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor
                compressor_library: {{name: c, typed_config: {{"@type": {library}}}}}
                request_direction_config: {{common_config: {{enabled: {{default_value: true, runtime_key: k}}}}}}
                response_direction_config:
                  common_config: {{min_content_length: 10, content_type: [text/plain]}}
                  remove_accept_encoding_header: true
                choose_first: true
"#
        ),
    )
}

#[test]
fn compressors_are_counted_no_ops_and_an_unknown_library_is_refused() {
    for library in ["gzip", "brotli", "zstd"] {
        let capital = format!("{}{}", library[..1].to_uppercase(), &library[1..]);
        let url = format!(
            "type.googleapis.com/envoy.extensions.compression.{library}.compressor.v3.{capital}"
        );
        let (_, ignored) = converts(&one_chain(&compressing_hcm(&url)));
        assert!(
            ignored.contains(&("http.compressor", 1)),
            "{library}: {ignored:?}"
        );
    }
    let other = "type.googleapis.com/envoy.extensions.compression.gzip.decompressor.v3.Gzip";
    assert_eq!(
        refused(&one_chain(&compressing_hcm(other))),
        format!(
            "filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.\
             compressor_library.typed_config: compressor library {other} is not supported by mosn"
        )
    );
}

#[test]
fn exemptions_from_a_global_connection_limit_and_the_overload_manager_are_accepted() {
    let mut l = one_chain(&tcp("c"));
    let (plain, plain_ignored) = converts(&l);
    l.ignore_global_conn_limit = true;
    l.bypass_overload_manager = true;
    let (exempt, exempt_ignored) = converts(&l);
    assert_eq!(exempt, plain);
    assert_eq!(exempt_ignored, plain_ignored);
}

#[test]
fn http_chains_with_different_idle_timeouts_are_refused() {
    let l = yaml(&format!(
        r#"
name: two
address: {{socket_address: {{address: 0.0.0.0, port_value: 80}}}}
filter_chains:
- filter_chain_match: {{destination_port: 80}}
  filters:
{}
- filter_chain_match: {{destination_port: 81}}
  filters:
{}
"#,
        rds_hcm("a", ""),
        rds_hcm(
            "b",
            "            common_http_protocol_options: {idle_timeout: 10s}"
        )
    ));
    assert_eq!(
        refused(&l),
        "filter_chains[1].filters: an HTTP idle timeout of 10s where another chain has \
         3600s: mosn has one per listener"
    );
}

#[test]
fn conversion_errors_keep_their_path_through_nesting() {
    let e = ConvertError::new("idle_timeout", "x").within("typed_config");
    assert_eq!(e.path, "typed_config.idle_timeout");
}
