//! Misbehaving clients and upstreams. Each bad client runs while a good client (curl,
//! 20 requests) uses the same listener: the bad one gets its local reply, the good one
//! is not disturbed.

mod support;

use std::io::{BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

/// mosn in front of nginx's echo server.
fn setup() -> NginxSetup {
    mosn_before_nginx(json!({ "request_header_timeout": "1s" }))
}

/// Runs `bad` while a curl loop of 20 requests runs against the same listener; asserts
/// every good request got nginx's `/small` and returns what `bad` returned.
fn with_good_client<T: Send + 'static>(listen: u16, bad: impl FnOnce() -> T + Send + 'static) -> T {
    let good = thread::spawn(move || {
        let mut failures = Vec::new();
        for i in 0..20 {
            let r = curl(&[&format!("http://127.0.0.1:{listen}/small")]);
            if r.exit != 0 || r.status != 200 || r.text() != SMALL_BODY {
                failures.push(format!(
                    "request {i}: exit {} status {} stderr {}",
                    r.exit, r.status, r.stderr
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
        failures
    });
    let result = with_deadline("bad client", Duration::from_secs(30), bad);
    let failures = good.join().expect("good client thread");
    assert!(
        failures.is_empty(),
        "good client requests failed while a bad client ran: {failures:#?}"
    );
    result
}

/// Writes `raw` (ignoring write errors: the proxy may answer and close before it read
/// everything) and reads one response.
fn send_bad(listen: u16, raw: Vec<u8>) -> HttpResponse {
    let stream = connect(local(listen)).expect("connect");
    let mut writer = stream.try_clone().expect("clone");
    let w = thread::spawn(move || {
        let _ = writer.write_all(&raw);
    });
    let resp = read_response(&mut BufReader::new(stream), false);
    let _ = w.join();
    resp.unwrap_or_else(|e| panic!("no response to the bad request: {e}"))
}

fn assert_one_line(resp: &HttpResponse) {
    let body = resp.text();
    assert!(
        !body.trim().is_empty() && body.trim_end_matches('\n').lines().count() == 1,
        "local reply body should be one line, got {body:?}"
    );
}

#[test]
fn half_a_request_line_then_silence_times_out_with_408() {
    let s = setup();
    let (elapsed, outcome) = with_good_client(s.listen, move || {
        let mut stream = connect(local(s.listen)).expect("connect");
        stream.write_all(b"GET /slow HTT").expect("write");
        let start = Instant::now();
        let mut got = Vec::new();
        // The proxy answers 408 (or just closes) after request_header_timeout.
        let outcome = stream.read_to_end(&mut got);
        (start.elapsed(), outcome.map(|_| got))
    });
    let got = outcome.unwrap_or_else(|e| panic!("expected a 408 or a close, got error {e}"));
    let text = String::from_utf8_lossy(&got);
    assert!(
        got.is_empty() || text.starts_with("HTTP/1.1 408"),
        "expected 408 or close, got {text:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(800) && elapsed <= Duration::from_secs(4),
        "closed after {elapsed:?}, want about 1 s (request_header_timeout)"
    );
    s.mosn.expect_stat(
        "listener",
        "test_listener",
        "downstream_rq_header_timeout",
        1,
    );
}

#[test]
fn garbage_bytes_get_400() {
    let s = setup();
    let listen = s.listen;
    let resp = with_good_client(listen, move || {
        send_bad(
            listen,
            b"\x16\x03\x01\x02\x00garbage \x00\xff\r\n\r\n".to_vec(),
        )
    });
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert_one_line(&resp);
}

#[test]
fn one_mebibyte_header_gets_431() {
    let s = setup();
    let listen = s.listen;
    let resp = with_good_client(listen, move || {
        let mut raw = b"GET / HTTP/1.1\r\nHost: example.test\r\nX-Big: ".to_vec();
        raw.extend(std::iter::repeat_n(b'a', 1024 * 1024));
        raw.extend_from_slice(b"\r\n\r\n");
        send_bad(listen, raw)
    });
    assert_eq!(resp.status, 431, "{}", resp.text());
    assert_one_line(&resp);
}

#[test]
fn two_hundred_headers_get_431() {
    let s = setup();
    let listen = s.listen;
    let resp = with_good_client(listen, move || {
        let mut raw = String::from("GET / HTTP/1.1\r\nHost: example.test\r\n");
        for i in 0..200 {
            raw.push_str(&format!("X-H{i}: v\r\n"));
        }
        raw.push_str("\r\n");
        send_bad(listen, raw.into_bytes())
    });
    assert_eq!(resp.status, 431, "{}", resp.text());
    assert_one_line(&resp);
}

#[test]
fn content_length_with_transfer_encoding_gets_400() {
    let s = setup();
    let listen = s.listen;
    let resp = with_good_client(listen, move || {
        send_bad(
            listen,
            b"POST /small HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\
              Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                .to_vec(),
        )
    });
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert_one_line(&resp);
    s.mosn
        .expect_stat("cluster", "nginx", "upstream_rq_total", 20);
}

#[test]
fn refused_upstream_gets_502_with_one_line() {
    // A port nobody listens on: connect is refused at once.
    let (listen, closed) = (free_port(), free_port());
    let _mosn = Mosn::start(&http_config(
        local(listen),
        None,
        forward_all("nowhere"),
        json!([cluster("nowhere", &[local(closed)])]),
        json!({}),
        json!({}),
    ));
    let resp = curl(&[&format!("http://127.0.0.1:{listen}/")]);
    assert_eq!(resp.status, 502, "stderr: {}", resp.stderr);
    let body = resp.text();
    assert!(
        !body.trim().is_empty() && body.trim_end_matches('\n').lines().count() == 1,
        "502 body should be one line, got {body:?}"
    );
}

#[test]
fn slow_upstream_hits_route_timeout_with_504() {
    let dir = TempDir::new("route-timeout");
    let (listen, upstream) = (free_port(), free_port());
    let _mock = python_mock(upstream, &dir);
    let _mosn = Mosn::start(&http_config(
        local(listen),
        None,
        json!([{
            "name": "all",
            "domains": ["*"],
            "routers": [{ "match": { "prefix": "/" }, "route": { "cluster_name": "slow", "timeout": "500ms" } }]
        }]),
        json!([cluster("slow", &[local(upstream)])]),
        json!({}),
        json!({}),
    ));
    let start = Instant::now();
    let resp = curl(&[&format!("http://127.0.0.1:{listen}/sleep/3000")]);
    let elapsed = start.elapsed();
    assert_eq!(
        resp.status,
        504,
        "body: {} stderr: {}",
        resp.text(),
        resp.stderr
    );
    assert!(
        elapsed >= Duration::from_millis(450) && elapsed < Duration::from_millis(2500),
        "504 after {elapsed:?}, want about 500 ms"
    );
}

#[test]
fn upstream_killed_mid_response_then_a_fresh_upstream_serves_the_next_request() {
    let dir = TempDir::new("killed-upstream");
    let (listen, upstream) = (free_port(), free_port());
    let mut mock = python_mock(upstream, &dir);
    let _mosn = Mosn::start(&http_config(
        local(listen),
        None,
        forward_all("mock"),
        json!([cluster("mock", &[local(upstream)])]),
        json!({}),
        json!({}),
    ));
    // curl in the background; the mock sends the head (Content-Length: 1000000) and 1000
    // bytes, then writes a marker file and stalls.
    let body_path = dir.file("partial.body");
    let mut client = Command::new(tool("curl"))
        .args(["-sS", "--max-time", "20", "-o"])
        .arg(&body_path)
        .args(["-w", "%{http_code}"])
        .arg(format!("http://127.0.0.1:{listen}/partial"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn curl");
    let marker = dir.file("partial-sent");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !marker.exists() {
        assert!(
            Instant::now() < deadline,
            "the mock never sent its partial response"
        );
        thread::sleep(Duration::from_millis(20));
    }
    mock.kill(); // SIGKILL by PID, mid-response.
    let status = wait_timeout(&mut client, Duration::from_secs(15));
    let Some(status) = status else {
        let _ = client.kill();
        let _ = client.wait();
        panic!("curl still waiting 15 s after the upstream died");
    };
    let mut code = String::new();
    let _ = client
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut code);
    let mut stderr = String::new();
    let _ = client
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr);
    let exit = status.code().unwrap_or(-1);
    assert!(
        exit == 18 || exit == 56 || (exit == 0 && code.trim() == "502"),
        "the client should see the cut (curl exit 18/56) or a 502, got exit {exit}, \
         status {code}, stderr {stderr}"
    );

    // A fresh upstream on the same port: the next request succeeds.
    let _fresh = python_mock(upstream, &dir);
    let resp = curl(&[&format!("http://127.0.0.1:{listen}/again")]);
    assert_eq!(resp.status, 200, "stderr: {}", resp.stderr);
    assert_eq!(resp.text(), "ok /again\n");
}
