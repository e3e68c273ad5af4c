//! xDS end to end: mosn started from an Envoy bootstrap follows the test control plane
//! (`tests/peers/xds/ads_server.py`, SotW and Delta), serves gRPC traffic from a grpcio
//! client through a listener, route and cluster it only knows from ADS, NACKs a bad
//! resource by name while traffic continues, and keeps serving through a control-plane
//! outage, resynchronizing after it.

mod support;

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use support::*;

/// The pieces of one scenario: the backend, the control plane, and mosn.
struct Mesh {
    _backend: Peer,
    backend_port: u16,
    control: ControlPlane,
    mosn: Mosn,
    ingress: SocketAddr,
    _dir: TempDir,
}

/// Starts the echo set (listener `ingress_<port>` → RDS `echo_route` → EDS
/// `echo_cluster` (h2) → a grpcio backend named `A`) and mosn following it.
fn mesh(delta: bool) -> Mesh {
    let dir = TempDir::new("xds");
    let backend_port = free_port();
    let ingress_port = free_port();
    let backend = grpc_backend(backend_port, "A", &dir);
    let control = ControlPlane::start(&echo_args(backend_port, ingress_port), &dir);
    let admin = local(free_port());
    let bootstrap = ads_bootstrap(control.port, admin.port(), delta);
    let mosn = mosn_from_bootstrap(&bootstrap, admin);
    Mesh {
        _backend: backend,
        backend_port,
        control,
        mosn,
        ingress: local(ingress_port),
        _dir: dir,
    }
}

/// The type of a logged request (`Cluster`, `ClusterLoadAssignment`, `Listener`,
/// `RouteConfiguration`).
fn short(r: &Value) -> &str {
    r["type"].as_str().unwrap_or_default()
}

fn assert_call(m: &Mesh, expect: &str) {
    let (ok, out) = grpc_call(m.ingress, expect, 10);
    assert!(
        ok,
        "gRPC call through mosn: {out}\nmosn log:\n{}",
        m.mosn.log()
    );
}

fn every_type_acked(m: &Mesh) {
    for ty in [
        "Cluster",
        "ClusterLoadAssignment",
        "Listener",
        "RouteConfiguration",
    ] {
        m.control
            .wait_request(Duration::from_secs(10), &format!("ACK of {ty}"), |r| {
                short(r) == ty && r["kind"] == "ACK"
            });
    }
}

#[test]
fn sotw_serves_grpc_through_a_listener_route_and_cluster_from_ads() {
    let m = mesh(false);
    assert_call(&m, "A:");
    every_type_acked(&m);
    let first = m.control.requests()[0].clone();
    assert_eq!(first["mode"], "sotw", "{first}");
    assert_eq!(short(&first), "Cluster", "CDS is asked for first: {first}");
}

#[test]
fn delta_serves_grpc_through_a_listener_route_and_cluster_from_ads() {
    let m = mesh(true);
    assert_call(&m, "A:");
    every_type_acked(&m);
    assert_eq!(m.control.requests()[0]["mode"], "delta");
}

/// A bad cluster is NACKed naming it, with the last accepted version; traffic goes on;
/// a later good version is ACKed.
fn nack_then_ack(delta: bool) {
    let m = mesh(delta);
    assert_call(&m, "A:");
    m.control
        .post("bad", &json!({"type": "Cluster", "name": "bad_cluster"}));
    let nack = m
        .control
        .wait_request(Duration::from_secs(10), "NACK of the bad cluster", |r| {
            r["kind"] == "NACK" && short(r) == "Cluster"
        });
    let detail = nack["error_detail"]["message"].as_str().unwrap_or_default();
    assert!(
        detail.contains("bad_cluster"),
        "NACK detail names the cluster: {nack}"
    );
    assert!(
        detail.contains("connect_timeout"),
        "NACK detail names the field: {nack}"
    );
    assert_call(&m, "A:");
    // The server heals after the NACK (drops the bad cluster); a later good version of
    // the clusters is ACKed.
    m.control.post(
        "upsert",
        &json!({"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
            "name": "extra_cluster", "type": "STATIC", "connect_timeout": "1s",
            "load_assignment": {"cluster_name": "extra_cluster", "endpoints": [{"lb_endpoints": [
                {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 9}}}}]}]}}),
    );
    let nacks = m
        .control
        .requests()
        .iter()
        .filter(|r| r["kind"] == "NACK")
        .count();
    m.control
        .wait_request(Duration::from_secs(10), "ACK of a later version", |r| {
            r["kind"] == "ACK"
                && short(r) == "Cluster"
                && r["t"].as_f64() > nack["t"].as_f64()
                && r["acked"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|n| n == "extra_cluster"))
        });
    assert_eq!(
        nacks,
        m.control
            .requests()
            .iter()
            .filter(|r| r["kind"] == "NACK")
            .count(),
        "one NACK only"
    );
    assert_call(&m, "A:");
}

