//! Real Envoy bootstraps (the interop set's and Istio's rendered one) planned by
//! `bootstrap::load`: the node, the admin address, the ADS stream, the SDS sources, the
//! static resources, `--config-yaml` merged over a file, and each refusal's message.

use mosn_config::model::{Address, TcpKeepalive};
use mosn_config::resources::{Resource, ResourceKind};
use mosn_xds::bootstrap::{is_bootstrap, load, BootstrapPlan, LoadOptions};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The shared test data next to the workspace.
fn shared(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(path)
}

/// A file's text.
fn text(path: &str) -> String {
    let path = shared(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A bootstrap file, planned with no flags.
fn plan(path: &str) -> BootstrapPlan {
    load(&text(path), &LoadOptions::default()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Why a bootstrap text is refused.
fn refusal(yaml: &str) -> String {
    match load(yaml, &LoadOptions::default()) {
        Ok(_) => panic!("loaded: {yaml}"),
        Err(e) => e.to_string(),
    }
}

fn tcp(text: &str) -> Address {
    Address::Tcp(text.parse().expect("a socket address"))
}

/// The names of the plan's resources of one kind.
fn names(plan: &BootstrapPlan, kind: ResourceKind) -> Vec<&str> {
    let upserts = plan.resources.upserts.iter();
    upserts
        .filter(|r| r.kind() == kind)
        .map(Resource::name)
        .collect()
}

#[test]
fn sotw_bootstrap_plans_its_node_admin_and_a_sotw_ads_stream_to_the_static_xds_cluster() {
    let plan = plan("interop/xds/envoy-sotw.yaml");
    assert_eq!(plan.node.cluster, "envoy-sotw");
    assert_eq!(
        plan.node.id,
        "sidecar~127.0.0.1~envoy-sotw.default~default.svc.cluster.local"
    );
    assert_eq!(plan.node.user_agent_name, "mosn");
    assert_eq!(
        plan.admin,
        Some("127.0.0.1:19710".parse::<SocketAddr>().unwrap())
    );
    let ads = plan.ads.clone().expect("ads settings");
    assert!(!ads.delta);
    assert_eq!(ads.cluster_name, "xds-grpc");
    assert_eq!(ads.addresses, vec![tcp("127.0.0.1:18710")]);
    assert_eq!(ads.tls, None);
    assert!(ads.node_on_first_message_only && ads.lds && ads.cds);
    assert_eq!(
        ads.initial_fetch_timeout,
        Some(Duration::from_secs(15)),
        "unset is Envoy's default"
    );
    assert_eq!(ads.connect_timeout, Duration::from_secs(1));
    assert_eq!(ads.node, plan.node);
    assert_eq!(names(&plan, ResourceKind::Cluster), ["xds-grpc"]);
    assert!(names(&plan, ResourceKind::Listener).is_empty());
}

#[test]
fn delta_bootstrap_plans_a_delta_ads_stream() {
    let plan = plan("interop/xds/envoy-delta.yaml");
    let ads = plan.ads.expect("ads settings");
    assert!(ads.delta);
    assert_eq!(ads.addresses, vec![tcp("127.0.0.1:18720")]);
    assert_eq!(plan.admin, Some("127.0.0.1:19720".parse().unwrap()));
}

#[test]
fn istio_like_bootstrap_reaches_ads_and_sds_over_unix_sockets_and_counts_internal_listener() {
    let plan = plan("interop/xds/envoy-istio.yaml");
    let ads = plan.ads.as_ref().expect("ads settings");
    assert!(ads.delta);
    assert_eq!(
        ads.addresses,
        vec![Address::Unix("out/istio/xds.sock".into())]
    );
    assert_eq!(
        ads.initial_fetch_timeout, None,
        "0s: no timeout, as in Envoy"
    );
    let sds = plan.sds.get("sds-grpc").expect("the sds-grpc source");
    assert_eq!(
        sds.addresses,
        vec![Address::Unix("out/istio/sds.sock".into())]
    );
    assert_eq!(sds.connect_timeout, Duration::from_secs(1));
    assert_eq!(
        plan.ignored.get("bootstrap_extensions.internal_listener"),
        Some(&1)
    );
}

/// Istio's rendered bootstrap, as pilot-agent writes it.
fn istio_bootstrap() -> BootstrapPlan {
    plan("testdata/istio/08-default-bootstrap-rendered.json")
}

/// Its first gap was the xds-grpc cluster's `upstream_connection_options`: now its
/// keepalive time reaches the cluster, the others stay the kernel's.
#[test]
fn istio_rendered_bootstrap_keeps_the_xds_grpc_clusters_tcp_keepalive() {
    let plan = istio_bootstrap();
    let keepalive = plan.resources.upserts.iter().find_map(|r| match r {
        Resource::Cluster(c) if c.name == "xds-grpc" => Some(c.tcp_keepalive),
        _ => None,
    });
    let expected = TcpKeepalive {
        time: Some(Duration::from_secs(300)),
        interval: None,
        probes: None,
    };
    assert_eq!(keepalive, Some(Some(expected)));
    // The ADS stream reaches the agent over a Unix socket: no TCP for keepalive to act on.
    let ads = plan.ads.as_ref().expect("ads settings");
    assert_eq!(ads.addresses, vec![Address::Unix("/tmp/XDS".into())]);
}

#[test]
fn istio_rendered_bootstrap_loads_as_is_with_its_observability_fields_counted() {
    let plan = istio_bootstrap();
    assert_eq!(plan.node.id, "sidecar~1.2.3.4~foo~bar");
    assert_eq!(plan.admin, Some("127.0.0.1:15000".parse().unwrap()));
    let ads = plan.ads.as_ref().expect("ads settings");
    assert!(ads.delta && ads.lds && ads.cds);
    assert_eq!(ads.addresses, vec![Address::Unix("/tmp/XDS".into())]);
    let sds = plan.sds.get("sds-grpc").expect("the sds-grpc source");
    let socket = "./var/run/secrets/workload-spiffe-uds/test.sock";
    assert_eq!(sds.addresses, vec![Address::Unix(socket.into())]);
    let mut clusters = names(&plan, ResourceKind::Cluster);
    clusters.sort_unstable();
    assert_eq!(
        clusters,
        ["agent", "prometheus_stats", "sds-grpc", "xds-grpc"]
    );
    assert_eq!(
        names(&plan, ResourceKind::Listener),
        ["0.0.0.0_15090", "0.0.0.0_15021"]
    );
    for field in [
        "stats_config",
        "admin.access_log",
        "admin.profile_path",
        "application_log_config",
        "deferred_stat_options",
        "cluster_manager.outlier_detection.event_log_path",
        "cluster_manager.enable_deferred_cluster_creation",
        "overload_manager.global_downstream_max_connections",
        "layered_runtime.envoy.deprecated_features",
        "envoy.reloadable_features.http_reject_path_with_fragment",
        "layered_runtime.layers.admin_layer",
    ] {
        assert!(
            plan.ignored.contains_key(field),
            "{field} not counted: {:?}",
            plan.ignored
        );
    }
    // The 15090 listener's brotli, zstd and gzip compressors.
    assert_eq!(plan.ignored.get("http.compressor"), Some(&3));
}

#[test]
fn config_yaml_merges_over_the_file_as_proto_merge_from() {
    let options = LoadOptions {
        config_yaml: Some(
            r#"
node: {id: override, metadata: {EXTRA: "1"}}
dynamic_resources: {ads_config: {api_type: GRPC}}
static_resources:
  clusters:
  - name: extra
    type: STATIC
    load_assignment:
      cluster_name: extra
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 9}}}}]}]
"#
            .to_owned(),
        ),
        ..LoadOptions::default()
    };
    let plan = load(&text("interop/xds/envoy-istio.yaml"), &options).expect("merged");
    // A set scalar replaces; an enum too (run.sh's switch to SotW).
    assert_eq!(plan.node.id, "override");
    assert!(!plan.ads.as_ref().expect("ads").delta);
    // A message merges: the file's node fields and metadata keys stay.
    assert_eq!(plan.node.cluster, "productpage.default");
    let metadata = &plan.node.metadata.as_ref().expect("metadata").fields;
    assert!(metadata.contains_key("EXTRA") && metadata.contains_key("ISTIO_VERSION"));
    // A list appends.
    let clusters = names(&plan, ResourceKind::Cluster);
    assert_eq!(clusters, ["xds-grpc", "sds-grpc", "extra"]);
}

