//! SOFA Bolt through mosn: real sofa-rpc-node clients and servers (hessian2, protobuf,
//! Bolt v2 with CRC32, heartbeats, server exceptions), MOSN's sofarpc sample configs,
//! a thousand calls in flight on one connection, and every failure a client can wait on
//! turned into a Bolt error frame.

mod support;

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::TcpListener;

use mosn_protocol::xprotocol::bolt::BOLT_V1;
use mosn_protocol::xprotocol::{FrameKind, XCodec};
use serde_json::json;
use support::*;

const HELLO: &str = "com.alipay.sofa.rpc.quickstart.HelloService:1.0";

/// A sayHello request as sofa-rpc-node sent it (Bolt v1, hessian2, service header).
fn hello_request() -> Vec<u8> {
    captured_frame(
        "bolt-frames",
        "conn0.c2s-00-request-rpc_request-p1-hessian2",
    )
}

fn bolt_proxy(upstreams: &[std::net::SocketAddr]) -> (Mosn, u16) {
    let (port, admin) = (free_port(), free_port());
    let config = rpc_config(
        local(port),
        admin,
        "bolt",
        json!([rpc_route("service", ".*", "bolt_servers")]),
        json!([cluster("bolt_servers", upstreams)]),
    );
    (Mosn::start(&config), port)
}

fn assert_node_client_calls(got: &HashMap<String, serde_json::Value>, upstream: &str) {
    assert_eq!(
        got["sayHello"],
        format!("hello peter from {upstream}"),
        "{got:?}"
    );
    assert_eq!(got["plus"], 3, "{got:?}");
    let fail = got["fail"].as_str().unwrap_or_default();
    assert!(
        fail.contains("RpcServerException") && fail.contains("failed: boom"),
        "{got:?}"
    );
    assert_eq!(
        got["echoObj"]["message"],
        format!("hello peter from {upstream}, group B")
    );
    assert_eq!(
        got["v2crc"]["data"],
        format!("hello bolt-v2 from {upstream}")
    );
    assert_eq!(got["v2crc"]["boltVersion"], 2);
    assert_eq!(got["v2crc"]["crc"], true);
    assert_eq!(got["v2crc"]["id"], 7, "the client's id is restored");
    assert_eq!(got["heartbeat_ack"], 8);
}

#[test]
fn sofa_rpc_node_calls_cross_mosn_in_every_bolt_flavour() {
    let upstream = free_port();
    let _server = node_server("bolt_server.js", upstream, &["up1"]);
    let (mosn, port) = bolt_proxy(&[local(upstream)]);

    let got = node_client("bolt_client.js", &[&format!("127.0.0.1:{port}")]);
    assert_node_client_calls(&got, "up1");

    // Four RPC calls and the v2 call went upstream; the heartbeat was answered by mosn.
    mosn.expect_stat("cluster", "bolt_servers", "upstream_rq_total", 5);
    // The server exception is a Bolt status 2 response: a 5xx for stats.
    mosn.expect_stat("cluster", "bolt_servers", "upstream_rq_5xx", 1);
    mosn.expect_stat("cluster", "bolt_servers", "upstream_rq_2xx", 4);
    mosn.expect_stat("listener", "test_listener", "downstream_rq_total", 5);
}

#[test]
fn mosn_sofarpc_sample_configs_chain_client_to_server() {
    let pair = SamplePair::read("sofarpc-with-xprotocol-sample__", 8080);
    let (client_port, app_port) = (pair.client_port, pair.app_port);
    let configs = [pair.client, pair.server];
    let _app = node_server("bolt_server.js", app_port, &["app"]);
    let server = Mosn::start(&configs[1]);
    let client = Mosn::start(&configs[0]);
    let got = node_client("bolt_client.js", &[&format!("127.0.0.1:{client_port}")]);
    assert_node_client_calls(&got, "app");
    client.expect_stat("cluster", "clientCluster", "upstream_rq_total", 5);
    server.expect_stat("cluster", "serverCluster", "upstream_rq_total", 5);
}

#[test]
fn mosn_sofarpc_tls_sample_configs_chain_client_to_server_over_mtls() {
    let pair = SamplePair::read("sofarpc-with-xprotocol-sample__tls_", 8080);
    let (client_port, app_port) = (pair.client_port, pair.app_port);
    let (mut client_cfg, mut server_cfg) = (pair.client, pair.server);
    use_sample_certs(&mut client_cfg["cluster_manager"]["clusters"][0]["tls_context"]);
    use_sample_certs(
        &mut server_cfg["servers"][0]["listeners"][0]["filter_chains"][0]["tls_context"],
    );
    let _app = node_server("bolt_server.js", app_port, &["app"]);
    let server = Mosn::start(&server_cfg);
    let client = Mosn::start(&client_cfg);
    let got = node_client("bolt_client.js", &[&format!("127.0.0.1:{client_port}")]);
    assert_node_client_calls(&got, "app");
    server.expect_stat("cluster", "serverCluster", "upstream_rq_total", 5);
    assert!(client.stat("cluster", "clientCluster", "ssl_handshake") >= 1);
    assert!(server.stat("listener", "serverListener", "ssl_handshake") >= 1);
}

