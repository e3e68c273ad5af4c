//! HTTP → Bolt through MOSN's `transcoder` stream filter (`http2bolt_simple`): curl posts
//! a hessian2-serialized SOFARPC call (the body a real sofa-rpc-node client sent, taken
//! from a captured frame) with its `service` header; a real sofa-rpc-node server answers,
//! and its Bolt response comes back as the HTTP response.

mod support;

use mosn_protocol::xprotocol::bolt::BoltFrame;
use serde_json::json;
use support::*;

const HELLO: &str = "com.alipay.sofa.rpc.quickstart.HelloService:1.0";

/// The hessian2 `SofaRequest` of a `sayHello("peter")` call, as sofa-rpc-node serialized
/// it: the content of a captured Bolt request.
fn say_hello_body() -> Vec<u8> {
    let frame = captured_frame(
        "bolt-frames",
        "conn0.c2s-00-request-rpc_request-p1-hessian2",
    );
    BoltFrame::parse(&frame)
        .expect("captured frame")
        .content
        .to_vec()
}

/// The same call to `fail("peter")`: the method name is a compact hessian2 string.
fn fail_body() -> Vec<u8> {
    let body = say_hello_body();
    let at = body
        .windows(9)
        .position(|w| w == b"\x08sayHello")
        .expect("method name in the captured call");
    [&body[..at], b"\x04fail", &body[at + 9..]].concat()
}

/// Posts `body` as a call of `service` to the HTTP port; `extra` are more curl arguments.
fn post_call(port: u16, service: &str, body: &[u8], extra: &[&str]) -> Curl {
    let dir = TempDir::new("transcoder");
    let file = dir.file("call.hessian2");
    std::fs::write(&file, body).expect("write body");
    let data = format!("@{}", file.display());
    let url = format!("http://127.0.0.1:{port}/");
    let header = format!("service: {service}");
    let mut args = vec!["-X", "POST", "-H", &header, "--data-binary", &data];
    args.extend_from_slice(extra);
    args.push(&url);
    curl(&args)
}

#[test]
fn mosn_transcoder_sample_configs_turn_http_calls_into_bolt_and_back() {
    // MOSN's own sample pair, unchanged: HTTP/1 client listener with the transcoder →
    // Bolt server listener → the application.
    // Admin listeners are added for the stats.
    let mut pair = SamplePair::read("filter__transcoder__", 8080);
    let (client_port, app_port) = (pair.client_port, pair.app_port);
    set_admin(&mut pair.client, free_port());
    set_admin(&mut pair.server, free_port());
    let _app = node_server("bolt_server.js", app_port, &["app"]);
    let server = Mosn::start(&pair.server);
    let client = Mosn::start(&pair.client);

    let ok = post_call(client_port, HELLO, &say_hello_body(), &[]);
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(ok.text().contains("hello peter from app"), "{}", ok.text());

    // The server's exception is a Bolt error status: an HTTP 5xx carrying its message.
    let failed = post_call(client_port, HELLO, &fail_body(), &[]);
    assert_eq!(failed.status, 500, "{failed:?}");
    assert!(failed.text().contains("failed: peter"), "{}", failed.text());

    client.expect_stat("cluster", "clientCluster", "upstream_rq_total", 2);
    client.expect_stat("cluster", "clientCluster", "upstream_rq_2xx", 1);
    client.expect_stat("cluster", "clientCluster", "upstream_rq_5xx", 1);
    server.expect_stat("cluster", "serverCluster", "upstream_rq_total", 2);
}

fn transcoding_proxy(
    cluster_hosts: &[std::net::SocketAddr],
    extra: serde_json::Value,
) -> (Mosn, u16) {
    let (port, admin) = (free_port(), free_port());
    let mut transcoder = json!({ "type": "http2bolt_simple" });
    if let (Some(t), serde_json::Value::Object(e)) = (transcoder.as_object_mut(), extra) {
        t.extend(e);
    }
    let config = http_config(
        local(port),
        Some(admin),
        json!([{
            "name": "rpc",
            "domains": ["*"],
            "routers": [{
                "match": { "headers": [{ "name": "service", "value": HELLO }] },
                "route": { "cluster_name": "bolt_servers", "timeout": "2s" }
            }]
        }]),
        json!([cluster("bolt_servers", cluster_hosts)]),
        json!({
            "downstream_protocol": "Auto",
            "upstream_protocol": "X",
            "extend_config": { "sub_protocol": "bolt" }
        }),
        json!({}),
    );
    let mut config = config;
    config["servers"][0]["listeners"][0]["stream_filters"] =
        json!([{ "type": "transcoder", "config": transcoder }]);
    (Mosn::start(&config), port)
}