#[test]
fn config_yaml_alone_is_the_bootstrap() {
    let options = LoadOptions {
        config_yaml: Some(
            "admin: {address: {socket_address: {address: \"::1\", port_value: 9901}}}".into(),
        ),
        ..LoadOptions::default()
    };
    let plan = load("", &options).expect("loaded");
    assert_eq!(plan.admin, Some("[::1]:9901".parse().unwrap()));
    assert!(plan.ads.is_none() && plan.resources.upserts.is_empty());
}

#[test]
fn service_flags_replace_node_cluster_and_id() {
    let options = LoadOptions {
        service_cluster: Some("flag-cluster".into()),
        service_node: Some("flag-node".into()),
        ..LoadOptions::default()
    };
    let plan = load(&text("interop/xds/envoy-sotw.yaml"), &options).expect("loaded");
    assert_eq!(
        (plan.node.cluster.as_str(), plan.node.id.as_str()),
        ("flag-cluster", "flag-node")
    );
    assert_eq!(plan.ads.expect("ads").node.id, "flag-node");
}

#[test]
fn unknown_field_is_refused_by_name_unless_allowed() {
    let yaml = "node: {id: a}\nnot_a_field: 1\n";
    let error = refusal(yaml);
    assert!(
        error.starts_with("bootstrap: ") && error.contains("not_a_field"),
        "{error}"
    );
    let allowed = LoadOptions {
        allow_unknown_static_fields: true,
        ..LoadOptions::default()
    };
    assert_eq!(load(yaml, &allowed).expect("allowed").node.id, "a");
}

