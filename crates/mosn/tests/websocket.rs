//! WebSocket through the proxy with real peers (the Python `websockets` client and
//! server): the upgrade is routed, the tunnel carries text, binary and control frames
//! both ways, a refused upgrade reaches the client as the upstream's answer, and an idle
//! tunnel is closed after the listener's idle timeout. HTTP/2 clients use RFC 8441
//! extended CONNECT (a client built from the `h2` and `wsproto` libraries: no packaged
//! client speaks it over h2c).

mod support;

use serde_json::{json, Value};
use std::process::Command;
use support::*;

fn proxy(upstream_port: u16, listener_extra: Value) -> (Mosn, u16) {
    proxy_as("Http1", upstream_port, listener_extra)
}

fn proxy_as(downstream: &str, upstream_port: u16, listener_extra: Value) -> (Mosn, u16) {
    let listen = free_port();
    let mut config = http_config(
        local(listen),
        Some(free_port()),
        forward_all("ws"),
        json!([cluster("ws", &[local(upstream_port)])]),
        json!({ "downstream_protocol": downstream, "upstream_protocol": "Http1" }),
        json!({}),
    );
    if let (Some(listener), Value::Object(extra)) = (
        config["servers"][0]["listeners"][0].as_object_mut(),
        listener_extra,
    ) {
        listener.extend(extra);
    }
    (Mosn::start(&config), listen)
}

fn run_client(args: &[&str]) -> Value {
    run_script("ws_client.py", args)
}

fn run_script(script: &str, args: &[&str]) -> Value {
    run_json_peer(
        Command::new(peer_python())
            .arg(peer_script(script))
            .args(args),
    )
}

#[test]
fn websocket_messages_cross_the_tunnel_both_ways() {
    let dir = TempDir::new("ws");
    let upstream = free_port();
    let _server = websocket_echo_server(upstream, &dir);
    let (mosn, port) = proxy(upstream, json!({}));
    let out = run_client(&[&format!("ws://127.0.0.1:{port}/chat")]);
    assert_eq!(
        out,
        json!({ "text": "hello", "binary_ok": true, "ordered": true, "pong": true }),
        "text, 1 MiB binary, 100 ordered messages and a ping all crossed"
    );
    assert_eq!(
        mosn.stat("listener", "test_listener", "downstream_rq_1xx"),
        1
    );
    assert_eq!(mosn.stat("cluster", "ws", "upstream_rq_1xx"), 1);
}

#[test]
fn a_refused_upgrade_reaches_the_client_as_the_upstream_answered() {
    let dir = TempDir::new("ws-refuse");
    let upstream = free_port();
    let _server = websocket_echo_server(upstream, &dir);
    let (_mosn, port) = proxy(upstream, json!({}));
    let out = run_client(&[&format!("ws://127.0.0.1:{port}/refuse")]);
    assert_eq!(out, json!({ "status": 403, "body": "no upgrade here\n" }));
}

#[test]
fn an_idle_tunnel_is_closed_after_the_idle_timeout() {
    let dir = TempDir::new("ws-idle");
    let upstream = free_port();
    let _server = websocket_echo_server(upstream, &dir);
    let (_mosn, port) = proxy(upstream, json!({ "connection_idle_timeout": "1s" }));
    let out = run_client(&[&format!("ws://127.0.0.1:{port}/chat"), "--idle", "2.5"]);
    assert_eq!(out, json!({ "closed_while_idle": true }));
    // A tunnel that keeps talking is not idle.
    let out = run_client(&[&format!("ws://127.0.0.1:{port}/chat"), "--idle", "0.2"]);
    assert_eq!(out, json!({ "closed_while_idle": false }));
}

#[test]
fn http2_clients_open_websockets_with_extended_connect() {
    let dir = TempDir::new("ws-h2");
    let upstream = free_port();
    let _server = websocket_echo_server(upstream, &dir);
    let (mosn, port) = proxy_as("Http2", upstream, json!({}));
    let port_arg = port.to_string();
    let out = run_script("ws_h2_client.py", &["127.0.0.1", &port_arg, "/chat"]);
    assert_eq!(
        out,
        json!({ "enable_connect_protocol": 1, "status": 200, "echoes": [true, true] }),
        "SETTINGS_ENABLE_CONNECT_PROTOCOL offered, stream upgraded, messages echoed"
    );
    assert_eq!(mosn.stat("cluster", "ws", "upstream_rq_1xx"), 1);
    let out = run_script("ws_h2_client.py", &["127.0.0.1", &port_arg, "/refuse"]);
    assert_eq!(
        out["status"], 403,
        "the upstream's refusal reaches the h2 client"
    );
}