#[test]
fn a_thousand_calls_in_flight_on_one_connection_all_come_back_with_their_ids() {
    let upstream = free_port();
    let _server = node_server("bolt_server.js", upstream, &["up1"]);
    let (mosn, port) = bolt_proxy(&[local(upstream)]);
    let mut client = RpcClient::connect(local(port), &BOLT_V1);
    let template = hello_request();
    // Ids far apart and out of order, as independent callers would pick them.
    let ids: Vec<u64> = (0..1000u64)
        .map(|i| (i * 7919 + 13) % 1_000_003 + 1)
        .collect();
    let mut batch = Vec::new();
    for &id in &ids {
        batch.extend_from_slice(&client.frame_with_id(&template, id).bytes);
    }
    client.send(&batch);
    let mut seen = HashSet::new();
    for _ in 0..ids.len() {
        let f = client.recv();
        assert_eq!(f.head.kind, FrameKind::Response);
        assert_eq!(f.head.status, 0, "id {} failed", f.head.request_id);
        assert!(
            seen.insert(f.head.request_id),
            "id {} twice",
            f.head.request_id
        );
    }
    assert_eq!(seen, ids.iter().copied().collect::<HashSet<_>>());
    // Multiplexed: one upstream connection carried all of them.
    mosn.expect_stat("cluster", "bolt_servers", "upstream_cx_total", 1);
    mosn.expect_stat("cluster", "bolt_servers", "upstream_rq_2xx", 1000);
}

#[test]
fn oneway_requests_are_forwarded_without_a_reply() {
    let upstream = free_port();
    let _server = node_server("bolt_server.js", upstream, &["up1"]);
    let (mosn, port) = bolt_proxy(&[local(upstream)]);
    let mut client = RpcClient::connect(local(port), &BOLT_V1);
    let mut oneway = hello_request();
    oneway[1] = 2; // type: oneway
    let frame = client.frame_with_id(&oneway, 41);
    client.send(&frame.bytes);
    // The next call's reply is the first frame back: the oneway got none.
    let reply = client.call(&hello_request(), 42);
    assert_eq!((reply.head.request_id, reply.head.status), (42, 0));
    mosn.expect_stat("cluster", "bolt_servers", "upstream_rq_total", 2);
}

