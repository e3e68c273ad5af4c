//! `tcp_proxy` with real peers: socat (echo and fixed replies) and iperf3.

mod support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::Command;
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use support::*;

/// One server with one `tcp_proxy` listener per address in `listeners`, all sharing the
/// same filter config.
fn tcp_config(listeners: &[SocketAddr], tcp_proxy: Value, clusters: Value) -> Value {
    let listeners: Vec<Value> = listeners
        .iter()
        .enumerate()
        .map(|(i, addr)| {
            json!({
                "name": format!("tcp_{i}"),
                "address": addr.to_string(),
                "bind_port": true,
                "filter_chains": [{ "filters": [{ "type": "tcp_proxy", "config": tcp_proxy }] }]
            })
        })
        .collect();
    json!({
        "servers": [{ "default_log_path": "stdout", "listeners": listeners }],
        "cluster_manager": { "clusters": clusters }
    })
}

#[test]
fn one_mebibyte_of_random_bytes_round_trips_intact() {
    let dir = TempDir::new("tcp-1mib");
    let (listen, upstream) = (free_port(), free_port());
    let _echo = socat_server(upstream, "PIPE", &dir);
    let _mosn = Mosn::start(&tcp_config(
        &[local(listen)],
        json!({ "cluster": "echo" }),
        json!([cluster("echo", &[local(upstream)])]),
    ));

    const LEN: usize = 1024 * 1024;
    let (sent, got) = with_deadline("1 MiB echo", Duration::from_secs(60), move || {
        let stream = connect(local(listen)).expect("connect to the proxy");
        let mut writer = stream.try_clone().expect("clone");
        let payload = random_bytes(LEN, 42);
        let to_send = payload.clone();
        // Write in one thread, read in another: neither side may wait for the other.
        let w = thread::spawn(move || writer.write_all(&to_send));
        let mut reader = stream;
        let mut got = vec![0u8; LEN];
        let read = reader.read_exact(&mut got);
        w.join().expect("writer thread").expect("write 1 MiB");
        read.expect("read 1 MiB back");
        (payload, got)
    });
    let first_diff = sent.iter().zip(&got).position(|(a, b)| a != b);
    assert_eq!(first_diff, None, "the echo differs from the payload");
}

#[test]
fn half_close_is_propagated_both_ways() {
    let dir = TempDir::new("tcp-halfclose");
    let (listen, upstream) = (free_port(), free_port());
    let _echo = socat_server(upstream, "PIPE", &dir);
    let _mosn = Mosn::start(&tcp_config(
        &[local(listen)],
        json!({ "cluster": "echo" }),
        json!([cluster("echo", &[local(upstream)])]),
    ));
    let got = with_deadline("half-close echo", Duration::from_secs(20), move || {
        let mut stream = connect(local(listen)).expect("connect");
        stream.write_all(b"last words").expect("write");
        // Our write side closes; the echo of what we sent must still arrive, then EOF.
        stream
            .shutdown(std::net::Shutdown::Write)
            .expect("shutdown write");
        let mut got = Vec::new();
        stream.read_to_end(&mut got).expect("read until EOF");
        got
    });
    assert_eq!(got, b"last words");
}

