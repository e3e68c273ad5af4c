//! Differential routing: one Envoy v3 bootstrap (an HTTP listener whose inline route
//! configuration has several virtual hosts, and STATIC clusters of local backends that
//! name themselves) is loaded into Envoy 1.40 and into mosn (`mosn start -c`, converted by
//! the same code as xDS), and a matrix of requests goes to both, over HTTP/1.1 and over
//! h2c. For every case both must give the same status, pick the same upstream, make the
//! same number of attempts, send the upstream the same method, host, path, body and
//! request headers (by name; `x-t-*` and `x-envoy-*` by value), and answer with the same
//! response headers (by name; `x-t-*`, `content-type` and `Location` by value) and, for
//! direct responses, body. Envoy's own statuses are checked against what each case
//! expects, so a bootstrap both proxies misread alike cannot pass.
//!
//! Left out on purpose: `x-forwarded-for` (README: mosn appends it), the header-read
//! timeout and WebSocket upgrades (README); the bodies (and so content types) of the
//! error replies each proxy makes up itself (README: mosn's carry a one-line reason).
//! Features mosn refuses are checked separately: Envoy accepts the bootstrap, `mosn
//! validate` refuses it naming the field.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use support::*;

// ---------------------------------------------------------------------------------------
// Backends

/// A local HTTP/1.1 server that answers every request with a JSON description of what it
/// received (`backend`, `path`, `host`, `headers`) and `x-backend: NAME`. Request headers
/// steer it: `x-delay-ms: N` waits before answering; `x-fail-times: N` with
/// `x-try-key: K` fails the first N requests carrying K with `x-fail-status` (503 by
/// default). Every request is counted by its `x-try-key`.
struct Backend {
    name: String,
    port: u16,
    tries: Arc<Mutex<HashMap<String, u32>>>,
    stop: Arc<AtomicBool>,
}