#[test]
fn failures_become_bolt_error_frames_with_the_clients_id() {
    // An upstream that accepts and reads but never answers (timeouts), one that closes
    // after reading (resets), and a port nobody listens on (connect failures).
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let closing = TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = local(free_port());
    let (silent_addr, closing_addr) = (silent.local_addr().unwrap(), closing.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in silent.incoming().flatten() {
            held.push(s);
        }
    });
    std::thread::spawn(move || {
        for mut s in closing.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
        }
    });
    let (port, admin) = (free_port(), free_port());
    let route = |service: &str, cluster: &str, timeout: Option<&str>| {
        let mut r = rpc_route("service", service, cluster);
        if let Some(t) = timeout {
            r["route"]["timeout"] = json!(t);
        }
        r
    };
    let mut silent_cluster = cluster("silent", &[silent_addr]);
    silent_cluster["circuit_breakers"] = json!([{ "max_requests": 1 }]);
    let config = rpc_config(
        local(port),
        admin,
        "bolt",
        json!([
            route("silent:1.0", "silent", Some("300ms")),
            route("closing:1.0", "closing", None),
            route("refused:1.0", "refused", None),
        ]),
        json!([
            silent_cluster,
            cluster("closing", &[closing_addr]),
            cluster("refused", &[refused]),
        ]),
    );
    let mosn = Mosn::start(&config);
    let mut client = RpcClient::connect(local(port), &BOLT_V1);
    for (service, id, status) in [
        (HELLO, 1, 6),          // no route: NO_PROCESSOR
        ("silent:1.0", 2, 7),   // route timeout: TIMEOUT
        ("closing:1.0", 3, 16), // upstream closed: CONNECTION_CLOSED
        ("refused:1.0", 4, 16), // connect refused: CONNECTION_CLOSED
    ] {
        let reply = client.call(&client_frame_with_service(service), id);
        assert_eq!(reply.head.kind, FrameKind::Response, "{service}");
        assert_eq!(
            (reply.head.request_id, reply.head.status),
            (id, status),
            "{service}"
        );
    }
    // Two calls in flight where the breaker allows one: the second is refused at once
    // (SERVER_THREADPOOL_BUSY), the first times out.
    let silent_call = client_frame_with_service("silent:1.0");
    let (a, b) = (
        client.frame_with_id(&silent_call, 10),
        client.frame_with_id(&silent_call, 11),
    );
    client.send(&[&a.bytes[..], &b.bytes[..]].concat());
    let first = client.recv();
    assert_eq!((first.head.request_id, first.head.status), (11, 4));
    let second = client.recv();
    assert_eq!((second.head.request_id, second.head.status), (10, 7));
    mosn.expect_stat("cluster", "silent", "upstream_rq_pending_overflow", 1);

    // Heartbeats are answered by mosn itself, with the client's id.
    let hb = captured_frame("bolt-frames", "c2s-01-request-heartbeat-p2");
    let reply = client.call(&hb, 99);
    assert_eq!(
        (reply.head.kind, reply.head.request_id),
        (FrameKind::HeartbeatResponse, 99)
    );
    mosn.expect_stat("cluster", "silent", "upstream_rq_timeout", 2);
    mosn.expect_stat("cluster", "closing", "upstream_rq_reset", 1);
    mosn.expect_stat("cluster", "refused", "upstream_cx_connect_fail", 4);

    // A corrupt frame closes the connection (after counting it); others are unaffected.
    client.send(b"\x01\x09garbage-garbage-garbage");
    assert!(
        client.try_recv().is_none(),
        "mosn closes a connection out of step"
    );
    mosn.expect_stat(
        "listener",
        "test_listener",
        "downstream_rq_protocol_error",
        1,
    );
    let mut again = RpcClient::connect(local(port), &BOLT_V1);
    let reply = again.call(&hb, 5);
    assert_eq!(reply.head.request_id, 5);
}

#[test]
fn a_header_hash_policy_pins_each_key_to_one_upstream() {
    let (a, b) = (free_port(), free_port());
    let _a = node_server("bolt_server.js", a, &["upA"]);
    let _b = node_server("bolt_server.js", b, &["upB"]);
    let (port, admin) = (free_port(), free_port());
    let mut route = rpc_route("service", ".*", "hashed");
    route["route"]["hash_policy"] = json!([{ "header": { "key": "x-user" } }]);
    let mut hashed = cluster("hashed", &[local(a), local(b)]);
    hashed["lb_type"] = json!("LB_MAGLEV");
    let mosn = Mosn::start(&rpc_config(
        local(port),
        admin,
        "bolt",
        json!([route]),
        json!([hashed]),
    ));
    let mut client = RpcClient::connect(local(port), &BOLT_V1);
    let mut upstreams_of = HashMap::new();
    for user in 0..8 {
        let frame =
            client_frame_with_headers(&[("service", HELLO), ("x-user", &format!("user-{user}"))]);
        let mut seen = HashSet::new();
        for i in 0..5 {
            let reply = client.call(&frame, user * 10 + i + 1);
            assert_eq!(reply.head.status, 0);
            let body = String::from_utf8_lossy(&reply.bytes).into_owned();
            seen.insert(if body.contains("upA") { "upA" } else { "upB" });
        }
        assert_eq!(seen.len(), 1, "user-{user} moved between upstreams");
        upstreams_of.insert(user, seen.into_iter().next().unwrap());
    }
    let used: HashSet<_> = upstreams_of.values().collect();
    assert_eq!(
        used.len(),
        2,
        "eight keys all hashed to one host: {upstreams_of:?}"
    );
    mosn.expect_stat("cluster", "hashed", "upstream_rq_2xx", 40);
}

#[test]
fn a_bolt_heartbeat_health_check_takes_a_silent_server_out_of_rotation() {
    // A TCP connect check would pass this server: it accepts but never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in silent.incoming().flatten() {
            held.push(s);
        }
    });
    let good = free_port();
    let _server = node_server("bolt_server.js", good, &["good"]);
    let (port, admin) = (free_port(), free_port());
    let mut checked = cluster("checked", &[local(good), silent_addr]);
    checked["health_check"] = json!({
        "protocol": "bolt",
        "service_name": "checked",
        "timeout": "300ms",
        "interval": "200ms",
        "initial_delay_seconds": "100ms",
        "unhealthy_threshold": 1,
        "healthy_threshold": 1
    });
    let mosn = Mosn::start(&rpc_config(
        local(port),
        admin,
        "bolt",
        json!([rpc_route("service", ".*", "checked")]),
        json!([checked]),
    ));
    mosn.wait_stat(
        "cluster",
        "checked",
        "health_check_failure",
        IO_TIMEOUT,
        |n| n >= 1,
    );
    mosn.wait_stat(
        "cluster",
        "checked",
        "membership_healthy",
        IO_TIMEOUT,
        |n| n == 1,
    );
    assert!(mosn.stat("cluster", "checked", "health_check_success") >= 1);
    // Every call now goes to the server that answers heartbeats.
    let mut client = RpcClient::connect(local(port), &BOLT_V1);
    for id in 1..=10 {
        let reply = client.call(&hello_request(), id);
        assert_eq!((reply.head.request_id, reply.head.status), (id, 0));
    }
}

