//! HTTP/1.1 semantics through one mosn, against real upstreams (nginx,
//! `python3 -m http.server`) and, where no real server can be told to behave a certain
//! way (hash a request body, answer close-delimited, echo every header), the python3
//! mock upstream from `support` (declared there as a mock).

mod support;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use support::*;

/// mosn in front of nginx's echo server.
fn nginx_setup() -> NginxSetup {
    mosn_before_nginx(json!({}))
}

/// mosn forwarding everything to the python3 mock upstream.
struct MockSetup {
    _mock: Peer,
    _dir: TempDir,
    mosn: Mosn,
    listen: u16,
}

fn mock_setup() -> MockSetup {
    let dir = TempDir::new("semantics-mock");
    let (listen, upstream, admin) = (free_port(), free_port(), free_port());
    let mock = python_mock(upstream, &dir);
    let mosn = Mosn::start(&http_config(
        local(listen),
        Some(admin),
        forward_all("mock"),
        json!([cluster("mock", &[local(upstream)])]),
        json!({}),
        json!({}),
    ));
    MockSetup {
        _mock: mock,
        _dir: dir,
        mosn,
        listen,
    }
}

#[test]
fn keep_alive_reuses_one_upstream_connection() {
    let s = nginx_setup();
    // The readiness probe of `Mosn::start` made one downstream connection; wait until it
    // is counted, then count ours from there.
    let cx_before = s.mosn.wait_stat(
        "listener",
        "test_listener",
        "downstream_cx_total",
        Duration::from_secs(5),
        |n| n >= 1,
    );
    let mut client = Client::connect(local(s.listen));
    for i in 0..20 {
        let resp = client.get(&format!("/ka/{i}"), "example.test");
        assert_eq!(resp.status, 200, "request {i}");
        assert_eq!(resp.text(), format!("uri=/ka/{i}\n"));
    }
    assert_eq!(
        s.mosn
            .stat("listener", "test_listener", "downstream_cx_total")
            - cx_before,
        1
    );
    // 20 sequential keep-alive requests share one upstream connection.
    s.mosn
        .expect_stat("cluster", "nginx", "upstream_rq_2xx", 20);
    s.mosn
        .expect_stat("cluster", "nginx", "upstream_cx_total", 1);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let s = nginx_setup();
    let mut client = Client::connect(local(s.listen));
    let paths = ["/pipe/one", "/pipe/two", "/pipe/three"];
    let batch: String = paths
        .iter()
        .map(|p| format!("GET {p} HTTP/1.1\r\nHost: example.test\r\n\r\n"))
        .collect();
    client.send(batch.as_bytes()).expect("write three requests");
    for p in paths {
        let resp = client
            .read(false)
            .unwrap_or_else(|e| panic!("response for {p}: {e}"));
        assert_eq!(resp.status, 200);
        assert_eq!(resp.text(), format!("uri={p}\n"), "responses out of order");
    }
}

#[test]
fn head_response_keeps_content_length_and_has_no_body() {
    let s = nginx_setup();
    let mut client = Client::connect(local(s.listen));
    client
        .send(b"HEAD /small HTTP/1.1\r\nHost: example.test\r\n\r\n")
        .expect("write HEAD");
    let head = client.read(true).expect("HEAD response");
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some("100"),
        "HEAD must keep the GET's content-length: {:?}",
        head.headers
    );
    // If the proxy had sent a body after the HEAD response, it would be read here as the
    // start of the next response.
    let next = client.get("/small", "example.test");
    assert_eq!(next.status, 200);
    assert_eq!(next.text(), SMALL_BODY);
}

#[test]
fn hop_by_hop_headers_do_not_reach_the_upstream() {
    let s = nginx_setup();
    let resp = curl(&[
        "-H",
        "Connection: keep-alive, x-secret",
        "-H",
        "X-Secret: 1",
        "-H",
        "Keep-Alive: timeout=5",
        "-H",
        "Proxy-Connection: keep-alive",
        &format!("http://127.0.0.1:{}/echo", s.listen),
    ]);
    assert_eq!(resp.status, 200, "stderr: {}", resp.stderr);
    let f = echo_fields(&resp.text());
    assert_eq!(
        f["secret"], "",
        "a header named in Connection was forwarded"
    );
    assert_eq!(f["keepalive"], "", "Keep-Alive was forwarded");
    assert_eq!(f["proxyconn"], "", "Proxy-Connection was forwarded");
    assert!(
        !f["connection"].to_ascii_lowercase().contains("x-secret"),
        "the client's Connection header was forwarded: {:?}",
        f["connection"]
    );
}