#[test]
fn each_refused_bootstrap_field_is_named_with_its_reason() {
    let cases = [
        (
            "hds_config: {api_type: GRPC}",
            "hds_config: health discovery (HDS) is not supported by mosn",
        ),
        (
            "dynamic_resources: {lds_config: {path: /etc/lds.yaml}}",
            "dynamic_resources.lds_config.path: mosn takes listeners and clusters over ADS only (`ads: {}`)",
        ),
        (
            "dynamic_resources: {cds_config: {api_config_source: {api_type: GRPC}}}",
            "dynamic_resources.cds_config.api_config_source: mosn takes listeners and clusters over ADS only (`ads: {}`)",
        ),
        (
            "dynamic_resources: {ads_config: {api_type: REST}}",
            "dynamic_resources.ads_config.api_type: REST is not supported by mosn: use GRPC or DELTA_GRPC",
        ),
        (
            "dynamic_resources: {ads_config: {api_type: GRPC, grpc_services: [{google_grpc: {target_uri: x, stat_prefix: x}}]}}",
            "dynamic_resources.ads_config.grpc_services[0].google_grpc: the Google gRPC client is not supported by mosn: use envoy_grpc",
        ),
        (
            "dynamic_resources: {ads_config: {api_type: GRPC, grpc_services: [{envoy_grpc: {cluster_name: nope}}]}}",
            "dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: no static cluster is named \"nope\"",
        ),
        (
            "dynamic_resources: {ads_config: {api_type: GRPC}}",
            "dynamic_resources.ads_config.grpc_services: must name exactly one gRPC service, not 0",
        ),
        (
            "dynamic_resources: {lds_config: {ads: {}}}",
            "dynamic_resources.ads_config: lds_config/cds_config use ads, but there is no ads_config",
        ),
        (
            "dynamic_resources: {lds_config: {ads: {}, initial_fetch_timeout: 1s}, cds_config: {ads: {}, initial_fetch_timeout: 2s}}",
            "dynamic_resources.lds_config.initial_fetch_timeout: differs from cds_config's: mosn has one initial fetch timeout for ADS",
        ),
        (
            "admin: {address: {pipe: {path: /tmp/admin.sock}}}",
            "admin.address.pipe: an admin API on a Unix socket is not supported by mosn",
        ),
        (
            "cluster_manager: {local_cluster_name: local}",
            "cluster_manager.local_cluster_name: zone-aware routing (local_cluster_name) is not supported by mosn",
        ),
        (
            "layered_runtime: {layers: [{name: l, static_layer: {envoy: {reloadable_features: {foo: true}}}}]}",
            "layered_runtime.layers[0].static_layer.\"envoy.reloadable_features.foo\": runtime key not supported by mosn",
        ),
        (
            "layered_runtime: {layers: [{name: l, rtds_layer: {name: r}}]}",
            "layered_runtime.layers[0].rtds_layer: runtime discovery (RTDS) is not supported by mosn",
        ),
        (
            "overload_manager: {resource_monitors: [{name: envoy.resource_monitors.global_downstream_max_connections, typed_config: {\"@type\": type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig, max_active_downstream_connections: 100}}]}",
            "overload_manager.resource_monitors[0]: a global downstream connection limit (100) is not supported by mosn",
        ),
        (
            "overload_manager: {actions: [{name: envoy.overload_actions.stop_accepting_requests}]}",
            "overload_manager.actions: overload actions are not supported by mosn",
        ),
        (
            "watchdogs: {main_thread_watchdog: {kill_timeout: 10s}}",
            "watchdogs.main_thread_watchdog.kill_timeout: a watchdog that kills the process is not supported by mosn",
        ),
        (
            "bootstrap_extensions: [{name: ext, typed_config: {\"@type\": type.googleapis.com/envoy.extensions.network.socket_interface.v3.DefaultSocketInterface}}]",
            "bootstrap_extensions[0]: extension ext (type.googleapis.com/envoy.extensions.network.socket_interface.v3.DefaultSocketInterface) is not supported by mosn",
        ),
        (
            "static_resources: {secrets: [{name: s}, {name: s}]}",
            "static_resources.secrets[1].name: duplicate secret name \"s\"",
        ),
        (
            "dynamic_resources: {ads_config: {api_type: GRPC, transport_api_version: V2}}",
            "dynamic_resources.ads_config.transport_api_version: only V3 is supported by mosn",
        ),
    ];
    for (yaml, expected) in cases {
        assert_eq!(refusal(yaml), expected, "for {yaml}");
    }
}

