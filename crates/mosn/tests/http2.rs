//! HTTP/2 through the proxy with real peers: curl, h2load and nghttp as clients, hypercorn
//! (HTTP/1.1 and h2c on one port) and nginx as upstreams. Covers h2c with prior knowledge,
//! the {HTTP/1.1, HTTP/2} × {HTTP/1.1, HTTP/2} conversion matrix with bodies both ways,
//! protocol detection on one port, multiplexed upstream pooling across upstream GOAWAYs,
//! flow control against a client that never reads, and GOAWAY on shutdown. Trailers are
//! covered by the gRPC tests (grpcio sends them; hypercorn's are unreliable).

mod support;

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};
use support::*;

/// Bytes 0..250 repeated, as the upstream's `/download` and `/stream` make them.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// mosn with one `Auto` listener forwarding everything to `upstream_port` in `upstream`
/// protocol; `server_extra` is merged into the server config.
fn proxy_to(upstream_port: u16, upstream: &str, server_extra: Value) -> (Mosn, u16) {
    proxy_to_origin(
        upstream_port,
        json!({ "downstream_protocol": "Auto", "upstream_protocol": upstream }),
        server_extra,
    )
}

fn curl_as(client_h2: bool, url: &str, extra: &[&str]) -> Curl {
    let mut args: Vec<&str> = Vec::new();
    if client_h2 {
        args.push("--http2-prior-knowledge");
    } else {
        args.push("--http1.1");
    }
    args.extend_from_slice(extra);
    args.push(url);
    curl(&args)
}

#[test]
fn conversion_matrix_carries_bodies_both_ways() {
    let dir = TempDir::new("h2-matrix");
    let origin = free_port();
    let _hypercorn = hypercorn_echo(origin, &dir);
    let small = dir.write("1k.bin", pattern(1024));
    let large = dir.write("1m.bin", pattern(1 << 20));
    let small_arg = format!("@{}", small.display());
    let large_arg = format!("@{}", large.display());

    for upstream in ["Http1", "Http2"] {
        let (_mosn, port) = proxy_to(origin, upstream, json!({}));
        let upstream_http = if upstream == "Http1" { "1.1" } else { "2" };
        for client_h2 in [false, true] {
            let case = format!("client h2={client_h2}, upstream {upstream}");
            let base = format!("http://127.0.0.1:{port}");
            let check = |r: &Curl, want: &[u8], what: &str| {
                assert_eq!(r.exit, 0, "{case} {what}: {}", r.stderr);
                assert_eq!(r.status, 200, "{case} {what}");
                assert_eq!(
                    r.version,
                    if client_h2 { "HTTP/2" } else { "HTTP/1.1" },
                    "{case} {what}"
                );
                assert_eq!(
                    r.header("x-upstream-http"),
                    Some(upstream_http),
                    "{case} {what}"
                );
                assert!(
                    r.body == want,
                    "{case} {what}: body of {} bytes differs",
                    r.body.len()
                );
            };
            for n in [0usize, 1024, 1 << 20] {
                let r = curl_as(client_h2, &format!("{base}/download/{n}"), &[]);
                check(&r, &pattern(n), &format!("download {n}"));
            }
            let r = curl_as(client_h2, &format!("{base}/stream/{}", 1 << 20), &[]);
            check(&r, &pattern(1 << 20), "streamed download without a length");

            let r = curl_as(client_h2, &format!("{base}/echo"), &["-X", "POST"]);
            check(&r, b"", "empty upload");
            for (arg, n) in [(&small_arg, 1024usize), (&large_arg, 1 << 20)] {
                let r = curl_as(client_h2, &format!("{base}/echo"), &["--data-binary", arg]);
                check(&r, &pattern(n), &format!("upload {n} with a length"));
                assert_eq!(r.header("x-request-had-length"), Some("yes"), "{case}");
                assert_eq!(
                    r.header("x-request-length"),
                    Some(n.to_string().as_str()),
                    "{case}"
                );
            }
            // Without a length: chunked from an HTTP/1.1 client, unframed DATA from h2.
            let r = curl_as(
                client_h2,
                &format!("{base}/echo"),
                &[
                    "-H",
                    "Transfer-Encoding: chunked",
                    "--data-binary",
                    &large_arg,
                ],
            );
            check(&r, &pattern(1 << 20), "upload without a length");
        }
    }
}

