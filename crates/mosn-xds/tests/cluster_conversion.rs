//! Clusters, load assignments and TLS contexts from real Istio config dumps and from
//! hand-written Envoy YAML, converted into mosn's model.

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::core::v3::TransportSocket;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::Secret;
use mosn_config::model::{
    Address, CircuitBreakersConfig, ClusterType, LbType, Metadata, Protocol, TcpKeepalive,
    TlsVersion,
};
use mosn_xds::convert::cluster::{cluster, SocketMatch};
use mosn_xds::convert::endpoint::endpoints;
use mosn_xds::convert::{tls, Context, ConvertError};
use mosn_xds::proto::{from_json, parse_document};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

/// A file under the repository's shared test data.
fn shared(path: &str) -> Value {
    let full = format!("{}/../../../shared/{path}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&full).unwrap()).unwrap()
}

/// The `key` entries of every config in an Istio dump, each entry's `inner` value.
fn dumped(dump: &Value, key: &str, inner: &str) -> Vec<Value> {
    dump["configs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c[key].as_array())
        .flatten()
        .map(|e| without_type(&e[inner]))
        .collect()
}

/// A dumped resource without its top-level `@type` (the message is read as its type).
fn without_type(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("@type");
    }
    v
}

fn yaml<T: prost::Message + prost::Name + Default>(text: &str) -> T {
    from_json(&parse_document(text).unwrap(), false).unwrap()
}

fn istio_secrets() -> HashMap<String, Secret> {
    dumped(
        &shared("testdata/istio/06-sidecar-sds-secrets-configdump.json"),
        "dynamic_active_secrets",
        "secret",
    )
    .iter()
    .map(|s| {
        let secret: Secret = from_json(s, false).unwrap();
        (secret.name.clone(), secret)
    })
    .collect()
}

fn productpage_cluster() -> Cluster {
    let dump = shared("testdata/istio/04-bookinfo-productpage-rds-cds-configdump.json");
    let mut c = dumped(&dump, "dynamic_active_clusters", "cluster").remove(0);
    // Istio's MetadataExchange type is not among envoy-types' descriptors, so JSON cannot
    // read it: the filter gets the bytes an ADS response carries for the same config
    // (field 1, `protocol`).
    let filter = c["filters"][0]["typed_config"].take();
    let type_url = filter["@type"].as_str().unwrap().to_owned();
    let protocol = filter["protocol"].as_str().unwrap().as_bytes();
    let mut value = vec![0x0a, u8::try_from(protocol.len()).unwrap()];
    value.extend_from_slice(protocol);
    c["filters"][0]
        .as_object_mut()
        .unwrap()
        .remove("typed_config");
    let mut cluster: Cluster = from_json(&c, false).unwrap();
    cluster.filters[0].typed_config =
        Some(envoy_types::pb::google::protobuf::Any { type_url, value });
    cluster
}

#[test]
fn istio_eds_cluster_waits_for_its_sds_secrets_with_mtls_for_tls_mode_istio_hosts() {
    let mut ctx = Context::default();
    let plan = cluster(&productpage_cluster(), &mut ctx).unwrap();
    let c = &plan.cluster;
    assert_eq!(
        plan.eds.as_deref(),
        Some("outbound|9080|v1|productpage.default.svc.cluster.local")
    );
    assert_eq!(c.cluster_type, ClusterType::Simple);
    assert_eq!(c.lb_type, LbType::LeastRequest);
    assert_eq!(c.connect_timeout, Duration::from_secs(10));
    assert_eq!(c.idle_timeout, Duration::from_secs(3600));
    assert_eq!(c.conn_buffer_limit_bytes, 1024 * 1024);
    assert_eq!(
        c.circuit_breakers,
        CircuitBreakersConfig {
            max_connections: u32::MAX,
            max_pending_requests: u32::MAX,
            max_requests: u32::MAX,
            max_retries: u32::MAX,
            retry_budget: None,
        }
    );
    let t = c.tls.as_ref().unwrap();
    assert_eq!(
        t.server_name.as_deref(),
        Some("outbound_.9080_.v1_.productpage.default.svc.cluster.local")
    );
    assert_eq!(
        t.alpn,
        ["istio"],
        "istio-peer-exchange dropped with the ignored filter"
    );
    assert_eq!(
        t.spiffe_ids,
        [
            "spiffe://cluster.local/ns/default/sa/bookinfo-productpage",
            "spiffe://cluster.local/ns/default/sa/default"
        ]
    );
    assert_eq!(
        (t.min_version, t.max_version),
        (Some(TlsVersion::Tls12), Some(TlsVersion::Tls13))
    );
    assert!(!t.insecure_skip, "the CA is still to come");
    assert_eq!((&t.cert_chain, &t.ca_cert), (&None, &None));
    let missing: Vec<&str> = ctx.missing_secrets.iter().map(String::as_str).collect();
    assert_eq!(missing, ["ROOTCA", "default"]);
    assert_eq!(
        plan.socket_matches,
        [
            SocketMatch {
                criteria: Metadata::new(vec![("tlsMode".into(), "istio".into())]),
                tls: true
            },
            SocketMatch {
                criteria: Metadata::default(),
                tls: false
            },
        ]
    );
    assert!(!plan.default_tls);
    assert_eq!(ctx.ignored.get("cluster.metadata.istio"), Some(&1));
    assert_eq!(
        ctx.ignored.get("cluster.filters.istio.metadata_exchange"),
        Some(&1)
    );
}

#[test]
fn istio_cluster_with_the_dumped_secrets_is_refused_because_the_key_is_redacted() {
    let secrets = istio_secrets();
    let mut ctx = Context::with_secrets(&secrets);
    let e = cluster(&productpage_cluster(), &mut ctx).unwrap_err();
    assert_eq!(
        e.path,
        "transport_socket_matches[0].transport_socket.typed_config.common_tls_context"
    );
    assert!(
        e.reason
            .starts_with("the TLS context does not build: private_key"),
        "{e}"
    );
    assert!(ctx.missing_secrets.is_empty());
}

#[test]
fn istio_eds_assignments_all_convert_and_tls_mode_istio_hosts_keep_tls() {
    let dump = shared("testdata/istio/02-bookinfo-sidecar-eds-configdump.json");
    let mut total = 0;
    for cla in dumped(&dump, "dynamic_endpoint_configs", "endpoint_config") {
        let cla: ClusterLoadAssignment = from_json(&cla, false).unwrap();
        let hosts = endpoints(&cla, &mut Context::default()).unwrap();
        assert!(hosts.iter().all(|h| h.weight == 1));
        total += hosts.len();
    }
    assert!(total > 30, "{total}");
    let reviews: ClusterLoadAssignment = from_json(
        &dumped(&dump, "dynamic_endpoint_configs", "endpoint_config")[0],
        false,
    )
    .unwrap();
    let plan = cluster(&productpage_cluster(), &mut Context::default()).unwrap();
    let mut ctx = Context::default();
    let hosts = plan.hosts(&reviews, &mut ctx).unwrap();
    let addresses: Vec<String> = hosts
        .iter()
        .map(|h| match &h.address {
            Address::Tcp(a) => a.to_string(),
            Address::Unix(p) => p.display().to_string(),
        })
        .collect();
    assert_eq!(
        addresses,
        [
            "10.244.0.192:9080",
            "10.244.0.193:9080",
            "10.244.0.195:9080"
        ]
    );
    assert!(hosts.iter().all(|h| !h.tls_disable));
    assert_eq!(ctx.ignored.get("endpoint.metadata.istio"), Some(&3));
}

#[test]
fn istio_extra_clusters_convert_or_name_the_model_gap() {
    let extra = shared("interop/xds/istio_extra_clusters.json");
    let outcomes: Vec<(String, Result<(), ConvertError>)> = extra["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let c: Cluster = from_json(&without_type(r), false).unwrap();
            (
                c.name.clone(),
                cluster(&c, &mut Context::default()).map(drop),
            )
        })
        .collect();
    let show: Vec<String> = outcomes
        .iter()
        .map(|(n, r)| match r {
            Ok(()) => format!("{n}: ok"),
            Err(e) => format!("{n}: {}", e.path),
        })
        .collect();
    assert_eq!(
        show,
        [
            "BlackHoleCluster: ok",
            "PassthroughCluster: ok",
            "InboundPassthroughClusterIpv4: upstream_bind_config",
            "inbound|9080||: upstream_bind_config",
            "main_internal: transport_socket.typed_config",
            "connect_originate: original_dst_lb_config.upstream_port_override",
        ]
    );
    let passthrough: Cluster = from_json(&without_type(&extra["resources"][1]), false).unwrap();
    let plan = cluster(&passthrough, &mut Context::default()).unwrap();
    assert_eq!(plan.http_protocol, Some(Protocol::Auto));
    assert_eq!(plan.cluster.lb_type, LbType::OriginalDst);
    assert_eq!(
        plan.cluster.original_dst.unwrap().header_name,
        "x-envoy-original-dst-host"
    );
}