#[test]
fn host_is_preserved_and_forwarding_headers_are_set() {
    let s = nginx_setup();
    let resp = curl(&[
        "-H",
        "Host: shop.example.com:8443",
        "-H",
        "X-Forwarded-For: 203.0.113.7",
        &format!("http://127.0.0.1:{}/echo", s.listen),
    ]);
    assert_eq!(resp.status, 200, "stderr: {}", resp.stderr);
    let f = echo_fields(&resp.text());
    assert_eq!(f["http_host"], "shop.example.com:8443");
    assert_eq!(
        f["xff"], "203.0.113.7, 127.0.0.1",
        "XFF must be appended to"
    );
    assert_eq!(f["xfp"], "http");
    assert!(!f["rid"].is_empty(), "no X-Request-Id: {f:?}");

    // A client-supplied request id is kept.
    let resp = curl(&[
        "-H",
        "X-Request-Id: my-id-123",
        &format!("http://127.0.0.1:{}/echo", s.listen),
    ]);
    assert_eq!(echo_fields(&resp.text())["rid"], "my-id-123");
}

#[test]
fn large_static_body_streams_back_intact() {
    let s = nginx_setup();
    let resp = curl(&[&format!("http://127.0.0.1:{}/large.bin", s.listen)]);
    assert_eq!(resp.status, 200, "stderr: {}", resp.stderr);
    assert_eq!(resp.body.len(), LARGE_LEN);
    assert!(resp.body == random_bytes(LARGE_LEN, 0x5eed), "body differs");
}

/// `len=N sha256=HEX ...` from the mock's `/sha`.
fn sha_reply(text: &str) -> HashMap<String, String> {
    text.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn chunked_request_body_arrives_intact() {
    let s = mock_setup();
    let dir = TempDir::new("chunked-upload");
    let file = dir.write("body.bin", random_bytes(300_000, 7));
    let resp = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &format!("@{}", file.display()),
        &format!("http://127.0.0.1:{}/sha", s.listen),
    ]);
    assert_eq!(
        resp.status,
        200,
        "stderr: {} body: {}",
        resp.stderr,
        resp.text()
    );
    let r = sha_reply(&resp.text());
    assert_eq!(r["len"], "300000", "{}", resp.text());
    assert_eq!(r["sha256"], sha256_file(&file));
}

#[test]
fn eight_mebibyte_upload_is_streamed_intact() {
    let s = mock_setup();
    let dir = TempDir::new("big-upload");
    let file = dir.write("body.bin", random_bytes(8 * 1024 * 1024, 8));
    let resp = curl(&[
        "-X",
        "PUT",
        "--data-binary",
        &format!("@{}", file.display()),
        &format!("http://127.0.0.1:{}/sha", s.listen),
    ]);
    assert_eq!(
        resp.status,
        200,
        "stderr: {} body: {}",
        resp.stderr,
        resp.text()
    );
    let r = sha_reply(&resp.text());
    assert_eq!(r["len"], (8 * 1024 * 1024).to_string(), "{}", resp.text());
    assert_eq!(r["sha256"], sha256_file(&file));
    s.mosn
        .expect_stat("listener", "test_listener", "downstream_rq_2xx", 1);
}

