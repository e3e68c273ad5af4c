//! gRPC through the proxy with real peers — grpcio (Python, C core) and @grpc/grpc-js
//! (Node.js) clients and servers, both directions: all four call kinds, metadata and
//! trailers, server errors, deadlines, the health service, and the proxy's own failures
//! answered as gRPC statuses.

mod support;

use serde_json::{json, Value};
use std::process::Command;
use support::*;

/// Routes for the echo service and the health service to `grpc`, `/dead.Svc/` to a
/// cluster whose only host refuses connections.
fn grpc_routes(route_timeout: Option<&str>) -> Value {
    let mut echo = json!({ "cluster_name": "grpc" });
    if let Some(t) = route_timeout {
        echo["timeout"] = json!(t);
    }
    json!([{
        "name": "grpc",
        "domains": ["*"],
        "routers": [
            { "match": { "prefix": "/test.Echo/" }, "route": echo },
            { "match": { "prefix": "/grpc.health.v1.Health/" }, "route": { "cluster_name": "grpc" } },
            { "match": { "prefix": "/dead.Svc/" }, "route": { "cluster_name": "dead" } }
        ]
    }])
}

fn start_proxy(
    downstream: &str,
    upstream: &str,
    grpc_port: u16,
    route_timeout: Option<&str>,
) -> (Mosn, u16) {
    let listen = free_port();
    let dead = free_port();
    let config = http_config(
        local(listen),
        Some(free_port()),
        grpc_routes(route_timeout),
        json!([
            cluster("grpc", &[local(grpc_port)]),
            cluster("dead", &[local(dead)])
        ]),
        json!({ "downstream_protocol": downstream, "upstream_protocol": upstream }),
        json!({}),
    );
    (Mosn::start(&config), listen)
}

/// Runs the grpcio test client against `port` and returns what it printed.
fn run_client(port: u16) -> Value {
    let mut cmd = Command::new(peer_python());
    cmd.arg(peer_script("grpc_client.py"));
    run_json(cmd, port)
}

/// Runs the grpc-js test client against `port` and returns what it printed.
fn run_js_client(port: u16) -> Value {
    run_json(node("grpc_client.js"), port)
}

fn run_json(mut cmd: Command, port: u16) -> Value {
    run_json_peer(cmd.arg(format!("127.0.0.1:{port}")))
}

/// What every client sees through the proxy, whichever implementation is on each end.
fn assert_common_calls(out: &Value, served_by: &str) {
    assert_eq!(
        out["unary"], "echo:hi x-test=42",
        "unary with request metadata"
    );
    assert_eq!(
        out["unary_trailers"]["x-served-by"], served_by,
        "trailing metadata"
    );
    assert_eq!(
        out["server_stream"],
        json!(["part-0", "part-1", "part-2", "part-3", "part-4"])
    );
    assert_eq!(out["client_stream"], "a+b+c");
    assert_eq!(out["bidi"], json!(["X", "YZ"]));
    assert_eq!(
        out["fail"],
        json!({ "code": "ABORTED", "details": "deliberate failure: d\u{e9}j\u{e0} vu" }),
        "a server error status and its message reach the client intact"
    );
    assert_eq!(out["deadline"]["code"], "DEADLINE_EXCEEDED");
    assert_eq!(
        out["no_route"],
        json!({ "code": "UNIMPLEMENTED", "details": "no route matched" })
    );
    assert_eq!(out["no_upstream"]["code"], "UNAVAILABLE");
}

/// What every proxied grpcio client run must show, whatever the listener's protocols.
fn assert_calls_pass_through(out: &Value, served_by: &str) {
    assert_common_calls(out, served_by);
    assert_eq!(
        out["bidi_pingpong"],
        json!(["ONE", "TWO", "THREE"]),
        "frames stream without buffering"
    );
    assert_eq!(
        out["big_len"], 3_000_000,
        "a 3 MB reply crosses the flow-control windows"
    );
    assert_eq!(
        out["health"],
        json!({ "test.Echo": "SERVING", "test.Down": "NOT_SERVING" })
    );
    assert_eq!(
        out["cancel"],
        json!({ "ticks": ["tick-0", "tick-1"], "server_saw_cancel": "yes" }),
        "a client's cancellation (RST_STREAM) reaches the server through the proxy"
    );
}