#[test]
fn minimal_static_cluster_gets_envoys_defaults() {
    let c: Cluster = yaml(
        "name: s\ntype: STATIC\nload_assignment:\n  cluster_name: s\n  endpoints:\n  - lb_endpoints:\n    - endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 80}}}\n      load_balancing_weight: 7\n    - endpoint: {address: {socket_address: {address: 10.0.0.2, port_value: 80}}}\n      health_status: DRAINING\n",
    );
    let plan = cluster(&c, &mut Context::default()).unwrap();
    let c = plan.cluster;
    assert_eq!(c.lb_type, LbType::WeightedRoundRobin);
    assert_eq!(c.connect_timeout, Duration::from_secs(5));
    assert_eq!(
        c.circuit_breakers,
        CircuitBreakersConfig {
            max_connections: 1024,
            max_pending_requests: 1024,
            max_requests: 1024,
            max_retries: 3,
            retry_budget: None
        }
    );
    assert_eq!(c.hosts.len(), 1, "the draining host is not routed to");
    assert_eq!(c.hosts[0].weight, 7);
    assert_eq!(plan.http_protocol, None);
    assert_eq!(c.tcp_keepalive, None);
}

#[test]
fn tcp_keepalive_converts_and_unset_settings_stay_the_kernels() {
    let keepalive = |text: &str| {
        let c: Cluster = yaml(&format!(
            "name: k\nupstream_connection_options: {{tcp_keepalive: {text}}}"
        ));
        cluster(&c, &mut Context::default()).map(|plan| plan.cluster.tcp_keepalive)
    };
    // Istio's xds-grpc cluster.
    assert_eq!(
        keepalive("{keepalive_time: 300}"),
        Ok(Some(TcpKeepalive {
            time: Some(Duration::from_secs(300)),
            interval: None,
            probes: None,
        }))
    );
    assert_eq!(
        keepalive("{keepalive_time: 1, keepalive_interval: 32767, keepalive_probes: 127}"),
        Ok(Some(TcpKeepalive {
            time: Some(Duration::from_secs(1)),
            interval: Some(Duration::from_secs(32767)),
            probes: Some(127),
        }))
    );
    assert_eq!(keepalive("{}"), Ok(Some(TcpKeepalive::default())));
    let refused = [
        (
            "{keepalive_time: 0}",
            "keepalive_time",
            "0 (Linux takes 1 to 32767)",
        ),
        (
            "{keepalive_interval: 32768}",
            "keepalive_interval",
            "32768 (Linux takes 1 to 32767)",
        ),
        (
            "{keepalive_probes: 128}",
            "keepalive_probes",
            "128 (Linux takes 1 to 127)",
        ),
    ];
    for (text, field, value) in refused {
        assert_eq!(
            keepalive(text),
            Err(ConvertError::new(
                format!("upstream_connection_options.tcp_keepalive.{field}"),
                format!("{value} is not supported by mosn"),
            )),
            "{text}"
        );
    }
    let c: Cluster = yaml(
        "name: k\nupstream_connection_options: {set_local_interface_name_on_upstream_connections: true}",
    );
    let e = cluster(&c, &mut Context::default()).unwrap_err();
    assert_eq!(
        e.path,
        "upstream_connection_options.set_local_interface_name_on_upstream_connections"
    );
}