#[test]
fn draining_answers_calls_in_flight_before_exiting() {
    // An upstream that answers each call after 800 ms.
    let slow = TcpListener::bind("127.0.0.1:0").unwrap();
    let slow_addr = slow.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut s in slow.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = bytes::BytesMut::new();
                let mut chunk = [0u8; 4096];
                loop {
                    if let Ok(Some(f)) = BOLT_V1.decode(&mut buf, 1 << 20) {
                        std::thread::sleep(std::time::Duration::from_millis(800));
                        let mut reply = BOLT_V1.heartbeat_reply(&f.head);
                        reply.bytes[3] = 2; // an RPC response, status SUCCESS
                        let _ = s.write_all(&reply.bytes);
                        continue;
                    }
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    let (mut mosn, port) = bolt_proxy(&[slow_addr]);
    let mut client = RpcClient::connect(local(port), &BOLT_V1);
    let call = client.frame_with_id(&hello_request(), 77);
    client.send(&call.bytes);
    std::thread::sleep(std::time::Duration::from_millis(200));
    mosn.signal("TERM");
    let reply = client.recv();
    assert_eq!(
        (reply.head.kind, reply.head.request_id, reply.head.status),
        (FrameKind::Response, 77, 0)
    );
    assert!(
        client.try_recv().is_none(),
        "the connection closes after the last reply"
    );
    let exit = mosn
        .wait_exit(std::time::Duration::from_secs(10))
        .expect("mosn exits");
    assert!(exit.success(), "{exit}");
}

/// The captured sayHello request with its `service` header replaced.
fn client_frame_with_service(service: &str) -> Vec<u8> {
    client_frame_with_headers(&[("service", service)])
}

/// The captured sayHello request with its header map replaced.
fn client_frame_with_headers(pairs: &[(&str, &str)]) -> Vec<u8> {
    use mosn_protocol::xprotocol::bolt::BoltFrame;
    let bytes = hello_request();
    let mut f = BoltFrame::parse(&bytes).expect("captured frame parses");
    let mut headers = mosn_protocol::xprotocol::RpcHeaders::default();
    for (k, v) in pairs {
        headers.push(*k, *v);
    }
    f.headers = headers;
    let mut out = bytes::BytesMut::new();
    f.encode(&mut out);
    out.to_vec()
}

#[test]
fn an_auto_listener_serves_bolt_and_http_on_one_port() {
    let (upstream, web) = (free_port(), free_port());
    let _server = node_server("bolt_server.js", upstream, &["up1"]);
    let _nginx = Nginx::echo(web);
    let port = free_port();
    let vhosts = json!([{
        "name": "all", "domains": ["*"],
        "routers": [
            rpc_route("service", ".*", "bolt_servers"),
            { "match": { "prefix": "/" }, "route": { "cluster_name": "web" } }
        ]
    }]);
    let config = http_config(
        local(port),
        Some(free_port()),
        vhosts,
        json!([
            cluster("bolt_servers", &[local(upstream)]),
            cluster("web", &[local(web)])
        ]),
        json!({ "downstream_protocol": "Auto", "upstream_protocol": "Auto" }),
        json!({}),
    );
    let mosn = Mosn::start(&config);
    // Bolt v1 and v2 (with CRC) detected by their magic bytes, proxied as Bolt.
    let got = node_client("bolt_client.js", &[&format!("127.0.0.1:{port}")]);
    assert_node_client_calls(&got, "up1");
    // HTTP/1.1 on the same port (upstream Auto: HTTP/1.1 to nginx).
    let r = curl(&["--http1.1", &format!("http://127.0.0.1:{port}/small")]);
    assert_eq!(r.status, 200, "{}", r.stderr);
    assert_eq!(r.text(), SMALL_BODY);
    mosn.expect_stat("cluster", "bolt_servers", "upstream_rq_2xx", 4);
}
