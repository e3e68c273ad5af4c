//! Every MOSN sample config: accepted if it uses only what mosn-rs has built, otherwise
//! refused with exactly the expected lines. A new sample fails this test until it is
//! classified here.

use std::collections::BTreeSet;
use std::path::PathBuf;

const SAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/mosn-configs"
);

/// `(file, expected error lines)`; no lines means the file must parse.
fn expected() -> Vec<(&'static str, Vec<String>)> {
    let stream_filter = |name: &str| {
        format!("servers[0].listeners[0].stream_filters[0].type: stream filter {name:?} is not supported yet")
    };
    vec![
        ("dubbo__client_config.json", vec![]),
        ("dubbo__server_config.json", vec![]),
        ("filter__ipaccess__config.json", vec![]),
        ("filter__transcoder__client_config.json", vec![]),
        ("filter__transcoder__server_config.json", vec![]),
        ("flowcontrol-sample__client_config.json", vec![]),
        (
            "flowcontrol-sample__server_config.json",
            vec![stream_filter("flowControlFilter")],
        ),
        ("http-sample__client_config.json", vec![]),
        ("http-sample__server_config.json", vec![]),
        ("http-sample__tls_client_config.json", vec![]),
        ("http-sample__tls_server_config.json", vec![]),
        ("protocol-auto-sample__client_config.json", vec![]),
        ("protocol-auto-sample__server_config.json", vec![]),
        ("protocol-auto-sample__tls_client_config.json", vec![]),
        ("protocol-auto-sample__tls_server_config.json", vec![]),
        ("slow-start-sample__config.json", vec![]),
        ("sofarpc-with-xprotocol-sample__client_config.json", vec![]),
        ("sofarpc-with-xprotocol-sample__server_config.json", vec![]),
        (
            "sofarpc-with-xprotocol-sample__tls_client_config.json",
            vec![],
        ),
        (
            "sofarpc-with-xprotocol-sample__tls_server_config.json",
            vec![],
        ),
        ("tcpproxy-sample__config.json", vec![]),
        ("uds-sample__client_config.json", vec![]),
        ("uds-sample__server_config.json", vec![]),
    ]
}

#[test]
fn the_sample_set_is_exactly_the_classified_one() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(SAMPLES)
        .unwrap_or_else(|e| panic!("cannot list {SAMPLES}: {e}"))
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let classified: BTreeSet<String> = expected().iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(on_disk, classified, "classify new samples in this test");
}

#[test]
fn each_sample_gives_its_expected_outcome() {
    let mut failures = Vec::new();
    for (file, want) in expected() {
        let path = PathBuf::from(SAMPLES).join(file);
        let got: Vec<String> = match mosn_config::load_file(&path) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        };
        if got != want {
            failures.push(format!("{file}:\n  expected {want:#?}\n  got {got:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn accepted_samples_have_the_expected_shape() {
    use mosn_config::{Address, LbType, NetworkFilterConfig, Protocol};
    let load = |file: &str| {
        mosn_config::load_file(&PathBuf::from(SAMPLES).join(file))
            .unwrap_or_else(|e| panic!("{file}: {e:?}"))
    };

    let http = load("http-sample__client_config.json");
    assert!(http.warnings.is_empty(), "{:?}", http.warnings);
    let c = &http.config;
    assert_eq!(c.admin, Some("0.0.0.0:34901".parse().expect("addr")));
    assert_eq!(c.clusters[0].lb_type, LbType::Random);
    assert_eq!(c.clusters[0].max_request_per_conn, 1024);
    assert!(matches!(
        &c.servers[0].listeners[0].filter_chains[0].filters[0],
        NetworkFilterConfig::Proxy(p) if p.router_config_name == "client_router"
    ));

    // "Name" (capitalised) is MOSN's own spelling in this sample.
    let tcp = load("tcpproxy-sample__config.json");
    assert_eq!(tcp.config.clusters[0].name, "serverCluster");
    assert!(matches!(
        &tcp.config.servers[0].listeners[0].filter_chains[0].filters[0],
        NetworkFilterConfig::TcpProxy(t) if t.cluster.as_deref() == Some("serverCluster")
            && t.routes.len() == 1
    ));

    let uds_client = load("uds-sample__client_config.json");
    assert_eq!(
        uds_client.config.servers[0].listeners[0].address,
        Address::Unix("/tmp/client-proxy.sock".into())
    );
    let warnings: Vec<String> = uds_client
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(warnings, ["tracing: tracing is not supported yet, ignored"]);
    let slow = load("slow-start-sample__config.json");
    // The sample's Http1 health check names no path: a TCP connect check, as in MOSN.
    let warnings: Vec<String> = slow.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        ["cluster_manager.clusters[0].health_check.check_config.http_check_config: missing: the Http1 health check falls back to a TCP connect check, as in MOSN"]
    );
    let cluster = &slow.config.clusters[0];
    assert_eq!(cluster.lb_type, LbType::WeightedRoundRobin);
    assert_eq!(
        cluster.slow_start,
        Some(mosn_config::SlowStartConfig {
            duration: std::time::Duration::from_secs(30),
            aggression: 1.0,
            min_weight_percent: 0.1,
        })
    );
    let weights: Vec<(Address, u32)> = cluster
        .hosts
        .iter()
        .map(|h| (h.address.clone(), h.weight))
        .collect();
    assert_eq!(
        weights,
        [8080, 8081, 8082]
            .iter()
            .zip([1, 2, 3])
            .map(|(p, w)| (Address::Tcp(([127, 0, 0, 1], *p).into()), w))
            .collect::<Vec<_>>()
    );
    let hc = cluster.health_check.as_ref().expect("health check");
    assert_eq!(hc.service_name, "serverCluster");
    assert_eq!(hc.healthy_threshold, 1);
    assert_eq!(hc.interval, std::time::Duration::from_secs(1));

    // The RPC samples: Bolt and Dubbo proxies; the healthcheck filter builds nothing
    // (heartbeats are always answered by the RPC proxy).
    for (file, protocol) in [
        (
            "sofarpc-with-xprotocol-sample__server_config.json",
            Protocol::Bolt,
        ),
        ("dubbo__client_config.json", Protocol::Dubbo),
    ] {
        let rpc = load(file);
        let listener = &rpc.config.servers[0].listeners[0];
        assert!(listener.stream_filters.is_empty(), "{file}");
        assert!(
            matches!(
                &listener.filter_chains[0].filters[0],
                NetworkFilterConfig::Proxy(p) if p.downstream_protocol == protocol
                    && p.upstream_protocol == protocol
            ),
            "{file}"
        );
    }

    let uds_server = load("uds-sample__server_config.json");
    assert_eq!(
        uds_server.config.clusters[0].hosts[0].address,
        Address::Unix("/tmp/server-proxy.sock".into())
    );
}