#[test]
fn refusals_name_the_field_and_the_reason() {
    let cases = [
        ("name: a\ncircuit_breakers: {thresholds: [{priority: HIGH, max_connections: 5}]}", "circuit_breakers.thresholds[0]"),
        ("name: a\nupstream_bind_config: {source_address: {address: 127.0.0.6, port_value: 0}}", "upstream_bind_config"),
        ("name: a\nload_assignment: {cluster_name: a, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 70000}}}}]}]}", "load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value"),
        ("name: a\nload_assignment: {cluster_name: a, endpoints: [{priority: 1}]}", "load_assignment.endpoints[0].priority"),
        ("name: a\ncommon_lb_config: {healthy_panic_threshold: {value: 10}}", "common_lb_config.healthy_panic_threshold"),
    ];
    for (text, path) in cases {
        let e = cluster(&yaml(text), &mut Context::default()).unwrap_err();
        assert_eq!(e.path, path, "{text}: {e}");
    }
    let e = cluster(
        &yaml("name: a\ncircuit_breakers: {thresholds: [{priority: HIGH, max_connections: 5}]}"),
        &mut Context::default(),
    )
    .unwrap_err();
    assert_eq!(e.reason, "HIGH priority thresholds other than the DEFAULT ones (mosn has no request priorities) is not supported by mosn");
}