#[test]
fn sotw_nacks_a_bad_cluster_by_name_while_traffic_continues() {
    nack_then_ack(false);
}

#[test]
fn delta_nacks_a_bad_cluster_by_name_while_traffic_continues() {
    nack_then_ack(true);
}

/// The control plane dies: traffic goes on with the last configuration; it comes back
/// on the same address: mosn reconnects (with the versions it holds, in Delta) and
/// follows changes again.
fn outage(delta: bool) {
    let mut m = mesh(delta);
    assert_call(&m, "A:");
    every_type_acked(&m);
    m.control.kill();
    assert_call(&m, "A:");
    let restarted = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    let port = m.control.port;
    m.control = ControlPlane::start_on(port, &echo_args(m.backend_port, m.ingress.port()), &m._dir);
    let again = m
        .control
        .wait_request(Duration::from_secs(20), "a request on a new stream", |r| {
            short(r) == "Cluster" && r["t"].as_f64() > Some(restarted)
        });
    if delta {
        let held = again["initial_resource_versions"]
            .as_object()
            .map_or(0, |v| v.len());
        assert_eq!(held, 1, "Delta says which clusters it holds: {again}");
    }
    assert_call(&m, "A:");
    m.control
        .wait_request(Duration::from_secs(10), "the listener ACKed again", |r| {
            short(r) == "Listener" && r["kind"] == "ACK" && r["t"].as_f64() > Some(restarted)
        });
}

#[test]
fn sotw_keeps_serving_through_a_control_plane_outage_and_resynchronizes() {
    outage(false);
}

#[test]
fn delta_keeps_serving_through_a_control_plane_outage_and_resynchronizes() {
    outage(true);
}

/// Istio's way with certificates: a listener from ADS names its certificate (`default`)
/// and CA (`ROOTCA`) over SDS, served on a stream of their own by an agent-like SDS
/// server on a Unix socket. The listener warms until they arrive, then requires client
/// certificates from that CA; a rotated certificate is served without a restart.
#[test]
fn sds_secrets_from_their_own_stream_serve_mtls_and_rotate() {
    let dir = TempDir::new("xds-sds");
    let sds = SdsServer::start(&dir);
    let port = free_port();
    let sds_config = json!({"api_config_source": {"api_type": "GRPC", "transport_api_version": "V3",
        "grpc_services": [{"envoy_grpc": {"cluster_name": "sds-grpc"}}]}, "resource_api_version": "V3"});
    let listener = json!({
        "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
        "name": "mtls_in",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [{
            "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                "require_client_certificate": true,
                "common_tls_context": {
                    "tls_certificate_sds_secret_configs": [{"name": "default", "sds_config": sds_config}],
                    "validation_context_sds_secret_config": {"name": "ROOTCA", "sds_config": sds_config},
                }}},
            "filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": "mtls_in",
                "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
                "route_config": {"name": "local", "virtual_hosts": [{"name": "all", "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"},
                        "direct_response": {"status": 200, "body": {"inline_string": "sds-ok"}}}]}]},
            }}],
        }],
    });
    let resources = dir.write(
        "resources.json",
        serde_json::to_vec(&json!([listener])).expect("json"),
    );
    let control = ControlPlane::start(
        &["--resources".into(), resources.display().to_string()],
        &dir,
    );
    let admin = local(free_port());
    let bootstrap = ads_bootstrap_with_sds(control.port, admin.port(), false, &sds.socket);
    let mut mosn = Mosn::spawn_file(
        "bootstrap.yaml",
        bootstrap.as_bytes(),
        vec![local(port)],
        Some(admin),
    );
    mosn.wait_ready(false);

    let (_ca, cert, key) = sds.files();
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let url = format!("https://127.0.0.1:{port}/");
    let ok = curl(&["-k", "--cert", &cert, "--key", &key, &url]);
    assert_eq!(ok.status, 200, "{ok:?}\nmosn log:\n{}", mosn.log());
    assert_eq!(ok.text(), "sds-ok");
    let anonymous = curl(&["-k", &url]);
    assert_ne!(
        anonymous.status, 200,
        "a client without a certificate is refused"
    );
    let first = sds.fingerprint();
    assert_eq!(
        served_fingerprint(port),
        first,
        "the SDS certificate is served"
    );

    sds.rotate();
    let rotated = sds.fingerprint();
    assert_ne!(rotated, first);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while served_fingerprint(port) != rotated {
        assert!(
            std::time::Instant::now() < deadline,
            "the rotated certificate is not served; mosn log:\n{}",
            mosn.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let again = curl(&["-k", "--cert", &cert, "--key", &key, &url]);
    assert_eq!(again.status, 200, "{again:?}");
}