#[test]
fn expect_100_continue_is_answered_without_curl_waiting() {
    let s = mock_setup();
    let dir = TempDir::new("expect");
    let file = dir.write("body.bin", random_bytes(2 * 1024 * 1024, 9));
    // curl waits --expect100-timeout (5 s here) for the 100 before sending the body
    // anyway; a proxy that answers 100 lets the whole upload finish well before that.
    let resp = curl(&[
        "-H",
        "Expect: 100-continue",
        "--expect100-timeout",
        "5",
        "--data-binary",
        &format!("@{}", file.display()),
        &format!("http://127.0.0.1:{}/sha", s.listen),
    ]);
    assert_eq!(
        resp.status,
        200,
        "stderr: {} body: {}",
        resp.stderr,
        resp.text()
    );
    assert!(
        resp.statuses.contains(&100),
        "no 100 Continue before the response: {:?}",
        resp.statuses
    );
    assert!(
        resp.time_total < 3.0,
        "the upload took {} s: curl waited for a 100 Continue",
        resp.time_total
    );
    let r = sha_reply(&resp.text());
    assert_eq!(r["sha256"], sha256_file(&file));
}

#[test]
fn close_delimited_response_reaches_an_http11_client_and_the_connection_stays_usable() {
    let s = mock_setup();
    const LEN: usize = 200_000;
    // curl: the body arrives whole.
    let resp = curl(&[
        "--http1.1",
        &format!("http://127.0.0.1:{}/close-delimited/{LEN}", s.listen),
    ]);
    assert_eq!(resp.exit, 0, "curl failed: {}", resp.stderr);
    assert_eq!(resp.status, 200);
    assert!(
        resp.body == close_delimited_body(LEN),
        "body differs ({} bytes)",
        resp.body.len()
    );

    // A raw keep-alive client: the re-framed body is complete and the same client
    // connection serves the next request.
    let mut client = Client::connect(local(s.listen));
    let first = client.get(&format!("/close-delimited/{LEN}"), "example.test");
    assert_eq!(first.status, 200);
    assert!(
        first.body == close_delimited_body(LEN),
        "re-framed body differs"
    );
    let second = client.get("/after", "example.test");
    assert_eq!(second.status, 200);
    assert_eq!(second.text(), "ok /after\n");
}

#[test]
fn http10_upstream_python_http_server_is_served_to_http11_clients() {
    let dir = TempDir::new("http-server");
    let root = dir.path().join("root");
    let content = random_bytes(50_000, 10);
    dir.write("root/file.bin", &content);
    let (listen, upstream) = (free_port(), free_port());
    let _server = python_http_server(upstream, &root, dir.file("http.server.log"));
    let _mosn = Mosn::start(&http_config(
        local(listen),
        None,
        forward_all("files"),
        json!([cluster("files", &[local(upstream)])]),
        json!({}),
        json!({}),
    ));
    let resp = curl(&["--http1.1", &format!("http://127.0.0.1:{listen}/file.bin")]);
    assert_eq!(resp.exit, 0, "curl failed: {}", resp.stderr);
    assert_eq!(resp.status, 200);
    assert!(resp.body == content, "body differs");

    // The upstream closes after each response (HTTP/1.0); the client connection stays.
    let mut client = Client::connect(local(listen));
    for _ in 0..3 {
        let resp = client.get("/file.bin", "example.test");
        assert_eq!(resp.status, 200);
        assert!(resp.body == content, "body differs");
    }
}

/// The routing config of the routing tests: two nginx servers (`A` and `B` bodies on
/// `/`, echo on `/echo`), direct responses, redirects, matches and rewrites.
struct RoutingSetup {
    _nginx: Nginx,
    mosn: Mosn,
    listen: u16,
}