#[test]
fn istio_inbound_downstream_tls_keeps_its_ecdhe_suites_counts_the_static_rsa_ones_and_waits_for_secrets(
) {
    let dump = shared("testdata/istio/01-sidecar-listeners-configdump.json");
    let listener = &dump["configs"][0]["dynamic_listeners"][23]["active_state"]["listener"];
    let socket: TransportSocket =
        from_json(&listener["filter_chains"][1]["transport_socket"], false).unwrap();
    let mut ctx = Context::default();
    let t = tls::downstream(&socket, &mut ctx).unwrap().unwrap();
    assert_eq!(
        t.cipher_suites,
        [
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS13_AES_128_GCM_SHA256",
            "TLS13_AES_256_GCM_SHA384",
            "TLS13_CHACHA20_POLY1305_SHA256",
        ]
    );
    // AES256-GCM-SHA384 and AES128-GCM-SHA256: static RSA.
    assert_eq!(ctx.ignored.get("tls.cipher_suites.unsupported"), Some(&2));
    assert_eq!(
        (t.min_version, t.max_version),
        (Some(TlsVersion::Tls12), Some(TlsVersion::Tls13))
    );
    assert!(t.verify_client && t.require_client_cert);
    assert_eq!(t.spiffe_ids, ["spiffe://cluster.local/"]);
    assert_eq!(t.alpn, ["h2", "http/1.1"]);
    assert_eq!(t.ecdh_curves, ["x25519", "p256"]);
    let missing: Vec<&str> = ctx.missing_secrets.iter().map(String::as_str).collect();
    assert_eq!(missing, ["ROOTCA", "default"]);
    let listener = &dump["configs"][0]["dynamic_listeners"][24]["active_state"]["listener"];
    let socket: TransportSocket =
        from_json(&listener["filter_chains"][0]["transport_socket"], false).unwrap();
    let mut ctx = Context::default();
    let t = tls::downstream(&socket, &mut ctx).unwrap().unwrap();
    assert!(t.verify_client && t.require_client_cert);
    assert_eq!(t.spiffe_ids, ["spiffe://cluster.local/"]);
    assert_eq!(
        (t.min_version, t.max_version),
        (Some(TlsVersion::Tls13), Some(TlsVersion::Tls13))
    );
    assert_eq!(t.ecdh_curves, ["x25519", "p256"]);
    assert_eq!(ctx.missing_secrets.len(), 2);
}

#[test]
fn a_cipher_list_without_a_suite_mosn_offers_or_with_an_unknown_name_is_refused() {
    let refusal = |suites: &str| {
        let socket: TransportSocket = yaml(&format!(
            "name: tls\ntyped_config:\n  '@type': type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext\n  common_tls_context: {{tls_params: {{cipher_suites: {suites}}}}}\n"
        ));
        tls::downstream(&socket, &mut Context::default()).unwrap_err()
    };
    assert_eq!(
        refusal("[AES256-GCM-SHA384, ECDHE-RSA-AES128-SHA]"),
        ConvertError::new(
            "typed_config.common_tls_context.tls_params.cipher_suites",
            "a list without any suite mosn offers (ECDHE with AES-GCM or ChaCha20-Poly1305) \
             is not supported by mosn"
        )
    );
    assert_eq!(
        refusal("[ECDHE-RSA-AES128-GCM-SHA256, NOT-A-SUITE]"),
        ConvertError::new(
            "typed_config.common_tls_context.tls_params.cipher_suites[1]",
            "cipher suite \"NOT-A-SUITE\" (mosn offers only ECDHE suites with AES-GCM or \
             ChaCha20-Poly1305, without equal-preference groups) is not supported by mosn"
        )
    );
}

#[test]
fn inline_upstream_tls_without_a_ca_does_not_verify_and_sds_secret_of_wrong_kind_is_named() {
    let socket: TransportSocket = yaml(
        "name: tls\ntyped_config:\n  '@type': type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext\n  sni: example.com\n",
    );
    let t = tls::upstream(&socket, &mut Context::default())
        .unwrap()
        .unwrap();
    assert!(t.insecure_skip);
    assert_eq!(
        (t.min_version, t.max_version),
        (Some(TlsVersion::Tls12), Some(TlsVersion::Tls12))
    );
    assert_eq!(t.server_name.as_deref(), Some("example.com"));
    let socket: TransportSocket = yaml(
        "name: tls\ntyped_config:\n  '@type': type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext\n  common_tls_context: {tls_certificate_sds_secret_configs: [{name: ROOTCA}]}\n",
    );
    let secrets = istio_secrets();
    let e = tls::upstream(&socket, &mut Context::with_secrets(&secrets)).unwrap_err();
    assert_eq!(
        e.path,
        "typed_config.common_tls_context.tls_certificate_sds_secret_configs[0]"
    );
    assert_eq!(e.reason, "SDS secret \"ROOTCA\" has no tls_certificate");
}