#[test]
fn one_auto_port_serves_http1_and_h2c_clients_at_once() {
    let origin = free_port();
    let _nginx = Nginx::echo(origin);
    let (mosn, port) = proxy_to(origin, "Http1", json!({}));
    let url = format!("http://127.0.0.1:{port}/small");
    let wrk_url = url.clone();
    let h1 = thread::spawn(move || wrk(&wrk_url, 20, 3, &[]));
    // 100 concurrent streams on each of 4 connections.
    let h2 = h2load(&["-n", "20000", "-c", "4", "-m", "100", &url]);
    let h1 = h1.join().expect("wrk thread");
    assert_eq!(h2.done, 20000, "{}", h2.output);
    assert_eq!(
        (h2.failed, h2.errored, h2.timeout),
        (0, 0, 0),
        "{}",
        h2.output
    );
    assert_eq!(h2.status_2xx, 20000, "{}", h2.output);
    assert!(h1.requests > 0, "{}", h1.output);
    assert_eq!((h1.non_2xx_3xx, h1.socket_errors), (0, 0), "{}", h1.output);
    assert!(mosn.stat("listener", "test_listener", "downstream_cx_http2_total") >= 4);
}

#[test]
fn unknown_first_bytes_close_an_auto_connection_and_are_counted() {
    let dir = TempDir::new("h2-unknown");
    let origin = free_port();
    let _hypercorn = hypercorn_echo(origin, &dir);
    let (mosn, port) = proxy_to(origin, "Http1", json!({}));
    let mut s = TcpStream::connect(local(port)).expect("connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.write_all(b"\x16\x03\x01\x00\x05hello").unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty(), "no reply to bytes no codec knows");
    mosn.wait_stat(
        "listener",
        "test_listener",
        "downstream_cx_protocol_unknown",
        Duration::from_secs(5),
        |n| n == 1,
    );
    // The listener still serves.
    let r = curl_as(true, &format!("http://127.0.0.1:{port}/download/10"), &[]);
    assert_eq!(r.status, 200);
}

#[test]
fn requests_share_few_multiplexed_upstream_connections_across_goaways() {
    let origin = free_port();
    // nginx ends each HTTP/2 connection with a graceful GOAWAY after 1,000 requests.
    let _nginx = Nginx::echo_h2c(origin);
    let (mosn, port) = proxy_to(origin, "Http2", json!({ "processor": 1 }));
    let url = format!("http://127.0.0.1:{port}/small");
    let run = h2load(&["-n", "6000", "-c", "4", "-m", "50", &url]);
    assert_eq!(
        run.status_2xx, 6000,
        "no request fails across GOAWAYs: {}",
        run.output
    );
    // 200 concurrent streams at most, 100 per upstream connection, each connection
    // serving up to nginx's 1,000 requests.
    let opened = mosn.stat("cluster", "origin", "upstream_cx_total");
    assert!(
        (6..=12).contains(&opened),
        "{opened} upstream connections for 6000 requests"
    );
    // Streams the upstream refused unprocessed in its GOAWAY were sent again.
    assert!(mosn.stat("cluster", "origin", "upstream_rq_retry") > 0);
    assert_eq!(mosn.stat("cluster", "origin", "upstream_rq_5xx"), 0);
}

/// One HTTP/2 frame.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An HPACK literal header field without indexing, no Huffman (short names and values).
fn literal(name: &str, value: &str) -> Vec<u8> {
    let mut out = vec![0x00, name.len() as u8];
    out.extend_from_slice(name.as_bytes());
    out.push(value.len() as u8);
    out.extend_from_slice(value.as_bytes());
    out
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

#[test]
fn a_client_that_never_reads_holds_bounded_memory_and_hurts_no_one() {
    let dir = TempDir::new("h2-stall");
    let origin = free_port();
    let _hypercorn = hypercorn_echo(origin, &dir);
    let (mosn, port) = proxy_to(origin, "Http1", json!({ "processor": 1 }));
    let before = rss_kib(mosn.pid());
    // Four streams asking for 16 MiB each, then never a byte read.
    const STREAMS: u32 = 4;
    const SIZE: usize = 16 << 20;
    let mut stalled = TcpStream::connect(local(port)).expect("connect");
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(frame(0x4, 0, 0, &[]));
    for i in 0..STREAMS {
        let mut block = Vec::new();
        block.extend(literal(":method", "GET"));
        block.extend(literal(":scheme", "http"));
        block.extend(literal(":authority", "stall"));
        block.extend(literal(":path", &format!("/stream/{SIZE}")));
        out.extend(frame(0x1, 0x5, 1 + 2 * i, &block));
    }
    stalled.write_all(&out).expect("send requests");
    thread::sleep(Duration::from_secs(3));
    let during = rss_kib(mosn.pid());
    // Another client is served promptly meanwhile.
    let started = Instant::now();
    let r = curl_as(true, &format!("http://127.0.0.1:{port}/download/1024"), &[]);
    assert_eq!(r.status, 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    let grown = during.saturating_sub(before);
    let total = u64::from(STREAMS) * (SIZE as u64) / 1024;
    assert!(
        grown < 16 * 1024,
        "RSS grew by {grown} KiB while {total} KiB were waiting upstream"
    );
    drop(stalled);
}

#[test]
fn shutdown_sends_goaway_and_finishes_open_streams() {
    let dir = TempDir::new("h2-drain");
    let origin = free_port();
    let _hypercorn = hypercorn_echo(origin, &dir);
    let (mut mosn, port) = proxy_to(origin, "Http1", json!({}));
    let url = format!("http://127.0.0.1:{port}/slow/1.5");
    let slow = thread::spawn(move || curl_as(true, &url, &[]));
    thread::sleep(Duration::from_millis(400));
    mosn.signal("TERM");
    let r = slow.join().expect("curl thread");
    assert_eq!(r.status, 200, "the open stream finished: {}", r.stderr);
    assert_eq!(r.text(), "slow");
    let exit = mosn
        .wait_exit(Duration::from_secs(10))
        .expect("mosn exits after draining");
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn a_route_can_choose_its_own_upstream_protocol() {
    let dir = TempDir::new("h2-route-proto");
    let origin = free_port();
    let _hypercorn = hypercorn_echo(origin, &dir);
    let listen = free_port();
    let routes = json!([{
        "name": "all",
        "domains": ["*"],
        "routers": [
            { "match": { "prefix": "/download/2" },
              "route": { "cluster_name": "origin", "upstream_protocol": "Http2" } },
            { "match": { "prefix": "/" }, "route": { "cluster_name": "origin" } }
        ]
    }]);
    let config = http_config(
        local(listen),
        None,
        routes,
        json!([cluster("origin", &[local(origin)])]),
        json!({ "downstream_protocol": "Auto", "upstream_protocol": "Http1" }),
        json!({}),
    );
    let _mosn = Mosn::start(&config);
    for client_h2 in [false, true] {
        let by_route = curl_as(
            client_h2,
            &format!("http://127.0.0.1:{listen}/download/20"),
            &[],
        );
        assert_eq!(
            by_route.header("x-upstream-http"),
            Some("2"),
            "route override"
        );
        let by_filter = curl_as(
            client_h2,
            &format!("http://127.0.0.1:{listen}/download/10"),
            &[],
        );
        assert_eq!(
            by_filter.header("x-upstream-http"),
            Some("1.1"),
            "filter default"
        );
    }
}

#[test]
fn fallback_for_unknown_protocol_hands_other_bytes_to_tcp_proxy() {
    let dir = TempDir::new("h2-fallback");
    let (origin, echo) = (free_port(), free_port());
    let _hypercorn = hypercorn_echo(origin, &dir);
    let _echo = socat_server(echo, "PIPE", &dir);
    let listen = free_port();
    let mut config = http_config(
        local(listen),
        Some(free_port()),
        forward_all("origin"),
        json!([
            cluster("origin", &[local(origin)]),
            cluster("echo", &[local(echo)])
        ]),
        json!({
            "downstream_protocol": "Auto",
            "upstream_protocol": "Http1",
            "fallback_for_unknown_protocol": true
        }),
        json!({}),
    );
    let filters = &mut config["servers"][0]["listeners"][0]["filter_chains"][0]["filters"];
    filters
        .as_array_mut()
        .expect("filters")
        .push(json!({ "type": "tcp_proxy", "config": { "cluster": "echo" } }));
    let mosn = Mosn::start(&config);
    // Bytes no codec knows reach the echo server, first bytes included.
    let mut s = TcpStream::connect(local(listen)).expect("connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let payload = b"\x00\x01 not a protocol anyone here speaks\n";
    s.write_all(payload).unwrap();
    let mut back = vec![0u8; payload.len()];
    s.read_exact(&mut back).expect("echoed");
    assert_eq!(&back[..], payload);
    assert_eq!(
        mosn.stat(
            "listener",
            "test_listener",
            "downstream_cx_protocol_unknown"
        ),
        1
    );
    // HTTP/1.1 and h2c on the same port still reach the HTTP upstream.
    for client_h2 in [false, true] {
        let r = curl_as(
            client_h2,
            &format!("http://127.0.0.1:{listen}/download/5"),
            &[],
        );
        assert_eq!(r.status, 200, "{}", r.stderr);
        assert_eq!(r.body, pattern(5));
    }
}