#[test]
fn iperf3_bulk_transfer_through_tcp_proxy() {
    let dir = TempDir::new("tcp-iperf3");
    let (listen, upstream) = (free_port(), free_port());
    let mut server = iperf3_server(upstream, &dir);
    // No probe connection through the proxy: iperf3 -1 would take it for its one client.
    let _mosn = Mosn::start_without_probe(&tcp_config(
        &[local(listen)],
        json!({ "cluster": "iperf" }),
        json!([cluster("iperf", &[local(upstream)])]),
    ));
    let out = run_bounded(
        Command::new(tool("iperf3")).args([
            "-c",
            "127.0.0.1",
            "-p",
            &listen.to_string(),
            "-t",
            "2",
            "-J",
            "--connect-timeout",
            "5000",
        ]),
        Duration::from_secs(40),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "iperf3 -J output is not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        report.get("error").is_none(),
        "iperf3 reported an error: {}\nserver log: {}",
        report["error"],
        server.log()
    );
    assert!(out.status.success(), "iperf3 client failed: {text}");
    let sent = report["end"]["sum_sent"]["bytes"].as_u64().unwrap_or(0);
    let received = report["end"]["sum_received"]["bytes"].as_u64().unwrap_or(0);
    assert!(sent > 0, "iperf3 sent nothing: {text}");
    assert!(received > 0, "iperf3 server received nothing: {text}");
    // The server stops counting at the end of the test; what is still in flight then
    // (socket buffers of both hops) is not counted, so allow a small shortfall.
    assert!(
        received as f64 >= sent as f64 * 0.9 && received <= sent,
        "received {received} bytes of {sent} sent"
    );
    // `iperf3 -s -1` exits after its one test.
    assert!(
        server.wait_exit(Duration::from_secs(10)).is_some(),
        "iperf3 server did not finish its test"
    );
}

/// Connects, reads until EOF and returns the text (socat `SYSTEM:echo NAME` answers with
/// its name and closes).
fn read_banner(addr: SocketAddr) -> String {
    with_deadline("banner", Duration::from_secs(20), move || {
        let mut stream = connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        let mut text = String::new();
        stream
            .read_to_string(&mut text)
            .unwrap_or_else(|e| panic!("read from {addr}: {e}"));
        text.trim().to_owned()
    })
}

#[test]
fn routes_choose_the_cluster_by_destination_port() {
    let dir = TempDir::new("tcp-dport");
    let (listen_a, listen_b, listen_other) = (free_port(), free_port(), free_port());
    let (up_a, up_b, up_default) = (free_port(), free_port(), free_port());
    let _a = socat_server(up_a, "SYSTEM:echo cluster-a", &dir);
    let _b = socat_server(up_b, "SYSTEM:echo cluster-b", &dir);
    let _d = socat_server(up_default, "SYSTEM:echo cluster-default", &dir);
    let _mosn = Mosn::start(&tcp_config(
        &[local(listen_a), local(listen_b), local(listen_other)],
        json!({
            "cluster": "default",
            "routes": [
                { "cluster": "a", "destination_port": listen_a.to_string() },
                { "cluster": "b", "destination_port": listen_b.to_string() },
                { "cluster": "default" }
            ]
        }),
        json!([
            cluster("a", &[local(up_a)]),
            cluster("b", &[local(up_b)]),
            cluster("default", &[local(up_default)])
        ]),
    ));
    assert_eq!(read_banner(local(listen_a)), "cluster-a");
    assert_eq!(read_banner(local(listen_b)), "cluster-b");
    assert_eq!(read_banner(local(listen_other)), "cluster-default");
}

#[test]
fn routes_choose_the_cluster_by_source_address() {
    let dir = TempDir::new("tcp-saddr");
    // One filter config on an IPv4 and an IPv6 loopback listener: the client's source
    // address (127.0.0.1 or ::1) picks the cluster.
    let (listen_v4, listen_v6) = (free_port(), free_port_v6());
    let (up_v4, up_v6) = (free_port(), free_port());
    let _v4 = socat_server(up_v4, "SYSTEM:echo from-v4", &dir);
    let _v6 = socat_server(up_v6, "SYSTEM:echo from-v6", &dir);
    let v6_addr: SocketAddr = format!("[::1]:{listen_v6}").parse().expect("v6 addr");
    let _mosn = Mosn::start(&tcp_config(
        &[local(listen_v4), v6_addr],
        json!({
            "routes": [
                { "cluster": "v6", "source_addrs": ["::1/128"] },
                { "cluster": "v4", "source_addrs": [{ "address": "127.0.0.0", "length": 8 }] }
            ]
        }),
        json!([
            cluster("v4", &[local(up_v4)]),
            cluster("v6", &[local(up_v6)])
        ]),
    ));
    assert_eq!(read_banner(local(listen_v4)), "from-v4");
    assert_eq!(read_banner(v6_addr), "from-v6");
}