#[test]
fn grpcio_calls_of_every_kind_pass_through_an_http2_listener() {
    let dir = TempDir::new("grpc");
    let grpc_port = free_port();
    let _server = grpc_echo_server(grpc_port, "py-a", &dir);
    let (mosn, port) = start_proxy("Http2", "Http2", grpc_port, None);
    let out = run_client(port);
    assert_calls_pass_through(&out, "py-a");
    assert_eq!(
        out["slow"]["ok"], "late",
        "no proxy timeout below the call's own"
    );
    // Requests the proxy answered itself are counted as 200s with gRPC statuses; the
    // ones that reached the server are counted upstream.
    assert!(mosn.stat("cluster", "grpc", "upstream_rq_2xx") >= 8);
    // gRPC statuses counted per call: Fail, the call past its deadline, the cancelled
    // stream, no route and no upstream did not end with OK; the rest did.
    let ok = mosn.stat("listener", "test_listener", "downstream_rq_grpc_ok");
    let error = mosn.stat("listener", "test_listener", "downstream_rq_grpc_error");
    assert_eq!(error, 5, "grpc calls without OK");
    assert!(ok >= 10, "{ok} grpc calls with OK");
    assert!(mosn.stat("listener", "test_listener", "downstream_cx_http2_total") >= 1);
}

#[test]
fn grpc_through_an_auto_listener_keeps_http2_upstream() {
    let dir = TempDir::new("grpc-auto");
    let grpc_port = free_port();
    let _server = grpc_echo_server(grpc_port, "py-a", &dir);
    let (_mosn, port) = start_proxy("Auto", "Auto", grpc_port, None);
    let out = run_client(port);
    assert_calls_pass_through(&out, "py-a");
}

#[test]
fn the_route_timeout_ends_a_slow_call_with_deadline_exceeded() {
    let dir = TempDir::new("grpc-timeout");
    let grpc_port = free_port();
    let _server = grpc_echo_server(grpc_port, "py-a", &dir);
    let (mosn, port) = start_proxy("Http2", "Http2", grpc_port, Some("300ms"));
    let out = run_client(port);
    assert_eq!(
        out["slow"],
        json!({ "code": "DEADLINE_EXCEEDED", "details": "upstream request timeout" }),
        "the proxy's timeout is a gRPC status, not an HTTP 504"
    );
    assert!(mosn.stat("cluster", "grpc", "upstream_rq_timeout") >= 1);
}

#[test]
fn grpc_js_client_reaches_a_grpcio_server_through_the_proxy() {
    let dir = TempDir::new("grpc-js-client");
    let grpc_port = free_port();
    let _server = grpc_echo_server(grpc_port, "py-a", &dir);
    let (_mosn, port) = start_proxy("Http2", "Http2", grpc_port, None);
    assert_common_calls(&run_js_client(port), "py-a");
}

#[test]
fn grpcio_client_reaches_a_grpc_js_server_through_the_proxy() {
    let dir = TempDir::new("grpc-js-server");
    let grpc_port = free_port();
    let _server = grpc_js_echo_server(grpc_port, "js-b", &dir);
    let (_mosn, port) = start_proxy("Auto", "Auto", grpc_port, None);
    let out = run_client(port);
    assert_calls_pass_through(&out, "js-b");
    assert_eq!(out["slow"]["ok"], "late");
}

#[test]
fn grpcio_over_tls_reaches_the_server_through_a_tls_listener() {
    let dir = TempDir::new("grpc-tls");
    let pki = TestPki::new();
    let leaf = pki.leaf("grpc.test", &["DNS:grpc.test"], 30);
    let grpc_port = free_port();
    let _server = grpc_echo_server(grpc_port, "py-a", &dir);
    let listen = free_port();
    let mut config = http_config(
        local(listen),
        Some(free_port()),
        grpc_routes(None),
        json!([
            cluster("grpc", &[local(grpc_port)]),
            cluster("dead", &[local(free_port())])
        ]),
        json!({ "downstream_protocol": "Auto", "upstream_protocol": "Http2" }),
        json!({}),
    );
    config["servers"][0]["listeners"][0]["filter_chains"][0]["tls_context"] =
        server_tls(&leaf, json!({ "alpn": "h2" }));
    let mosn = Mosn::start(&config);
    let mut cmd = Command::new(peer_python());
    cmd.arg(peer_script("grpc_client.py"))
        .arg(format!("127.0.0.1:{listen}"))
        .arg(pki.ca())
        .arg("grpc.test");
    let out = run_json_peer(&mut cmd);
    assert_calls_pass_through(&out, "py-a");
    assert!(mosn.stat("listener", "test_listener", "ssl_handshake") >= 1);
}