fn routing_setup() -> RoutingSetup {
    let (listen, up_a, up_b, admin) = (free_port(), free_port(), free_port(), free_port());
    let nginx = Nginx::start(&[
        (
            up_a,
            format!(
                "{}        location = /weighted {{ return 200 \"A\"; }}\n",
                echo_server_block()
            ),
        ),
        (
            up_b,
            "        location = /weighted { return 200 \"B\"; }\n        location / { return 200 \"B $uri\"; }\n"
                .to_owned(),
        ),
    ]);
    let virtual_hosts = json!([
        {
            "name": "exact",
            "domains": ["exact.test"],
            "routers": [{ "match": { "prefix": "/" }, "direct_response": { "status": 200, "body": "vh=exact" } }]
        },
        {
            "name": "suffix",
            "domains": ["*.example.com"],
            "routers": [{ "match": { "prefix": "/" }, "direct_response": { "status": 200, "body": "vh=suffix" } }]
        },
        {
            "name": "prefix",
            "domains": ["api.*"],
            "routers": [{ "match": { "prefix": "/" }, "direct_response": { "status": 200, "body": "vh=prefix" } }]
        },
        {
            "name": "narrow",
            "domains": ["narrow.test"],
            "routers": [{ "match": { "path": "/only" }, "direct_response": { "status": 200, "body": "only" } }]
        },
        {
            "name": "default",
            "domains": ["*"],
            "routers": [
                { "match": { "path": "/direct" }, "direct_response": { "status": 201, "body": "direct body" } },
                {
                    "match": { "path": "/redirect" },
                    "redirect": { "response_code": 302, "path_redirect": "/target", "host_redirect": "other.example" }
                },
                {
                    "match": { "prefix": "/hdr", "headers": [{ "name": "x-route", "value": "yes" }] },
                    "direct_response": { "status": 200, "body": "header-exact" }
                },
                {
                    "match": { "prefix": "/hdr", "headers": [{ "name": "x-version", "value": "^v[0-9]+$", "regex": true }] },
                    "direct_response": { "status": 200, "body": "header-regex" }
                },
                { "match": { "prefix": "/hdr" }, "direct_response": { "status": 200, "body": "header-none" } },
                { "match": { "regex": "^/re/[0-9]+$" }, "direct_response": { "status": 200, "body": "regex" } },
                {
                    "match": { "prefix": "/weighted" },
                    "route": { "weighted_clusters": [
                        { "cluster": { "name": "a", "weight": 70 } },
                        { "cluster": { "name": "b", "weight": 30 } }
                    ] }
                },
                { "match": { "prefix": "/old/" }, "route": { "cluster_name": "a", "prefix_rewrite": "/echo/new/" } },
                { "match": { "prefix": "/hostrw" }, "route": { "cluster_name": "a", "prefix_rewrite": "/echo", "host_rewrite": "rewritten.example" } },
                {
                    "match": { "prefix": "/edit" },
                    "route": {
                        "cluster_name": "a",
                        "prefix_rewrite": "/echo",
                        "request_headers_to_add": [{ "header": { "key": "x-added", "value": "by-route" }, "append": false }],
                        "request_headers_to_remove": ["x-remove-me"],
                        "response_headers_to_add": [{ "header": { "key": "x-resp-added", "value": "yes" }, "append": false }],
                        "response_headers_to_remove": ["x-upstream-drop"]
                    }
                },
                { "match": { "prefix": "/echo" }, "route": { "cluster_name": "a" } }
            ]
        }
    ]);
    let mosn = Mosn::start(&http_config(
        local(listen),
        Some(admin),
        virtual_hosts,
        json!([cluster("a", &[local(up_a)]), cluster("b", &[local(up_b)])]),
        json!({}),
        json!({}),
    ));
    RoutingSetup {
        _nginx: nginx,
        mosn,
        listen,
    }
}