#[test]
fn http1_and_h2c_calls_reach_a_bolt_server_and_failures_are_http_errors() {
    let upstream = free_port();
    let _server = node_server("bolt_server.js", upstream, &["up1"]);
    let (mosn, port) = transcoding_proxy(&[local(upstream)], json!({}));
    let body = say_hello_body();

    for extra in [&["--http1.1"][..], &["--http2-prior-knowledge"][..]] {
        let ok = post_call(port, HELLO, &body, extra);
        assert_eq!(ok.status, 200, "{extra:?}: {ok:?}");
        assert!(ok.text().contains("hello peter from up1"), "{}", ok.text());
    }
    // Bolt requests share the worker's multiplexed connections: at most one per worker
    // (two here) whatever the clients did.
    for _ in 0..10 {
        assert_eq!(post_call(port, HELLO, &body, &[]).status, 200);
    }
    let connections = mosn.stat("cluster", "bolt_servers", "upstream_cx_total");
    assert!(
        (1..=2).contains(&connections),
        "{connections} upstream connections"
    );

    // No route for the service: 404 from the HTTP router, nothing sent upstream.
    let unrouted = post_call(port, "com.example.Other:1.0", &body, &[]);
    assert_eq!(unrouted.status, 404, "{unrouted:?}");

    // Garbage instead of a serialized call: the server's codec error, as an HTTP 5xx.
    let garbage = post_call(port, HELLO, b"not hessian", &[]);
    assert!(garbage.status >= 500, "{garbage:?}");

    // A body larger than a Bolt frame may be: 413 before anything goes upstream.
    let before = mosn.stat("cluster", "bolt_servers", "upstream_rq_total");
    let huge = vec![b'x'; 17 * 1024 * 1024];
    let too_large = post_call(port, HELLO, &huge, &[]);
    assert_eq!(too_large.status, 413, "{too_large:?}");
    mosn.expect_stat("cluster", "bolt_servers", "upstream_rq_total", before);
}

#[test]
fn dead_and_slow_bolt_upstreams_become_502_and_504() {
    // Nothing listens: every connect is refused.
    let (mosn, port) = transcoding_proxy(&[local(free_port())], json!({}));
    let refused = post_call(port, HELLO, &say_hello_body(), &[]);
    assert_eq!(refused.status, 502, "{refused:?}");
    drop(mosn);

    // The call takes longer than the route's 2 s timeout: 504, and the Bolt request told
    // the server how long it had.
    let upstream = free_port();
    let _server = node_server("bolt_server.js", upstream, &["up1"]);
    let (mosn, port) = transcoding_proxy(&[local(upstream)], json!({}));
    let slow = say_hello_body();
    let at = slow
        .windows(9)
        .position(|w| w == b"\x08sayHello")
        .expect("method name");
    // `slow(ms)` takes an int where `sayHello` takes a string: keep the call's shape, the
    // server converts "5000" with JavaScript's loose typing.
    let slow = [&slow[..at], b"\x04slow", &slow[at + 9..]].concat();
    let slow = replace_last_string(&slow, b"peter", b"5000");
    let timed_out = post_call(port, HELLO, &slow, &[]);
    assert_eq!(timed_out.status, 504, "{timed_out:?}");
    assert!(timed_out.time_total < 4.0, "{timed_out:?}");
    mosn.expect_stat("cluster", "bolt_servers", "upstream_rq_timeout", 1);
}

/// `body` with its last compact hessian2 string `from` replaced by `to` (both < 32 bytes).
fn replace_last_string(body: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let needle = [&[from.len() as u8][..], from].concat();
    let at = body
        .windows(needle.len())
        .rposition(|w| w == needle)
        .expect("string in the call");
    [
        &body[..at],
        &[to.len() as u8][..],
        to,
        &body[at + needle.len()..],
    ]
    .concat()
}
