//! Dubbo through mosn: dubbo-remoting and dubbo2.js clients against sofa-rpc-node's
//! Dubbo server, routed by service and method to different upstreams; MOSN's dubbo
//! sample configs; heartbeats and error frames.

mod support;

use mosn_protocol::xprotocol::dubbo::DUBBO;
use mosn_protocol::xprotocol::FrameKind;
use serde_json::json;
use support::*;

const DEMO: &str = "org.apache.dubbo.demo.DemoService";

#[test]
fn both_dubbo_clients_are_routed_by_method_to_different_upstreams() {
    let (greeter, adder) = (free_port(), free_port());
    let _a = node_server("dubbo_server.js", greeter, &["greeter"]);
    let _b = node_server("dubbo_server.js", adder, &["adder"]);
    let (port, admin) = (free_port(), free_port());
    let plus_route = json!({
        "match": { "headers": [
            { "name": "service", "value": DEMO },
            { "name": "method", "value": "plus" }
        ] },
        "route": { "cluster_name": "adders" }
    });
    let config = rpc_config(
        local(port),
        admin,
        "dubbo",
        json!([plus_route, rpc_route("service", DEMO, "greeters")]),
        json!([
            cluster("greeters", &[local(greeter)]),
            cluster("adders", &[local(adder)])
        ]),
    );
    let mosn = Mosn::start(&config);
    let target = format!("127.0.0.1:{port}");

    let got = node_client("dubbo_remoting_client.js", &[&target]);
    assert_eq!(
        got["sayHello"], "Hello world, response from greeter",
        "{got:?}"
    );
    assert_eq!(got["plus"], 3, "{got:?}");
    assert_eq!(got["heartbeat_ack"], 99, "{got:?}");

    let got = node_client("dubbo2js_client.js", &[&target]);
    assert_eq!(
        got["sayHello"], "Hello dubbo2.js, response from greeter",
        "{got:?}"
    );
    assert_eq!(got["plus"], 42, "{got:?}");

    mosn.expect_stat("cluster", "greeters", "upstream_rq_total", 2);
    mosn.expect_stat("cluster", "adders", "upstream_rq_total", 2);
    mosn.expect_stat("cluster", "adders", "upstream_rq_2xx", 2);
}

#[test]
fn mosn_dubbo_sample_configs_chain_client_to_server() {
    let pair = SamplePair::read("dubbo__", 20880);
    let (client_port, app_port) = (pair.client_port, pair.app_port);
    let configs = [pair.client, pair.server];
    let _app = node_server("dubbo_server.js", app_port, &["app"]);
    let _server = Mosn::start(&configs[1]);
    let _client = Mosn::start(&configs[0]);
    let got = node_client("dubbo2js_client.js", &[&format!("127.0.0.1:{client_port}")]);
    assert_eq!(
        got["sayHello"], "Hello dubbo2.js, response from app",
        "{got:?}"
    );
    assert_eq!(got["plus"], 42, "{got:?}");
}

#[test]
fn unrouted_and_unreachable_calls_get_dubbo_error_responses() {
    let (port, admin) = (free_port(), free_port());
    let config = rpc_config(
        local(port),
        admin,
        "dubbo",
        json!([rpc_route("service", DEMO, "nowhere")]),
        json!([cluster("nowhere", &[local(free_port())])]),
    );
    let mosn = Mosn::start(&config);
    let mut client = RpcClient::connect(local(port), &DUBBO);
    // dubbo2.js's sayHello, routed to a host nobody listens on.
    let call = captured_frame("dubbo-frames", "conn2.c2s-00-request");
    let reply = client.call(&call, 7);
    assert_eq!(reply.head.kind, FrameKind::Response);
    assert_eq!((reply.head.request_id, reply.head.status), (7, 70));
    // A heartbeat is answered by mosn.
    let hb = captured_frame("dubbo-frames", "conn1.c2s-00-request-event");
    let reply = client.call(&hb, 8);
    assert_eq!(
        (reply.head.kind, reply.head.request_id),
        (FrameKind::HeartbeatResponse, 8)
    );
    mosn.expect_stat("cluster", "nowhere", "upstream_rq_total", 1);
    // Another service has no route: SERVICE_NOT_FOUND with MOSN's message.
    let mut config = config;
    config["servers"][0]["routers"][0]["virtual_hosts"][0]["routers"] =
        json!([rpc_route("service", "other.Service", "nowhere")]);
    drop(mosn);
    let _mosn = Mosn::start(&config);
    let mut client = RpcClient::connect(local(port), &DUBBO);
    let reply = client.call(&call, 9);
    assert_eq!((reply.head.request_id, reply.head.status), (9, 60));
    assert!(reply.bytes.ends_with(b"404|router unavailable"));
}

#[test]
fn dubbo_oneway_calls_get_no_reply_and_group_routes() {
    let (plain, grouped) = (free_port(), free_port());
    let _a = node_server("dubbo_server.js", plain, &["plain"]);
    let _b = node_server("dubbo_server.js", grouped, &["grouped"]);
    let (port, admin) = (free_port(), free_port());
    // dubbo-remoting sends group "SOFA" as an attachment; dubbo2.js sends no group.
    let group_route = json!({
        "match": { "headers": [
            { "name": "service", "value": DEMO },
            { "name": "group", "value": "SOFA" }
        ] },
        "route": { "cluster_name": "sofa_group" }
    });
    let config = rpc_config(
        local(port),
        admin,
        "dubbo",
        json!([group_route, rpc_route("service", DEMO, "others")]),
        json!([
            cluster("sofa_group", &[local(grouped)]),
            cluster("others", &[local(plain)])
        ]),
    );
    let mosn = Mosn::start(&config);
    let mut client = RpcClient::connect(local(port), &DUBBO);
    let remoting_call = captured_frame("dubbo-frames", "conn0.c2s-00-request");
    let dubbo2js_call = captured_frame("dubbo-frames", "conn2.c2s-00-request");
    let mut oneway = client.frame_with_id(&dubbo2js_call, 5);
    oneway.bytes[2] &= !0x40; // clear the two-way flag
    client.send(&oneway.bytes);
    let reply = client.call(&remoting_call, 6);
    assert_eq!(
        (reply.head.request_id, reply.head.status),
        (6, 20),
        "the oneway got no reply"
    );
    assert!(String::from_utf8_lossy(&reply.bytes).contains("response from grouped"));
    let reply = client.call(&dubbo2js_call, 7);
    assert!(String::from_utf8_lossy(&reply.bytes).contains("response from plain"));
    mosn.expect_stat("cluster", "others", "upstream_rq_total", 2);
    mosn.expect_stat("cluster", "sofa_group", "upstream_rq_total", 1);
}