impl Backend {
    fn start(name: &str) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a backend");
        let port = listener.local_addr().expect("local_addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let backend = Backend {
            name: name.to_owned(),
            port,
            tries: Arc::default(),
            stop: Arc::default(),
        };
        let (name, tries, stop) = (
            backend.name.clone(),
            backend.tries.clone(),
            backend.stop.clone(),
        );
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (name, tries) = (name.clone(), tries.clone());
                        thread::spawn(move || serve(conn, &name, &tries));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        backend
    }

    /// Requests seen with `x-try-key: key`.
    fn tries(&self, key: &str) -> u32 {
        self.tries
            .lock()
            .unwrap()
            .get(key)
            .copied()
            .unwrap_or_default()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Serves one keep-alive connection until the peer closes it.
fn serve(conn: TcpStream, name: &str, tries: &Mutex<HashMap<String, u32>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
    let mut writer = match conn.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").to_owned();
        let mut headers: Vec<(String, String)> = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let len: usize = get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut status = 200;
        if let Some(key) = get("x-try-key") {
            let n = {
                let mut t = tries.lock().unwrap();
                let n = t.entry(key).or_default();
                *n += 1;
                *n
            };
            let fail: u32 = get("x-fail-times")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if n <= fail {
                status = get("x-fail-status")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(503);
            }
        }
        if let Some(ms) = get("x-delay-ms").and_then(|v| v.parse().ok()) {
            thread::sleep(Duration::from_millis(ms));
        }
        match get("x-misbehave").as_deref() {
            // Closes the connection without an answer.
            Some("close") => return,
            // Answers with bytes that are no HTTP response.
            Some("garbage") => {
                let _ = writer.write_all(b"NOT HTTP AT ALL\r\n\r\n");
                return;
            }
            _ => {}
        }
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in &headers {
            seen.entry(k.clone()).or_default().push(v.clone());
        }
        let reply = json!({
            "backend": name, "method": method, "path": path,
            "body": String::from_utf8_lossy(&body),
            "host": get("host"), "headers": seen,
        })
        .to_string();
        let close = get("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             x-backend: {name}\r\nx-t-backend-drop: 1\r\nx-t-backend-keep: 1\r\n{}\r\n",
            reply.len(),
            if close { "connection: close\r\n" } else { "" }
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(reply.as_bytes()).is_err()
        {
            return;
        }
        if close {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The bootstrap

fn socket(port: u16) -> Value {
    json!({ "socket_address": { "address": "127.0.0.1", "port_value": port } })
}

fn static_cluster(name: &str, port: u16) -> Value {
    json!({
        "name": name, "type": "STATIC", "connect_timeout": "1s",
        "load_assignment": { "cluster_name": name, "endpoints": [{ "lb_endpoints": [
            { "endpoint": { "address": socket(port) } } ] }] }
    })
}

fn header(key: &str, value: &str) -> Value {
    json!({ "header": { "key": key, "value": value } })
}

fn header_overwrite(key: &str, value: &str) -> Value {
    json!({ "header": { "key": key, "value": value }, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD" })
}

fn to(cluster: &str) -> Value {
    json!({ "cluster": cluster })
}

/// A route on `prefix` to `cluster`.
fn prefix(p: &str, cluster: &str) -> Value {
    json!({ "match": { "prefix": p }, "route": to(cluster) })
}

/// A route matching `prefix` and one header matcher, to `cluster`.
fn with_header(p: &str, matcher: Value, cluster: &str) -> Value {
    json!({ "match": { "prefix": p, "headers": [ matcher ] }, "route": to(cluster) })
}

/// A route matching `prefix` and `query_parameters`, to beta.
fn with_query(p: &str, params: Value) -> Value {
    json!({ "match": { "prefix": p, "query_parameters": params }, "route": to("beta") })
}

fn redirect(p: &str, redirect: Value) -> Value {
    json!({ "match": { "prefix": p }, "redirect": redirect })
}

fn direct(p: &str, status: u16, body: Option<&str>) -> Value {
    let mut d = json!({ "status": status });
    if let Some(b) = body {
        d["body"] = json!({ "inline_string": b });
    }
    json!({ "match": { "path": p }, "direct_response": d })
}

/// A virtual host with one route that tells the upstream its name (`x-t-vh`).
fn named_vhost(name: &str, domains: &[&str], route: Value) -> Value {
    json!({ "name": name, "domains": domains, "routes": [ route ],
        "request_headers_to_add": [ header("x-t-vh", name) ] })
}

/// The route configuration under test.
fn route_config() -> Value {
    json!({
        "name": "diff",
        "validate_clusters": false,
        "request_headers_to_add": [ header("x-t-config", "cfg") ],
        "request_headers_to_remove": [ "x-t-config-rm" ],
        "response_headers_to_add": [ header("x-t-config-resp", "cfg") ],
        "virtual_hosts": [
            named_vhost("exact", &["exact.test", "port.test:8080"], prefix("/", "alpha")),
            named_vhost("suffix", &["*.suffix.test"], prefix("/", "beta")),
            named_vhost("deeper-suffix", &["*.deep.suffix.test", "*-dash.test"], prefix("/", "beta")),
            named_vhost("prefix", &["prefix.*", "pre-*"], prefix("/", "gamma")),
            main_vhost(),
            edits_vhost(),
            retry_vhost(),
            redirect_vhost(),
            named_vhost("default", &["*"], prefix("/only-default", "gamma")),
        ]
    })
}

/// Path, header and cluster matching, rewrites, timeouts, route-level edits, direct
/// responses.
fn main_vhost() -> Value {
    json!({ "name": "main", "domains": ["main.test"], "routes": [
                { "match": { "path": "/exact" }, "route": to("alpha") },
                prefix("/pre/", "beta"),
                { "match": { "path_separated_prefix": "/sep" }, "route": to("gamma") },
                { "match": { "safe_regex": { "regex": "/re/[0-9]+" } }, "route": to("beta") },
                { "match": { "prefix": "/CaseIns", "case_sensitive": false }, "route": to("gamma") },
                { "match": { "path": "/CaseSens" }, "route": to("beta") },
                with_header("/h/exact", json!({ "name": "x-m", "string_match": { "exact": "yes" } }), "beta"),
                with_header("/h/legacy", json!({ "name": "x-m", "exact_match": "yes" }), "beta"),
                with_header("/h/regex", json!({ "name": "x-m", "safe_regex_match": { "regex": "v[0-9]+" } }), "beta"),
                with_header("/h/present", json!({ "name": "x-m", "present_match": true }), "beta"),
                with_header("/h/prefix", json!({ "name": "x-m", "string_match": { "prefix": "ab", "ignore_case": true } }), "beta"),
                with_header("/h/suffix", json!({ "name": "x-m", "string_match": { "suffix": "yz" } }), "beta"),
                with_header("/h/contains", json!({ "name": "x-m", "string_match": { "contains": "mid" } }), "beta"),
                with_header("/h/ci", json!({ "name": "x-m", "string_match": { "exact": "MiXeD", "ignore_case": true } }), "beta"),
                { "match": { "prefix": "/h/two", "headers": [
                    { "name": "x-m", "string_match": { "exact": "a" } },
                    { "name": "x-n", "string_match": { "exact": "b" } } ] }, "route": to("beta") },
                with_header("/h/absent", json!({ "name": "x-m", "present_match": false }), "beta"),
                with_header("/h/inv-present/", json!({ "name": "x-m", "present_match": true, "invert_match": true }), "beta"),
                with_header("/h/inv-regex/", json!({ "name": "x-m", "safe_regex_match": { "regex": "v[0-9]+" }, "invert_match": true }), "beta"),
                with_header("/h/inv-exact/", json!({ "name": "x-m", "string_match": { "exact": "yes" }, "invert_match": true }), "beta"),
                prefix("/h/", "alpha"),
                with_query("/qp/exact", json!([{ "name": "q", "string_match": { "exact": "1" } }])),
                with_query("/qp/present", json!([{ "name": "p", "present_match": true }])),
                with_query("/qp/absent", json!([{ "name": "f", "present_match": false }])),
                with_query("/qp/ci", json!([{ "name": "c", "string_match": { "prefix": "ab", "ignore_case": true } }])),
                with_query("/qp/regex", json!([{ "name": "r", "string_match": { "safe_regex": { "regex": "[0-9]+" } } }])),
                with_query("/qp/two", json!([{ "name": "q", "string_match": { "exact": "1" } }, { "name": "p" }])),
                prefix("/qp/", "alpha"),
                { "match": { "prefix": "/grpc", "grpc": {} }, "route": to("gamma") },
                prefix("/grpc", "alpha"),
                { "match": { "prefix": "/w/beta" }, "route": { "weighted_clusters": { "clusters": [
                    { "name": "alpha", "weight": 0 }, { "name": "beta", "weight": 100 } ] } } },
                { "match": { "prefix": "/w/gamma" }, "route": { "weighted_clusters": { "clusters": [
                    { "name": "gamma", "weight": 7 }, { "name": "alpha", "weight": 0 } ], "total_weight": 7 } } },
                { "match": { "prefix": "/w/split" }, "route": { "weighted_clusters": { "clusters": [
                    { "name": "alpha", "weight": 50 }, { "name": "beta", "weight": 50 } ] } } },
                { "match": { "prefix": "/rewrite/" }, "route": { "cluster": "alpha", "prefix_rewrite": "/backend/" } },
                { "match": { "path": "/rewrite-exact" }, "route": { "cluster": "alpha", "prefix_rewrite": "/whole" } },
                { "match": { "path_separated_prefix": "/psr" }, "route": { "cluster": "alpha", "prefix_rewrite": "/new" } },
                { "match": { "prefix": "/CiR/", "case_sensitive": false }, "route": { "cluster": "alpha", "prefix_rewrite": "/ci/" } },
                { "match": { "safe_regex": { "regex": "/rr/[a-z]+" } }, "route": { "cluster": "alpha", "prefix_rewrite": "/whole" } },
                { "match": { "path": "/CiExact", "case_sensitive": false }, "route": { "cluster": "alpha", "prefix_rewrite": "/e" } },
                { "match": { "prefix": "/rx/" }, "route": { "cluster": "alpha", "regex_rewrite": {
                    "pattern": { "regex": "^/rx/v([0-9]+)/" }, "substitution": "/api/\\1/" } } },
                { "match": { "prefix": "/rxall/" }, "route": { "cluster": "alpha", "regex_rewrite": {
                    "pattern": { "regex": "o" }, "substitution": "0" } } },
                { "match": { "prefix": "/rxdollar/" }, "route": { "cluster": "alpha", "regex_rewrite": {
                    "pattern": { "regex": "dollar" }, "substitution": "$1x" } } },
                { "match": { "prefix": "/strip" }, "route": { "cluster": "alpha", "prefix_rewrite": "/" } },
                { "match": { "prefix": "/hosthdr" }, "route": { "cluster": "beta", "host_rewrite_header": "X-Host" } },
                { "match": { "prefix": "/hostrw" }, "route": { "cluster": "beta", "host_rewrite_literal": "rewritten.test" } },
                { "match": { "prefix": "/timeout/short" }, "route": { "cluster": "alpha", "timeout": "1s" } },
                { "match": { "prefix": "/timeout/none" }, "route": { "cluster": "alpha", "timeout": "0s" } },
                { "match": { "prefix": "/nocluster" }, "route": to("no-such-cluster") },
                { "match": { "prefix": "/deadport" }, "route": to("dead") },
                { "match": { "prefix": "/edits/both" }, "route": to("alpha"),
                  "request_headers_to_add": [ header("x-t-both", "added") ],
                  "request_headers_to_remove": [ "x-t-both" ],
                  "response_headers_to_add": [ header("x-t-backend-keep", "appended"), header("x-t-empty", "") ] },
                { "match": { "prefix": "/edits" }, "route": to("alpha"),
                  "request_headers_to_add": [ header("x-t-route", "r1"), header_overwrite("x-t-over", "route") ],
                  "request_headers_to_remove": [ "x-t-route-rm" ],
                  "response_headers_to_add": [ header("x-t-route-resp", "r"), header_overwrite("x-t-backend-keep", "route") ],
                  "response_headers_to_remove": [ "x-t-backend-drop" ] },
                direct("/direct/ok", 200, Some("hello from direct")),
                direct("/direct/forbidden", 403, Some("nope")),
                direct("/direct/empty", 204, None),
                direct("/direct/unavailable", 503, Some("down")),
            ] })
}

/// Edits at virtual host and route level.
fn edits_vhost() -> Value {
    json!({ "name": "vhost-edits", "domains": ["edits.test"],
              "request_headers_to_add": [ header("x-t-vhost", "v"), header_overwrite("x-t-over", "vhost") ],
              "request_headers_to_remove": [ "x-t-vhost-rm" ],
              "response_headers_to_add": [ header("x-t-vhost-resp", "v") ],
              "response_headers_to_remove": [ "x-t-backend-drop" ],
              "routes": [
                { "match": { "prefix": "/route" }, "route": to("beta"),
                  "request_headers_to_add": [ header_overwrite("x-t-over", "route"), header("x-t-route", "r") ],
                  "response_headers_to_add": [ header_overwrite("x-t-vhost-resp", "route-wins") ] },
                prefix("/", "alpha"),
            ] })
}

/// Retry policies, the virtual host's and the routes'.
fn retry_vhost() -> Value {
    json!({ "name": "retry", "domains": ["retry.test"], "include_request_attempt_count": true,
              "retry_policy": { "retry_on": "5xx", "num_retries": 1 },
              "routes": [
                { "match": { "prefix": "/5xx" }, "route": { "cluster": "alpha",
                    "retry_policy": { "retry_on": "5xx", "num_retries": 2 } } },
                { "match": { "prefix": "/gateway" }, "route": { "cluster": "alpha",
                    "retry_policy": { "retry_on": "gateway-error", "num_retries": 3 } } },
                { "match": { "prefix": "/codes" }, "route": { "cluster": "alpha",
                    "retry_policy": { "retry_on": "retriable-status-codes", "retriable_status_codes": [409], "num_retries": 2 } } },
                { "match": { "prefix": "/per-try" }, "route": { "cluster": "alpha", "timeout": "3s",
                    "retry_policy": { "retry_on": "5xx", "num_retries": 1, "per_try_timeout": "0.5s" } } },
                { "match": { "prefix": "/vhost-policy" }, "route": to("alpha") },
                { "match": { "prefix": "/reset" }, "route": { "cluster": "alpha",
                    "retry_policy": { "retry_on": "reset", "num_retries": 1 } } },
                { "match": { "prefix": "/connect-failure" }, "route": { "cluster": "dead",
                    "retry_policy": { "retry_on": "connect-failure", "num_retries": 2 } } },
            ] })
}

/// Redirects (a virtual host without response edits).
fn redirect_vhost() -> Value {
    json!({ "name": "redirects", "domains": ["redirect.test", "redirect.test:80", "redirect.test:8080"],
        "response_headers_to_add": [ header("x-t-redirect-vh", "r") ],
        "routes": [
                redirect("/keep-host", json!({ "https_redirect": true })),
                redirect("/keep-scheme", json!({ "host_redirect": "o.test" })),
                redirect("/keep-both", json!({ "path_redirect": "/both", "strip_query": true, "response_code": "FOUND" })),
                redirect("/to-http", json!({ "scheme_redirect": "http" })),
                redirect("/path-keeps-query", json!({ "path_redirect": "/kept" })),
                redirect("/strip-only", json!({ "strip_query": true, "response_code": "TEMPORARY_REDIRECT" })),
                redirect("/https", json!({ "https_redirect": true, "host_redirect": "secure.test" })),
                redirect("/moved", json!({ "scheme_redirect": "http", "host_redirect": "other.test",
                    "path_redirect": "/new", "strip_query": true })),
                redirect("/found", json!({ "scheme_redirect": "https", "host_redirect": "other.test:8443",
                    "response_code": "FOUND" })),
                redirect("/see-other", json!({ "scheme_redirect": "http", "host_redirect": "o.test", "response_code": "SEE_OTHER" })),
                redirect("/temporary", json!({ "scheme_redirect": "http", "host_redirect": "o.test", "response_code": "TEMPORARY_REDIRECT" })),
                redirect("/permanent", json!({ "scheme_redirect": "http", "host_redirect": "o.test", "response_code": "PERMANENT_REDIRECT" })),
                redirect("/query-own", json!({ "scheme_redirect": "http", "host_redirect": "o.test", "path_redirect": "/q?own=1" })),
                redirect("/query-strip", json!({ "scheme_redirect": "http", "host_redirect": "o.test",
                    "path_redirect": "/q?own=1", "strip_query": true })),
                direct("/direct", 200, Some("redirect vhost direct")),
            ] })
}

fn hcm(route_config: Value) -> Value {
    json!({
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": "diff",
            "route_config": route_config,
            "http_filters": [{ "name": "envoy.filters.http.router", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }]
        }
    })
}

/// The bootstrap with the listener on `port` and `clusters`.
fn bootstrap(port: u16, route_config: Value, clusters: &[Value]) -> Value {
    json!({
        "node": { "id": "diff", "cluster": "diff" },
        "static_resources": {
            "listeners": [{ "name": "http", "address": socket(port),
                "filter_chains": [{ "filters": [ hcm(route_config) ] }] }],
            "clusters": clusters,
        }
    })
}

// ---------------------------------------------------------------------------------------
// The matrix

/// One request of the matrix.
#[derive(Debug, Clone)]
struct Case {
    name: String,
    host: String,
    path: String,
    headers: Vec<(String, String)>,
    /// Compare the response bodies (direct responses: the configured body).
    body: bool,
    /// Counts attempts with an `x-try-key`.
    tries: bool,
    /// A request body: sent as a POST with `content-length`.
    request_body: Option<&'static str>,
}

fn case(name: &str, host: &str, path: &str) -> Case {
    Case {
        name: name.to_owned(),
        host: host.to_owned(),
        path: path.to_owned(),
        headers: Vec::new(),
        body: false,
        tries: false,
        request_body: None,
    }
}

impl Case {
    fn header(mut self, k: &str, v: &str) -> Case {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }
    fn body(mut self) -> Case {
        self.body = true;
        self
    }
    /// Fails the first `n` attempts with `status`.
    fn failing(mut self, n: u32, status: u16) -> Case {
        self.tries = true;
        self.header("x-fail-times", &n.to_string())
            .header("x-fail-status", &status.to_string())
    }
    fn delay(self, ms: u32) -> Case {
        self.header("x-delay-ms", &ms.to_string())
    }
    fn post(mut self, body: &'static str) -> Case {
        self.request_body = Some(body);
        self
    }
}

/// Request headers the upstream sees that differ between the proxies by design: mosn
/// appends `x-forwarded-for` (README), and each client sends its own framing.
const KNOWN_DIFFERENT: &[&str] = &[
    "x-forwarded-for",
    "content-length",
    "transfer-encoding",
    "connection",
];

/// Response headers left out: each proxy writes its own framing and date.
const KNOWN_DIFFERENT_RESPONSE: &[&str] =
    &["date", "content-length", "transfer-encoding", "connection"];

/// What one proxy did with one case.
#[derive(Debug, Clone, PartialEq, Default)]
struct Outcome {
    status: u16,
    /// The backend that answered (from its reply).
    backend: String,
    /// Method, host, path and body as the backend received them.
    upstream: String,
    /// `x-t-*` and `x-envoy-attempt-count` request headers as the backend received them.
    upstream_headers: String,
    /// Requests the backends saw for this case (cases with an `x-try-key`).
    tries: u32,
    location: String,
    /// `x-t-*` response headers.
    response_headers: String,
    body: String,
}

/// How the matrix reaches a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// A raw HTTP/1.1 request (mosn's HTTP/1 fast path).
    Http1,
    /// curl with h2c prior knowledge (mosn's generic path).
    Http2,
}

/// Sends case `c` to `proxy`; `key` is its `x-try-key`.
fn send(c: &Case, proxy: SocketAddr, key: &str, client: Via) -> Result<HttpResponse, String> {
    match client {
        Via::Http1 => send_h1(c, proxy, key),
        Via::Http2 => send_h2(c, proxy, key),
    }
}

fn send_h2(c: &Case, proxy: SocketAddr, key: &str) -> Result<HttpResponse, String> {
    let mut args: Vec<String> = vec!["--http2-prior-knowledge".into(), "--path-as-is".into()];
    let mut headers = vec![("host".to_owned(), c.host.clone())];
    headers.extend(c.headers.iter().cloned());
    if c.tries {
        headers.push(("x-try-key".into(), key.to_owned()));
    }
    for (k, v) in headers {
        args.push("-H".into());
        // curl sends an empty header given as `name;`.
        args.push(if v.is_empty() {
            format!("{k};")
        } else {
            format!("{k}: {v}")
        });
    }
    if let Some(body) = c.request_body {
        args.push("--data-binary".into());
        args.push(body.into());
    }
    args.push(format!("http://{proxy}{}", c.path));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let got = curl(&args);
    if got.status == 0 {
        return Err(format!("curl exit {}: {}", got.exit, got.stderr));
    }
    Ok(HttpResponse {
        status: got.status,
        headers: got.headers.clone(),
        body: got.body,
    })
}

fn send_h1(c: &Case, proxy: SocketAddr, key: &str) -> Result<HttpResponse, String> {
    let method = if c.request_body.is_some() {
        "POST"
    } else {
        "GET"
    };
    let mut req = format!(
        "{method} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        c.path, c.host
    );
    if let Some(body) = c.request_body {
        let _ = write!(req, "content-length: {}\r\n", body.len());
    }
    for (k, v) in &c.headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    if c.tries {
        let _ = write!(req, "x-try-key: {key}\r\n");
    }
    req.push_str("\r\n");
    req.push_str(c.request_body.unwrap_or(""));
    http_exchange(proxy, req.as_bytes()).map_err(|e| e.to_string())
}

fn run_case(c: &Case, proxy: SocketAddr, tag: &str, backends: &[Backend], client: Via) -> Outcome {
    let key = format!("{tag}/{client:?}/{}", c.name);
    let resp = match send(c, proxy, &key, client) {
        Ok(r) => r,
        Err(e) => {
            return Outcome {
                backend: format!("request failed: {e}"),
                ..Outcome::default()
            }
        }
    };
    let mut out = Outcome {
        status: resp.status,
        location: resp.header("location").unwrap_or("").to_owned(),
        ..Outcome::default()
    };
    let from_upstream = resp.header("x-backend").is_some();
    let mut edited: Vec<String> = resp
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .filter(|(k, _)| !KNOWN_DIFFERENT_RESPONSE.contains(&k.as_str()))
        // The replies each proxy makes up for errors differ in body, so in content-type
        // (README: mosn's carry a one-line reason).
        .filter(|(k, _)| k != "content-type" || from_upstream || c.body)
        .map(|(k, v)| {
            if k.starts_with("x-t-") || ["content-type", "location", "server"].contains(&k.as_str())
            {
                format!("{k}={v}")
            } else {
                k
            }
        })
        .collect();
    edited.sort();
    out.response_headers = edited.join(" ");
    if c.body {
        out.body = resp.text();
    }
    if let Ok(seen) = serde_json::from_slice::<Value>(&resp.body) {
        out.backend = seen["backend"].as_str().unwrap_or("").to_owned();
        out.upstream = format!(
            "{} {} {} body={:?}",
            seen["method"].as_str().unwrap_or("-"),
            seen["host"].as_str().unwrap_or("-"),
            seen["path"].as_str().unwrap_or("-"),
            seen["body"].as_str().unwrap_or("-"),
        );
        let mut hs = Vec::new();
        for (k, vs) in seen["headers"].as_object().into_iter().flatten() {
            if KNOWN_DIFFERENT.contains(&k.as_str()) {
                continue;
            }
            if k.starts_with("x-t-") || k.starts_with("x-envoy-") {
                for v in vs.as_array().into_iter().flatten() {
                    let mut v = v.as_str().unwrap_or("").to_owned();
                    if k == "x-envoy-expected-rq-timeout-ms" {
                        // What is left of the route timeout on a retry depends on timing:
                        // compared in whole seconds, rounded up.
                        let ms: u64 = v.parse().unwrap_or(0);
                        v = format!("~{}s", ms.div_ceil(1000));
                    }
                    hs.push(format!("{k}={v}"));
                }
            } else {
                // Other headers by name: values such as x-request-id differ by nature.
                hs.push(k.clone());
            }
        }
        out.upstream_headers = hs.join(" ");
    }
    if c.tries {
        out.tries = backends.iter().map(|b| b.tries(&key)).sum();
    }
    out
}

fn matrix() -> Vec<Case> {
    vec![
        // Virtual hosts by domain.
        case("domain exact", "exact.test", "/a"),
        case("domain exact, upper case", "EXACT.Test", "/a"),
        case("domain exact with a port", "exact.test:8080", "/a"),
        case("domain configured with its port", "port.test:8080", "/a"),
        case(
            "domain configured with a port, none sent",
            "port.test",
            "/a",
        ),
        case("domain suffix wildcard", "x.suffix.test", "/a"),
        case("domain suffix wildcard, deeper", "a.b.suffix.test", "/a"),
        case(
            "domain suffix wildcard needs a label",
            "suffix.test",
            "/only-default",
        ),
        case(
            "domain suffix wildcard with a port",
            "x.suffix.test:9000",
            "/only-default",
        ),
        case("domain prefix wildcard", "prefix.anything", "/a"),
        case("domain prefix wildcard with a dash", "pre-x", "/a"),
        case("domain prefix wildcard with a port", "prefix.x:81", "/a"),
        case("domain longest suffix wins", "x.deep.suffix.test", "/a"),
        case("domain suffix wildcard with a dash", "a-dash.test", "/a"),
        case(
            "domain suffix wildcard, dash only",
            "-dash.test",
            "/only-default",
        ),
        case("domain with a trailing dot", "exact.test.", "/only-default"),
        case("domain catch-all", "unknown.test", "/only-default"),
        case("no route in the catch-all host", "unknown.test", "/other"),
        // Paths.
        case("path exact", "main.test", "/exact"),
        case("path exact with a query", "main.test", "/exact?a=1"),
        case("path exact is not a prefix", "main.test", "/exact/more"),
        case("path prefix", "main.test", "/pre/x/y"),
        case("path prefix needs its slash", "main.test", "/pre"),
        case("path prefix, percent-encoded", "main.test", "/%70re/x"),
        case("path exact with a trailing slash", "main.test", "/exact/"),
        case("path_separated_prefix alone", "main.test", "/sep"),
        case(
            "path_separated_prefix with a segment",
            "main.test",
            "/sep/x",
        ),
        case(
            "path_separated_prefix with a query",
            "main.test",
            "/sep?x=1",
        ),
        case(
            "path_separated_prefix not a longer segment",
            "main.test",
            "/separate",
        ),
        case("safe_regex whole path", "main.test", "/re/123"),
        case("safe_regex not a partial match", "main.test", "/re/123x"),
        case("safe_regex ignores the query", "main.test", "/re/7?q=x"),
        case("case-insensitive prefix", "main.test", "/caseins/x"),
        case("case-sensitive path, other case", "main.test", "/casesens"),
        case("case-sensitive path", "main.test", "/CaseSens"),
        case("no route", "main.test", "/nothing"),
        // Headers.
        case("header exact", "main.test", "/h/exact").header("x-m", "yes"),
        case("header exact, other value", "main.test", "/h/exact").header("x-m", "yes!"),
        case("header exact, absent", "main.test", "/h/exact"),
        case("header name in another case", "main.test", "/h/exact").header("X-M", "yes"),
        case("header exact, sent twice", "main.test", "/h/exact")
            .header("x-m", "yes")
            .header("x-m", "yes"),
        case(
            "header exact, two values, one matching",
            "main.test",
            "/h/exact",
        )
        .header("x-m", "no")
        .header("x-m", "yes"),
        case("header present, sent twice", "main.test", "/h/present")
            .header("x-m", "a")
            .header("x-m", "b"),
        case("header regex, two values", "main.test", "/h/regex")
            .header("x-m", "v1")
            .header("x-m", "v2"),
        case("header exact_match (legacy)", "main.test", "/h/legacy").header("x-m", "yes"),
        case(
            "header exact_match (legacy), other",
            "main.test",
            "/h/legacy",
        )
        .header("x-m", "no"),
        case("header regex", "main.test", "/h/regex").header("x-m", "v12"),
        case("header regex is whole-value", "main.test", "/h/regex").header("x-m", "xv12"),
        case("header present", "main.test", "/h/present").header("x-m", "anything"),
        case("header present, empty value", "main.test", "/h/present").header("x-m", ""),
        case("header present, absent", "main.test", "/h/present"),
        case("header prefix ignore_case", "main.test", "/h/prefix").header("x-m", "ABc"),
        case("header prefix, other", "main.test", "/h/prefix").header("x-m", "xab"),
        case("header suffix", "main.test", "/h/suffix").header("x-m", "wxyz"),
        case("header suffix is case-sensitive", "main.test", "/h/suffix").header("x-m", "wxYZ"),
        case("header contains", "main.test", "/h/contains").header("x-m", "amidb"),
        case("header exact ignore_case", "main.test", "/h/ci").header("x-m", "mixed"),
        case("two headers, both", "main.test", "/h/two")
            .header("x-m", "a")
            .header("x-n", "b"),
        case("two headers, one", "main.test", "/h/two").header("x-m", "a"),
        case("header absent", "main.test", "/h/absent"),
        case("header absent, present", "main.test", "/h/absent").header("x-m", "x"),
        case("header absent, empty value", "main.test", "/h/absent").header("x-m", ""),
        case("header inverted", "main.test", "/h/inv-exact/").header("x-m", "no"),
        case("header inverted, matching", "main.test", "/h/inv-exact/").header("x-m", "yes"),
        case("header inverted, absent", "main.test", "/h/inv-exact/"),
        case("header inverted, two values", "main.test", "/h/inv-exact/")
            .header("x-m", "no")
            .header("x-m", "yes"),
        case(
            "header presence inverted, absent",
            "main.test",
            "/h/inv-present/",
        ),
        case(
            "header presence inverted, present",
            "main.test",
            "/h/inv-present/",
        )
        .header("x-m", "1"),
        case("header regex inverted", "main.test", "/h/inv-regex/").header("x-m", "x1"),
        case(
            "header regex inverted, matching",
            "main.test",
            "/h/inv-regex/",
        )
        .header("x-m", "v1"),
        case("query exact", "main.test", "/qp/exact?q=1"),
        case("query exact among others", "main.test", "/qp/exact?a=2&q=1"),
        case("query exact, other value", "main.test", "/qp/exact?q=2"),
        case(
            "query exact, first value other",
            "main.test",
            "/qp/exact?q=2&q=1",
        ),
        case(
            "query exact, first value matching",
            "main.test",
            "/qp/exact?q=1&q=2",
        ),
        case(
            "query values are not decoded",
            "main.test",
            "/qp/exact?q=%31",
        ),
        case("query absent", "main.test", "/qp/exact"),
        case(
            "query bare name is an empty value",
            "main.test",
            "/qp/exact?q",
        ),
        case(
            "query names are case-sensitive",
            "main.test",
            "/qp/exact?Q=1",
        ),
        case("query present", "main.test", "/qp/present?p"),
        case(
            "query present with a value",
            "main.test",
            "/qp/present?x=1&p=v",
        ),
        case("query present, other name", "main.test", "/qp/present?pp=1"),
        case(
            "query present_match false, present",
            "main.test",
            "/qp/absent?f=1",
        ),
        case(
            "query present_match false, absent",
            "main.test",
            "/qp/absent",
        ),
        case("query prefix ignore_case", "main.test", "/qp/ci?c=ABc"),
        case("query regex is whole-value", "main.test", "/qp/regex?r=12a"),
        case("query regex", "main.test", "/qp/regex?r=123"),
        case("query two parameters", "main.test", "/qp/two?p&q=1"),
        case("query two parameters, one", "main.test", "/qp/two?q=1"),
        case("grpc match", "main.test", "/grpc/S/M").header("content-type", "application/grpc"),
        case("grpc match +proto", "main.test", "/grpc/S/M")
            .header("content-type", "application/grpc+proto"),
        case("grpc match, not grpc", "main.test", "/grpc/S/M")
            .header("content-type", "application/grpc-web"),
        // Clusters.
        case("weighted 0/100", "main.test", "/w/beta"),
        case("weighted 7/0 with total_weight", "main.test", "/w/gamma"),
        case("unknown cluster", "main.test", "/nocluster"),
        case("cluster with no listening host", "main.test", "/deadport"),
        case("upstream closes without answering", "main.test", "/exact")
            .failing(0, 200)
            .header("x-misbehave", "close"),
        case("upstream answers garbage", "main.test", "/exact").header("x-misbehave", "garbage"),
        // Rewrites.
        case("prefix_rewrite", "main.test", "/rewrite/a/b?c=d"),
        case(
            "prefix_rewrite of an exact path",
            "main.test",
            "/rewrite-exact?q=1",
        ),
        case("prefix_rewrite to /", "main.test", "/strip/x"),
        case(
            "prefix_rewrite to / of the whole prefix",
            "main.test",
            "/strip",
        ),
        case(
            "prefix_rewrite after path_separated_prefix",
            "main.test",
            "/psr/x?q=1",
        ),
        case(
            "prefix_rewrite after path_separated_prefix, alone",
            "main.test",
            "/psr",
        ),
        case(
            "prefix_rewrite after a case-insensitive prefix",
            "main.test",
            "/cIr/x/y",
        ),
        case(
            "prefix_rewrite after safe_regex",
            "main.test",
            "/rr/abc?q=1",
        ),
        case(
            "prefix_rewrite after a case-insensitive path",
            "main.test",
            "/ciEXACT?z",
        ),
        case(
            "regex_rewrite with a group",
            "main.test",
            "/rx/v2/items?q=1",
        ),
        case("regex_rewrite not matching", "main.test", "/rx/other"),
        case(
            "regex_rewrite of every match",
            "main.test",
            "/rxall/foo/boo",
        ),
        case(
            "regex_rewrite with a literal dollar",
            "main.test",
            "/rxdollar/a",
        ),
        case("host_rewrite_header", "main.test", "/hosthdr/x").header("x-host", "from-header.test"),
        case("host_rewrite_header, empty", "main.test", "/hosthdr/x").header("x-host", ""),
        case("host_rewrite_header, absent", "main.test", "/hosthdr/x"),
        case("host_rewrite_literal", "main.test", "/hostrw/x"),
        // Timeouts.
        case("route timeout fires", "main.test", "/timeout/short").delay(2500),
        case("route timeout not reached", "main.test", "/timeout/short").delay(50),
        case("timeout 0s is none", "main.test", "/timeout/none").delay(400),
        // Header edits.
        case("config-level edits", "main.test", "/exact")
            .header("x-t-config", "client")
            .header("x-t-config-rm", "gone"),
        case("route-level edits", "main.test", "/edits")
            .header("x-t-over", "client")
            .header("x-t-route", "client")
            .header("x-t-route-rm", "gone"),
        case("vhost-level edits", "edits.test", "/x")
            .header("x-t-over", "client")
            .header("x-t-vhost-rm", "gone"),
        case("vhost and route edits", "edits.test", "/route").header("x-t-over", "client"),
        case("remove and add the same header", "main.test", "/edits/both")
            .header("x-t-both", "client"),
        // Retries.
        case("retry 5xx recovers", "retry.test", "/5xx").failing(2, 503),
        case("retry 5xx exhausted", "retry.test", "/5xx").failing(5, 503),
        case("retry 5xx on a 500", "retry.test", "/5xx").failing(1, 500),
        case("retry gateway-error on 503", "retry.test", "/gateway").failing(1, 503),
        case("retry gateway-error not on 500", "retry.test", "/gateway").failing(1, 500),
        case("retriable status 409", "retry.test", "/codes").failing(2, 409),
        case("retriable status, not 503", "retry.test", "/codes").failing(1, 503),
        case(
            "per-try timeouts use up the retries",
            "retry.test",
            "/per-try",
        )
        .failing(0, 200)
        .delay(2000),
        case("virtual host retry policy", "retry.test", "/vhost-policy").failing(1, 502),
        case(
            "virtual host retry policy exhausted",
            "retry.test",
            "/vhost-policy",
        )
        .failing(2, 502),
        case("no retry policy", "main.test", "/exact").failing(1, 503),
        case("retry on reset", "retry.test", "/reset")
            .failing(0, 200)
            .header("x-misbehave", "close"),
        case("retry on connect-failure", "retry.test", "/connect-failure"),
        case("retry of a POST with a body", "retry.test", "/5xx")
            .post("the body")
            .failing(1, 503),
        case("client's x-envoy-retry-on", "main.test", "/exact")
            .header("x-envoy-retry-on", "5xx")
            .failing(1, 503),
        case(
            "client's x-envoy-retry-on, XFF 10.0.0.1",
            "main.test",
            "/exact",
        )
        .header("x-forwarded-for", "10.0.0.1")
        .header("x-envoy-retry-on", "5xx")
        .failing(1, 503),
        case(
            "client's x-envoy-retry-on, XFF 127.0.0.1",
            "main.test",
            "/exact",
        )
        .header("x-forwarded-for", "127.0.0.1")
        .header("x-envoy-retry-on", "5xx")
        .failing(1, 503),
        case(
            "client's x-envoy-upstream-rq-timeout-ms",
            "main.test",
            "/timeout/none",
        )
        .header("x-envoy-upstream-rq-timeout-ms", "200")
        .delay(800),
        // Redirects.
        case("https_redirect", "redirect.test", "/https/x?y=z"),
        case(
            "https_redirect keeping the host",
            "redirect.test",
            "/keep-host/x?y=z",
        ),
        case(
            "https_redirect drops port 80",
            "redirect.test:80",
            "/keep-host",
        ),
        case(
            "https_redirect keeps another port",
            "redirect.test:8080",
            "/keep-host",
        ),
        case(
            "redirect keeping the scheme",
            "redirect.test",
            "/keep-scheme?q",
        ),
        case(
            "redirect keeping scheme and host",
            "redirect.test:8080",
            "/keep-both?q=1",
        ),
        case(
            "redirect to the same scheme keeps port 80",
            "redirect.test:80",
            "/to-http",
        ),
        case(
            "path_redirect keeps the query",
            "redirect.test",
            "/path-keeps-query?x=1&y",
        ),
        case("strip_query alone", "redirect.test", "/strip-only/a?x=1"),
        case("path_redirect strip_query", "redirect.test", "/moved?a=1"),
        case(
            "redirect FOUND keeps path and query",
            "redirect.test",
            "/found/p?q=1",
        ),
        case("redirect SEE_OTHER", "redirect.test", "/see-other"),
        case("redirect TEMPORARY_REDIRECT", "redirect.test", "/temporary"),
        case("redirect PERMANENT_REDIRECT", "redirect.test", "/permanent"),
        case(
            "path_redirect with its own query",
            "redirect.test",
            "/query-own?req=1",
        ),
        case(
            "path_redirect with its own query, strip_query",
            "redirect.test",
            "/query-strip?req=1",
        ),
        // Direct responses.
        case("direct 200 with body", "main.test", "/direct/ok").body(),
        case("direct 403", "main.test", "/direct/forbidden").body(),
        case("direct 204 without body", "main.test", "/direct/empty").body(),
        case("direct 503", "main.test", "/direct/unavailable").body(),
        case("direct in the redirect host", "redirect.test", "/direct").body(),
    ]
}

/// Envoy's status for the cases not answered 200: the matrix is checked against Envoy
/// itself too, so a bootstrap both proxies misread alike cannot pass unnoticed.
const NOT_200: &[(&str, u16)] = &[
    ("domain exact with a port", 404),
    ("domain configured with a port, none sent", 404),
    ("no route in the catch-all host", 404),
    ("path exact is not a prefix", 404),
    ("path prefix needs its slash", 404),
    ("path prefix, percent-encoded", 404),
    ("path exact with a trailing slash", 404),
    ("path_separated_prefix not a longer segment", 404),
    ("safe_regex not a partial match", 404),
    ("case-sensitive path, other case", 404),
    ("no route", 404),
    ("unknown cluster", 503),
    ("cluster with no listening host", 503),
    ("upstream closes without answering", 503),
    ("upstream answers garbage", 502),
    ("route timeout fires", 504),
    ("retry 5xx exhausted", 503),
    ("retry gateway-error not on 500", 500),
    ("retriable status, not 503", 503),
    ("per-try timeouts use up the retries", 504),
    ("virtual host retry policy exhausted", 502),
    ("no retry policy", 503),
    ("retry on reset", 503),
    ("retry on connect-failure", 503),
    ("client's x-envoy-retry-on", 503),
    ("client's x-envoy-retry-on, XFF 10.0.0.1", 503),
    ("client's x-envoy-retry-on, XFF 127.0.0.1", 503),
    ("https_redirect", 301),
    ("https_redirect keeping the host", 301),
    ("https_redirect drops port 80", 301),
    ("https_redirect keeps another port", 301),
    ("redirect keeping the scheme", 301),
    ("redirect keeping scheme and host", 302),
    ("redirect to the same scheme keeps port 80", 301),
    ("path_redirect keeps the query", 301),
    ("strip_query alone", 307),
    ("path_redirect strip_query", 301),
    ("redirect FOUND keeps path and query", 302),
    ("redirect SEE_OTHER", 303),
    ("redirect TEMPORARY_REDIRECT", 307),
    ("redirect PERMANENT_REDIRECT", 308),
    ("path_redirect with its own query", 301),
    ("path_redirect with its own query, strip_query", 301),
    ("direct 403", 403),
    ("direct 204 without body", 204),
    ("direct 503", 503),
];

/// The status Envoy gives case `name`.
fn expected_status(name: &str) -> u16 {
    NOT_200
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(200, |&(_, s)| s)
}

fn table(rows: &[(String, Outcome, Outcome)]) -> String {
    let mut t = String::new();
    for (name, e, m) in rows {
        let mark = if e == m { "  " } else { "XX" };
        let _ = writeln!(t, "{mark} {name}");
        let _ = writeln!(t, "     envoy: {e:?}");
        if e != m {
            let _ = writeln!(t, "     mosn:  {m:?}");
        }
    }
    t
}

struct Setup {
    backends: Vec<Backend>,
    _envoy: Envoy,
    mosn: Mosn,
    envoy_addr: SocketAddr,
    mosn_addr: SocketAddr,
}

fn setup() -> Setup {
    let backends: Vec<Backend> = ["alpha", "beta", "gamma"]
        .iter()
        .map(|n| Backend::start(n))
        .collect();
    let dead = free_port();
    let mut clusters: Vec<Value> = backends
        .iter()
        .map(|b| static_cluster(&b.name, b.port))
        .collect();
    clusters.push(static_cluster("dead", dead));
    let (envoy_port, mosn_port) = (free_port(), free_port());
    let envoy = envoy(
        &bootstrap(envoy_port, route_config(), &clusters),
        &[envoy_port],
    );
    let config = bootstrap(mosn_port, route_config(), &clusters);
    let mut mosn = Mosn::spawn_file(
        "bootstrap.json",
        &serde_json::to_vec_pretty(&config).unwrap(),
        vec![local(mosn_port)],
        None,
    );
    mosn.wait_ready(true);
    Setup {
        backends,
        _envoy: envoy,
        mosn,
        envoy_addr: local(envoy_port),
        mosn_addr: local(mosn_port),
    }
}

#[test]
fn the_same_route_configuration_routes_the_same_in_envoy_and_mosn() {
    run_matrix(Via::Http1);
}

/// The same matrix from an HTTP/2 client: mosn routes, edits, retries and answers on
/// another path than HTTP/1's.
#[test]
fn the_same_route_configuration_routes_the_same_over_http2() {
    run_matrix(Via::Http2);
}

fn run_matrix(client: Via) {
    let s = setup();
    let cases = matrix();
    assert!(cases.len() >= 40);
    let mut rows = Vec::new();
    for c in &cases {
        let e = run_case(c, s.envoy_addr, "envoy", &s.backends, client);
        let m = run_case(c, s.mosn_addr, "mosn", &s.backends, client);
        rows.push((c.name.clone(), e, m));
    }
    if std::env::var_os("ROUTING_DIFF_TABLE").is_some() {
        println!("{client:?}:\n{}", table(&rows));
    }
    let differ = rows.iter().filter(|(_, e, m)| e != m).count();
    // Envoy's own answers must be what the cases are about (no case degenerates into
    // "both failed the same way").
    for (n, _) in NOT_200 {
        assert!(cases.iter().any(|c| c.name == *n), "no case named {n:?}");
    }
    let unexpected: Vec<String> = rows
        .iter()
        .filter(|(n, e, _)| e.status != expected_status(n))
        .map(|(n, e, _)| format!("{n}: {} (expected {})", e.status, expected_status(n)))
        .collect();
    assert!(
        unexpected.is_empty(),
        "{client:?}: Envoy answered otherwise than the matrix expects: {unexpected:#?}\n{}",
        table(&rows)
    );
    assert_eq!(
        differ,
        0,
        "{client:?}: {differ} of {} cases differ between Envoy and mosn:\n{}\nmosn log:\n{}",
        rows.len(),
        table(&rows),
        s.mosn.log()
    );
}

// ---------------------------------------------------------------------------------------
// Weighted clusters

/// A 50/50 split: over enough requests both proxies send to both clusters, each in a
/// share no further from half than chance allows.
#[test]
fn a_weighted_split_spreads_alike_in_envoy_and_mosn() {
    const N: usize = 200;
    let s = setup();
    let mut shares = Vec::new();
    for (tag, addr) in [("envoy", s.envoy_addr), ("mosn", s.mosn_addr)] {
        let mut client = Client::connect(addr);
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for _ in 0..N {
            let resp = client.get("/w/split", "main.test");
            assert_eq!(resp.status, 200, "{tag}: {}", resp.text());
            let who = resp.header("x-backend").unwrap_or("none").to_owned();
            *counts.entry(who).or_default() += 1;
        }
        shares.push((tag, counts));
    }
    for (tag, counts) in &shares {
        let keys: Vec<&String> = counts.keys().collect();
        assert_eq!(keys, ["alpha", "beta"], "{tag} sent to: {shares:?}");
        // Binomial(200, 0.5): 100 ± 30 is beyond 4 standard deviations.
        for n in counts.values() {
            assert!((70..=130).contains(n), "{tag}: {shares:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// What mosn refuses

/// A route configuration whose one virtual host has `route` (and `vhost_extra` keys).
fn one_route(route: Value, vhost_extra: Value) -> Value {
    let mut vhost = json!({ "name": "v", "domains": ["*"], "routes": [ route ] });
    for (k, v) in vhost_extra.as_object().into_iter().flatten() {
        vhost[k] = v.clone();
    }
    json!({ "name": "refused", "virtual_hosts": [ vhost ] })
}

/// Route features Envoy accepts and mosn refuses, each with what mosn's refusal must
/// name. Envoy must accept every one (`--mode validate`), so none of them is refused
/// for being invalid in the first place.
fn refusals() -> Vec<(&'static str, Value, &'static str)> {
    let fwd = |extra: Value| {
        let mut r = json!({ "cluster": "alpha" });
        for (k, v) in extra.as_object().into_iter().flatten() {
            r[k] = v.clone();
        }
        one_route(json!({ "match": { "prefix": "/" }, "route": r }), json!({}))
    };
    let matching = |m: Value| {
        let mut mm = json!({ "prefix": "/" });
        for (k, v) in m.as_object().into_iter().flatten() {
            mm[k] = v.clone();
        }
        one_route(json!({ "match": mm, "route": to("alpha") }), json!({}))
    };
    let redirecting = |r: Value| {
        one_route(
            json!({ "match": { "prefix": "/" }, "redirect": r }),
            json!({}),
        )
    };
    vec![
        (
            "mirror",
            fwd(json!({ "request_mirror_policies": [{ "cluster": "beta" }] })),
            "request_mirror_policies",
        ),
        (
            "redirect with regex_rewrite",
            redirecting(
                json!({ "regex_rewrite": { "pattern": { "regex": "a" }, "substitution": "b" } }),
            ),
            "regex_rewrite",
        ),
        (
            "cluster_header",
            one_route(
                json!({ "match": { "prefix": "/" }, "route": { "cluster_header": "x-cluster" } }),
                json!({}),
            ),
            "cluster_header",
        ),
        (
            "auto_host_rewrite",
            fwd(json!({ "auto_host_rewrite": true })),
            "auto_host_rewrite",
        ),
        (
            "hash on a query parameter",
            fwd(json!({ "hash_policy": [{ "query_parameter": { "name": "u" } }] })),
            "query_parameter",
        ),
        (
            "retry on retriable-headers",
            fwd(json!({ "retry_policy": { "retry_on": "retriable-headers",
            "retriable_headers": [{ "name": "x-retry" }] } })),
            "retry_on",
        ),
        (
            "weighted cluster's own header edits",
            one_route(
                json!({ "match": { "prefix": "/" }, "route": { "weighted_clusters": { "clusters": [
            { "name": "alpha", "weight": 1, "request_headers_to_add": [ header("x-w", "1") ] } ] } } }),
                json!({}),
            ),
            "request_headers_to_add",
        ),
        (
            "method match",
            matching(
                json!({ "headers": [{ "name": ":method", "string_match": { "exact": "GET" } }] }),
            ),
            ":method",
        ),
        (
            "redirect with prefix_rewrite",
            redirecting(
                json!({ "scheme_redirect": "http", "host_redirect": "a.test", "prefix_rewrite": "/x" }),
            ),
            "prefix_rewrite",
        ),
        (
            "a direct response's own response edits",
            one_route(
                json!({ "match": { "prefix": "/" }, "direct_response": { "status": 200 },
                    "response_headers_to_add": [ header("x-r", "1") ] }),
                json!({}),
            ),
            "response header edits",
        ),
        (
            "per-filter config",
            one_route(
                json!({ "match": { "prefix": "/" }, "route": to("alpha"),
            "typed_per_filter_config": { "envoy.filters.http.fault": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault" } } }),
                json!({}),
            ),
            "typed_per_filter_config",
        ),
    ]
}

/// Runs `program args...` bounded: (exit code, stdout and stderr together).
fn run(program: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = run_bounded(Command::new(program).args(args), Duration::from_secs(60));
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn route_features_mosn_refuses_are_named_while_envoy_accepts_them() {
    let dir = TempDir::new("refusals");
    let clusters = [static_cluster("alpha", 9), static_cluster("beta", 9)];
    let cases = refusals();
    let checks: Vec<_> = cases
        .into_iter()
        .enumerate()
        .map(|(i, (name, routes, field))| {
            let path = dir.write(
                &format!("refused-{i}.json"),
                serde_json::to_vec_pretty(&bootstrap(free_port(), routes, &clusters)).unwrap(),
            );
            thread::spawn(move || {
                let file = path.to_str().unwrap().to_owned();
                let envoy = run(
                    &tool("envoy"),
                    &["--mode", "validate", "-c", &file, "-l", "error"],
                );
                let mosn = run(std::path::Path::new(MOSN), &["validate", "-c", &file]);
                (name, field, envoy, mosn)
            })
        })
        .collect();
    let mut wrong = String::new();
    for check in checks {
        let (name, field, envoy, mosn) = check.join().expect("a refusal check");
        if envoy.0 != 0 {
            let _ = writeln!(
                wrong,
                "{name}: Envoy refuses it too ({}): {}",
                envoy.0, envoy.1
            );
        }
        if mosn.0 == 0 || !mosn.1.contains(field) {
            let _ = writeln!(
                wrong,
                "{name}: mosn should refuse naming {field:?}, exit {}: {}",
                mosn.0, mosn.1
            );
        }
    }
    assert!(wrong.is_empty(), "{wrong}");
}