#[test]
fn the_ads_cluster_must_speak_http2_and_the_error_names_it() {
    let yaml = r#"
dynamic_resources:
  ads_config: {api_type: GRPC, grpc_services: [{envoy_grpc: {cluster_name: xds}}]}
static_resources:
  clusters:
  - name: xds
    type: STATIC
    load_assignment:
      cluster_name: xds
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}}]}]
"#;
    assert_eq!(
        refusal(yaml),
        "static_resources.clusters[0]: the gRPC cluster \"xds\" must speak HTTP/2: set \
         typed_extension_protocol_options' HttpProtocolOptions \
         explicit_http_config.http2_protocol_options"
    );
}

#[test]
fn tcp_keepalive_on_an_ads_cluster_over_tcp_is_refused_by_its_path() {
    let yaml = r#"
dynamic_resources:
  ads_config: {api_type: GRPC, grpc_services: [{envoy_grpc: {cluster_name: xds}}]}
static_resources:
  clusters:
  - name: xds
    type: STATIC
    upstream_connection_options: {tcp_keepalive: {keepalive_time: 300}}
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {http2_protocol_options: {}}
    load_assignment:
      cluster_name: xds
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}}]}]
"#;
    assert_eq!(
        refusal(yaml),
        "static_resources.clusters[0].upstream_connection_options.tcp_keepalive: TCP \
         keepalive on a gRPC stream to the control plane over TCP is not supported by mosn"
    );
}

#[test]
fn a_static_cluster_error_is_named_by_its_index() {
    let yaml = r#"
static_resources:
  clusters:
  - {name: ok, type: STATIC}
  - {name: bad, cluster_type: {name: envoy.clusters.aggregate}}
"#;
    let error = refusal(yaml);
    assert!(error.starts_with("static_resources.clusters[1]"), "{error}");
}

#[test]
fn a_static_eds_cluster_without_ads_is_refused() {
    let yaml = r#"
static_resources:
  clusters:
  - {name: e, type: EDS, eds_cluster_config: {eds_config: {ads: {}}}}
"#;
    assert_eq!(
        refusal(yaml),
        "static_resources.clusters[0]: its EDS or RDS comes over ADS, but there is no \
         dynamic_resources.ads_config"
    );
}

#[test]
fn every_mosn_sample_is_told_from_every_envoy_bootstrap() {
    let samples = std::fs::read_dir(shared("testdata/mosn-configs")).expect("samples");
    for entry in samples {
        let path = entry.expect("entry").path();
        let document = mosn_xds::proto::parse_document(&std::fs::read_to_string(&path).unwrap());
        assert!(
            !is_bootstrap(&document.unwrap()),
            "{} read as a bootstrap",
            path.display()
        );
    }
    for path in [
        "interop/xds/envoy-sotw.yaml",
        "interop/xds/envoy-delta.yaml",
        "interop/xds/envoy-istio.yaml",
        "interop/xds/envoy-sds.yaml",
        "testdata/istio/08-default-bootstrap-rendered.json",
    ] {
        let document = mosn_xds::proto::parse_document(&text(path)).expect(path);
        assert!(is_bootstrap(&document), "{path} not read as a bootstrap");
    }
}