fn url(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

#[test]
fn direct_response_route() {
    let s = routing_setup();
    let resp = curl(&[&url(s.listen, "/direct")]);
    assert_eq!(resp.status, 201);
    assert_eq!(resp.text(), "direct body");
}

#[test]
fn redirect_route_sets_location() {
    let s = routing_setup();
    let resp = curl(&[&url(s.listen, "/redirect")]);
    assert_eq!(resp.status, 302);
    let location = resp.header("location").unwrap_or("");
    assert_eq!(location, "http://other.example/target");
}

#[test]
fn prefix_rewrite_and_host_rewrite() {
    let s = routing_setup();
    let resp = curl(&[&url(s.listen, "/old/path?q=1")]);
    assert_eq!(resp.status, 200);
    let f = echo_fields(&resp.text());
    assert_eq!(f["uri"], "/echo/new/path?q=1", "prefix_rewrite");

    let resp = curl(&["-H", "Host: original.example", &url(s.listen, "/hostrw")]);
    assert_eq!(resp.status, 200);
    let f = echo_fields(&resp.text());
    assert_eq!(f["http_host"], "rewritten.example", "host_rewrite");
}

#[test]
fn request_and_response_header_edits() {
    let s = routing_setup();
    let resp = curl(&[
        "-H",
        "X-Remove-Me: please",
        "-H",
        "X-Added: from-client",
        &url(s.listen, "/edit"),
    ]);
    assert_eq!(resp.status, 200);
    let f = echo_fields(&resp.text());
    assert_eq!(
        f["added"], "by-route",
        "request_headers_to_add (append: false)"
    );
    assert_eq!(f["removeme"], "", "request_headers_to_remove");
    assert_eq!(
        resp.header("x-resp-added"),
        Some("yes"),
        "response_headers_to_add"
    );
    assert_eq!(
        resp.header("x-upstream-drop"),
        None,
        "response_headers_to_remove"
    );

    // Without the route's edits the upstream header does come through.
    let plain = curl(&[&url(s.listen, "/echo")]);
    assert_eq!(plain.header("x-upstream-drop"), Some("drop"));
}

#[test]
fn weighted_clusters_split_roughly_by_weight() {
    let s = routing_setup();
    let mut client = Client::connect(local(s.listen));
    let (mut a, mut b) = (0u32, 0u32);
    for _ in 0..200 {
        let resp = client.get("/weighted", "example.test");
        assert_eq!(resp.status, 200);
        match resp.text().as_str() {
            "A" => a += 1,
            "B" => b += 1,
            other => panic!("unexpected body {other:?}"),
        }
    }
    // Weights 70/30: each share within ±15 percentage points of its weight.
    let share_a = f64::from(a) / 2.0;
    let share_b = f64::from(b) / 2.0;
    assert!(
        (55.0..=85.0).contains(&share_a) && (15.0..=45.0).contains(&share_b),
        "a: {a}, b: {b} of 200 (weights 70/30)"
    );
    s.mosn
        .expect_stat("cluster", "a", "upstream_rq_2xx", u64::from(a));
    s.mosn
        .expect_stat("cluster", "b", "upstream_rq_2xx", u64::from(b));
}

#[test]
fn header_and_regex_matches() {
    let s = routing_setup();
    let exact = curl(&["-H", "X-Route: yes", &url(s.listen, "/hdr")]);
    assert_eq!(exact.text(), "header-exact");
    let regex = curl(&["-H", "X-Version: v42", &url(s.listen, "/hdr")]);
    assert_eq!(regex.text(), "header-regex");
    let no_match = curl(&["-H", "X-Version: version42", &url(s.listen, "/hdr")]);
    assert_eq!(no_match.text(), "header-none");
    let path_regex = curl(&[&url(s.listen, "/re/123")]);
    assert_eq!(path_regex.status, 200);
    assert_eq!(path_regex.text(), "regex");
    let path_regex_miss = curl(&[&url(s.listen, "/re/12a")]);
    assert_eq!(path_regex_miss.status, 404, "{}", path_regex_miss.text());
}

#[test]
fn virtual_hosts_by_exact_and_wildcard_domains() {
    let s = routing_setup();
    let cases = [
        ("exact.test", "vh=exact"),
        ("EXACT.test:8080", "vh=exact"),
        ("shop.example.com", "vh=suffix"),
        ("a.b.example.com", "vh=suffix"),
        ("api.internal", "vh=prefix"),
    ];
    for (host, want) in cases {
        let resp = curl(&["-H", &format!("Host: {host}"), &url(s.listen, "/x")]);
        assert_eq!(resp.status, 200, "Host: {host}");
        assert_eq!(resp.text(), want, "Host: {host}");
    }
    // Anything else falls to the `*` virtual host.
    let resp = curl(&["-H", "Host: elsewhere.test", &url(s.listen, "/direct")]);
    assert_eq!(resp.text(), "direct body");
}

#[test]
fn no_route_is_404_with_a_one_line_body() {
    let s = routing_setup();
    let resp = curl(&["-H", "Host: narrow.test", &url(s.listen, "/not-there")]);
    assert_eq!(resp.status, 404);
    let body = resp.text();
    assert!(
        !body.is_empty() && body.trim_end_matches('\n').lines().count() == 1,
        "404 body should be one line, got {body:?}"
    );
    s.mosn
        .expect_stat("listener", "test_listener", "downstream_rq_4xx", 1);
}

#[test]
fn request_smuggling_shapes_are_not_forwarded_as_two_requests() {
    // A request whose body looks like a second request: it must reach the mock as one
    // body, and the client must get exactly one response.
    let s = mock_setup();
    let inner = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    let req = format!(
        "POST /sha HTTP/1.1\r\nHost: example.test\r\nContent-Length: {}\r\n\r\n{inner}",
        inner.len()
    );
    let mut client = Client::connect(local(s.listen));
    client.send(req.as_bytes()).expect("write");
    let resp = client.read(false).expect("response");
    assert_eq!(resp.status, 200);
    assert!(
        resp.text().starts_with(&format!("len={} ", inner.len())),
        "{}",
        resp.text()
    );
    let next = client.get("/next", "example.test");
    assert_eq!(next.text(), "ok /next\n");
    s.mosn
        .expect_stat("listener", "test_listener", "downstream_rq_total", 2);
}

#[test]
fn end_to_end_headers_pass_and_hop_by_hop_headers_stop() {
    // The header view from a server that echoes every request header (the mock).
    let s = mock_setup();
    let mut client = Client::connect(local(s.listen));
    client
        .send(
            b"GET /headers HTTP/1.1\r\nHost: h.test\r\nTE: trailers\r\nUpgrade: foo\r\n\
              Connection: close, x-hop\r\nX-Hop: 1\r\nX-Custom: kept\r\n\
              X-Multi: one\r\nX-Multi: two\r\n\r\n",
        )
        .expect("write");
    let resp = client.read(false).expect("response");
    assert_eq!(resp.status, 200);
    let text = resp.text();
    assert!(text.contains("x-custom: kept\n"), "{text}");
    assert!(text.contains("host: h.test\n"), "{text}");
    assert!(
        text.contains("x-multi: one\n") && text.contains("x-multi: two\n"),
        "repeated end-to-end headers must both arrive: {text}"
    );
    assert!(
        !text.contains("x-hop:"),
        "Connection-listed header forwarded: {text}"
    );
    assert!(!text.contains("upgrade:"), "Upgrade forwarded: {text}");
    assert!(
        !text.contains("close, x-hop"),
        "client Connection forwarded: {text}"
    );
}

#[test]
fn an_idle_keep_alive_connection_closes_after_the_idle_timeout_and_not_before() {
    let listen = free_port();
    let mut config = answer_all_config(local(listen), None, "x");
    config["servers"][0]["listeners"][0]["connection_idle_timeout"] = json!("1s");
    let _mosn = Mosn::start(&config);
    let mut client = Client::connect(local(listen));
    assert_eq!(client.get("/", "example.test").text(), "x");
    // Each request starts the idle timeout again: 0.7 s + 0.7 s idle in all, still served.
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(client.get("/", "example.test").text(), "x");
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(client.get("/", "example.test").text(), "x");
    let idle_since = std::time::Instant::now();
    let mut rest = Vec::new();
    let read = std::io::Read::read_to_end(client.reader.get_mut(), &mut rest);
    let idle = idle_since.elapsed();
    assert!(
        matches!(read, Ok(0)),
        "want a quiet close, got {read:?} {rest:?}"
    );
    assert!(
        idle >= Duration::from_millis(950) && idle <= Duration::from_millis(2500),
        "closed after {idle:?} idle, want 1 s (connection_idle_timeout)"
    );
}

#[test]
fn hundreds_of_keep_alive_connections_parked_while_idle_all_answer_again() {
    // Quiet connections give up their task (after a fraction of a second) and get one
    // back when the client speaks: every one must answer, and stay counted as open.
    let listen = free_port();
    let admin = free_port();
    let mosn = Mosn::start(&answer_all_config(local(listen), Some(admin), "x"));
    let mut clients: Vec<Client> = (0..300).map(|_| Client::connect(local(listen))).collect();
    for c in &mut clients {
        assert_eq!(c.get("/", "example.test").text(), "x");
    }
    std::thread::sleep(Duration::from_millis(800));
    let active = mosn.stat("listener", "test_listener", "downstream_cx_active");
    assert_eq!(active, 300, "parked connections stay counted as open");
    for round in 0..2 {
        for c in &mut clients {
            assert_eq!(c.get("/", "example.test").text(), "x", "round {round}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
