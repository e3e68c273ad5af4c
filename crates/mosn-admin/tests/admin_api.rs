//! The admin API over real sockets, with a hand-written HTTP/1.1 client.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use mosn_admin::logging;
use mosn_admin::{spawn, AdminHandle, AdminState, EnvoyAdmin, ServerState};
use mosn_api::stats::StatsRegistry;
use mosn_config::LogLevel;
use serde_json::{json, Value};

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

fn raw(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

fn call(addr: SocketAddr, method: &str, target: &str, body: Option<&str>) -> Reply {
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n");
    if let Some(body) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    raw(addr, req.as_bytes())
}

fn get(addr: SocketAddr, target: &str) -> Reply {
    call(addr, "GET", target, None)
}

fn post(addr: SocketAddr, target: &str, body: &str) -> Reply {
    call(addr, "POST", target, Some(body))
}

fn sample_config() -> Value {
    json!({
        "servers": [{
            "default_log_path": "stdout",
            "default_log_level": "INFO",
            "listeners": [
                {"name": "egress", "address": "127.0.0.1:2045", "bind_port": true},
                {"Name": "ingress", "address": "127.0.0.1:2046", "bind_port": true}
            ],
            "routers": [
                {"router_config_name": "egress_router", "virtual_hosts": [{"name": "vh", "domains": ["*"]}]}
            ]
        }],
        "cluster_manager": {
            "tls_context": {"status": false},
            "clusters": [
                {"name": "backend", "lb_type": "LB_RANDOM", "hosts": [{"address": "127.0.0.1:8080"}]},
                {"Name": "other", "hosts": []}
            ]
        },
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 34901}}}
    })
}

struct Fixture {
    admin: AdminHandle,
    addr: SocketAddr,
    stats: Arc<StatsRegistry>,
    config: Arc<ArcSwap<Value>>,
    log: logging::LogHandle,
    // Keeps the (never installed) subscriber alive so level changes have a target.
    _dispatch: tracing::Dispatch,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixture(name: &str) -> Fixture {
    let dir = std::env::temp_dir().join(format!("mosn-admin-api-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let log_path = dir.join("mosn.log").to_string_lossy().into_owned();
    let (log, dispatch) = logging::build(Some(&log_path), LogLevel::Info).unwrap();

    let stats = Arc::new(StatsRegistry::default());
    let l = stats.listener("egress");
    l.downstream_cx_total.add(3);
    l.downstream_rq_total.add(7);
    l.count_response(200);
    let l2 = stats.listener("ingress");
    l2.downstream_cx_total.add(2);
    l2.downstream_rq_total.inc();
    let c = stats.cluster("backend");
    c.upstream_rq_total.add(5);
    c.upstream_cx_connect_fail.inc();

    let config = Arc::new(ArcSwap::from_pointee(sample_config()));
    let admin = spawn(
        "127.0.0.1:0".parse().unwrap(),
        AdminState {
            stats: stats.clone(),
            config_json: config.clone(),
            versions: None,
            envoy: None,
            reload: None,
            log: Some(log.clone()),
            version: "1.5.0-test",
            hosts: Some(Arc::new(|| {
                json!({
                    "backend": {"127.0.0.1:8080": {"rq_total": 4, "healthy": true}},
                    "fresh": {"127.0.0.1:9090": {"rq_total": 0, "healthy": false}}
                })
            })),
        },
    )
    .unwrap();
    let addr = admin.local_addr;
    assert_ne!(addr.port(), 0);
    Fixture {
        admin,
        addr,
        stats,
        config,
        log,
        _dispatch: dispatch,
        _dir: TempDir(dir),
    }
}

#[test]
fn version_is_mosns_text() {
    let f = fixture("version");
    let r = get(f.addr, "/api/v1/version");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "mosn version: 1.5.0-test");
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    f.admin.shutdown();
}

#[test]
fn help_lists_the_apis() {
    let f = fixture("help");
    let r = get(f.addr, "/");
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with("supported APIs:\n"), "{}", r.body);
    for path in [
        "/api/v1/version",
        "/api/v1/config_dump",
        "/api/v1/stats",
        "/api/v1/get_loglevel",
        "/api/v1/update_loglevel",
        "/api/v1/states",
    ] {
        assert!(
            r.body.lines().any(|l| l == path),
            "{path} missing: {}",
            r.body
        );
    }
    f.admin.shutdown();
}

#[test]
fn config_dump_whole_and_selections() {
    let f = fixture("config");
    let r = get(f.addr, "/api/v1/config_dump");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), sample_config());

    let r = get(f.addr, "/api/v1/config_dump?alllisteners");
    assert_eq!(r.status, 200);
    let all = r.json();
    assert_eq!(all.as_object().unwrap().len(), 2);
    assert_eq!(all["egress"]["address"], "127.0.0.1:2045");
    assert_eq!(all["ingress"]["address"], "127.0.0.1:2046");

    let r = get(f.addr, "/api/v1/config_dump?listener=ingress");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["Name"], "ingress");

    let r = get(f.addr, "/api/v1/config_dump?allclusters");
    assert_eq!(r.status, 200);
    let all = r.json();
    assert_eq!(all.as_object().unwrap().len(), 2);
    assert_eq!(all["backend"]["lb_type"], "LB_RANDOM");

    let r = get(f.addr, "/api/v1/config_dump?cluster=backend");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["hosts"][0]["address"], "127.0.0.1:8080");

    let r = get(f.addr, "/api/v1/config_dump?allrouters");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["egress_router"]["virtual_hosts"][0]["name"], "vh");

    let r = get(f.addr, "/api/v1/config_dump?router=egress_router");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["router_config_name"], "egress_router");

    let r = get(f.addr, "/api/v1/config_dump?mosnconfig");
    assert_eq!(r.status, 200);
    let m = r.json();
    assert_eq!(m["servers"][0]["default_log_level"], "INFO");
    assert!(m["servers"][0].get("listeners").is_none());
    assert!(m["servers"][0].get("routers").is_none());
    assert_eq!(
        m["cluster_manager"],
        json!({"tls_context": {"status": false}})
    );
    assert_eq!(m["admin"], sample_config()["admin"]);

    // Errors are one line.
    for (target, status) in [
        ("/api/v1/config_dump?cluster=nope", 404),
        ("/api/v1/config_dump?listener=nope", 404),
        ("/api/v1/config_dump?router=nope", 404),
        ("/api/v1/config_dump?cluster=", 400),
        ("/api/v1/config_dump?allclusters&alllisteners", 400),
        ("/api/v1/config_dump?bogus", 400),
    ] {
        let r = get(f.addr, target);
        assert_eq!(r.status, status, "{target}: {}", r.body);
        assert!(!r.body.is_empty(), "{target}");
        assert!(
            r.body.trim_end().lines().count() == 1,
            "{target}: {}",
            r.body
        );
    }
    let r = get(f.addr, "/api/v1/config_dump?allclusters&alllisteners");
    assert_eq!(r.body, "only support one parameter");

    // A reload swaps what is dumped.
    f.config.store(Arc::new(json!({"servers": []})));
    let r = get(f.addr, "/api/v1/config_dump");
    assert_eq!(r.json(), json!({"servers": []}));
    let r = get(f.addr, "/api/v1/config_dump?allclusters");
    assert_eq!(r.json(), json!({}));
    f.admin.shutdown();
}

#[test]
fn stats_dump_and_filters() {
    let f = fixture("stats");
    let r = get(f.addr, "/api/v1/stats");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let s = r.json();
    assert_eq!(s["listener"]["egress"]["downstream_cx_total"], 3);
    assert_eq!(s["listener"]["egress"]["downstream_rq_2xx"], 1);
    assert_eq!(s["cluster"]["backend"]["upstream_rq_total"], 5);
    assert_eq!(s["cluster"]["backend"]["upstream_cx_connect_fail"], 1);

    // Counters are read live.
    f.stats.cluster("backend").upstream_rq_total.inc();
    let s = get(f.addr, "/api/v1/stats").json();
    assert_eq!(s["cluster"]["backend"]["upstream_rq_total"], 6);

    let r = get(f.addr, "/api/v1/stats?key=cluster.backend");
    assert_eq!(r.status, 200);
    let s = r.json();
    assert_eq!(s.as_object().unwrap().len(), 1);
    assert_eq!(s["cluster"]["backend"]["upstream_rq_total"], 6);
    assert_eq!(
        s["cluster"]["backend"]["hosts"]["127.0.0.1:8080"]["rq_total"],
        4
    );

    // Per-host stats sit under each cluster; a cluster the registry does not know yet
    // still shows its hosts.
    let s = get(f.addr, "/api/v1/stats").json();
    assert_eq!(
        s["cluster"]["backend"]["hosts"]["127.0.0.1:8080"]["healthy"],
        true
    );
    assert_eq!(
        s["cluster"]["fresh"]["hosts"]["127.0.0.1:9090"]["healthy"],
        false
    );
    assert_eq!(s["cluster"]["backend"]["upstream_cx_connect_fail"], 1);
    let r = get(f.addr, "/api/v1/stats?key=cluster.fresh");
    assert_eq!(
        r.json()["cluster"]["fresh"]["hosts"]["127.0.0.1:9090"]["rq_total"],
        0
    );

    let r = get(f.addr, "/api/v1/stats?key=cluster.nope");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "no metrics key: cluster.nope");

    let r = get(f.addr, "/api/v1/stats?key=a&other=b");
    assert_eq!(r.status, 400);

    let r = get(f.addr, "/api/v1/stats_glob");
    assert_eq!(r.status, 200);
    let lines: Vec<&str> = r.body.lines().collect();
    assert!(lines.contains(&"downstream_cx_total:5"), "{}", r.body);
    assert!(lines.contains(&"downstream_rq_total:8"), "{}", r.body);
    assert!(lines.contains(&"downstream_rq_5xx:0"), "{}", r.body);
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
    f.admin.shutdown();
}

#[test]
fn log_level_can_be_read_and_changed() {
    let f = fixture("loglevel");
    let path = f.log.path().to_string();

    let r = get(f.addr, "/api/v1/get_loglevel");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), json!({ path.clone(): "INFO" }));

    let body = json!({"log_path": path, "log_level": "DEBUG"}).to_string();
    let r = post(f.addr, "/api/v1/update_loglevel", &body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, "update logger success\n");
    assert_eq!(f.log.level(), LogLevel::Debug);
    assert_eq!(
        get(f.addr, "/api/v1/get_loglevel").json(),
        json!({ path.clone(): "DEBUG" })
    );

    // MOSN's FATAL maps to our most severe level.
    let body = json!({"log_path": path, "log_level": "FATAL"}).to_string();
    assert_eq!(post(f.addr, "/api/v1/update_loglevel", &body).status, 200);
    assert_eq!(
        get(f.addr, "/api/v1/get_loglevel").json(),
        json!({ path.clone(): "ERROR" })
    );

    // Bad requests leave the level alone and say why, on one line, in MOSN's error shape.
    for body in [
        json!({"log_path": path, "log_level": "LOUD"}).to_string(),
        json!({"log_path": "/not/our/logger.log", "log_level": "INFO"}).to_string(),
        json!({"log_path": path}).to_string(),
        json!({"log_path": path, "log_level": 3}).to_string(),
        "not json".to_string(),
        "[]".to_string(),
        String::new(),
    ] {
        let r = post(f.addr, "/api/v1/update_loglevel", &body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        let err = r.json();
        assert!(
            err["error"]
                .as_str()
                .unwrap()
                .starts_with("update logger failed"),
            "{err}"
        );
        assert_eq!(r.body.trim_end().lines().count(), 1);
    }
    let r = post(
        f.addr,
        "/api/v1/update_loglevel",
        &json!({"log_path": path, "log_level": "LOUD"}).to_string(),
    );
    assert!(r.json()["error"].as_str().unwrap().contains("LOUD"));
    assert_eq!(f.log.level(), LogLevel::Error);
    f.admin.shutdown();
}

#[test]
fn logger_can_be_disabled_and_enabled() {
    let f = fixture("toggle");
    let path = f.log.path().to_string();
    let r = post(f.addr, "/api/v1/disable_log", &path);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, "disable logger success\n");
    assert!(!f.log.is_enabled());
    // The level is still reported while disabled, as MOSN does.
    assert_eq!(
        get(f.addr, "/api/v1/get_loglevel").json(),
        json!({ path.clone(): "INFO" })
    );
    let r = post(f.addr, "/api/v1/enable_log", &path);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "enable logger success\n");
    assert!(f.log.is_enabled());

    let r = post(f.addr, "/api/v1/disable_log", "/some/other.log");
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), json!({"error": "disable logger failed"}));
    assert!(f.log.is_enabled());
    f.admin.shutdown();
}

#[test]
fn without_a_logger_nothing_is_reported_or_changed() {
    let admin = spawn(
        "127.0.0.1:0".parse().unwrap(),
        AdminState {
            stats: Arc::new(StatsRegistry::default()),
            config_json: Arc::new(ArcSwap::from_pointee(json!({}))),
            versions: None,
            envoy: None,
            reload: None,
            log: None,
            version: "x",
            hosts: None,
        },
    )
    .unwrap();
    let addr = admin.local_addr;
    assert_eq!(get(addr, "/api/v1/get_loglevel").json(), json!({}));
    let r = post(
        addr,
        "/api/v1/update_loglevel",
        r#"{"log_path": "stdout", "log_level": "DEBUG"}"#,
    );
    assert_eq!(r.status, 400);
    let s = get(addr, "/api/v1/stats").json();
    let no_updates = json!({"update_attempt": 0, "update_success": 0, "update_rejected": 0,
        "resources_applied": 0, "resources_rejected": 0});
    assert_eq!(
        s,
        json!({"listener": {}, "cluster": {}, "config": no_updates})
    );
    // No configuration source: nothing to reload.
    assert_eq!(post(addr, "/api/v1/reload", "").status, 404);
    admin.shutdown();
}

#[test]
fn reload_answers_what_the_source_reports_and_the_dump_shows_versions() {
    let outcome = Arc::new(std::sync::Mutex::new(true));
    let said = outcome.clone();
    let admin = spawn(
        "127.0.0.1:0".parse().unwrap(),
        AdminState {
            stats: Arc::new(StatsRegistry::default()),
            config_json: Arc::new(ArcSwap::from_pointee(json!({"servers": []}))),
            versions: Some(Arc::new(|| json!({"clusters": {"c": {"version": "3"}}}))),
            envoy: None,
            reload: Some(Arc::new(move || {
                let ok = *said.lock().unwrap();
                (ok, json!({"ok": ok}))
            })),
            log: None,
            version: "x",
            hosts: None,
        },
    )
    .unwrap();
    let addr = admin.local_addr;
    let r = post(addr, "/api/v1/reload", "");
    assert_eq!((r.status, r.json()), (200, json!({"ok": true})));
    *outcome.lock().unwrap() = false;
    let r = post(addr, "/api/v1/reload", "");
    assert_eq!((r.status, r.json()), (400, json!({"ok": false})));
    assert_eq!(get(addr, "/api/v1/reload").status, 405);
    assert_eq!(
        get(addr, "/api/v1/config_dump").json(),
        json!({"servers": [], "resource_versions": {"clusters": {"c": {"version": "3"}}}})
    );
    admin.shutdown();
}

#[test]
fn states_reports_running() {
    let f = fixture("states");
    let r = get(f.addr, "/api/v1/states");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, format!("pid={}&state=6\n", std::process::id()));
    f.admin.shutdown();
}

#[test]
fn unknown_paths_and_wrong_methods() {
    let f = fixture("errors");
    for target in [
        "/nope",
        "/api/v1",
        "/api/v1/stats/",
        "/api/v1/versionx",
        "/stats",
        "/ready",
        "/quitquitquit",
    ] {
        let r = get(f.addr, target);
        assert_eq!(r.status, 404, "{target}");
        assert_eq!(r.body, "404 page not found\n");
    }
    for (method, target) in [
        ("POST", "/api/v1/stats"),
        ("PUT", "/api/v1/config_dump"),
        ("DELETE", "/api/v1/version"),
        ("POST", "/api/v1/get_loglevel"),
        ("GET", "/api/v1/update_loglevel"),
        ("GET", "/api/v1/enable_log"),
        ("HEAD", "/api/v1/states"),
    ] {
        let r = call(f.addr, method, target, (method != "HEAD").then_some(""));
        assert_eq!(r.status, 405, "{method} {target}");
        let allowed = if target.contains("log") && !target.contains("get_") {
            "POST"
        } else {
            "GET"
        };
        assert_eq!(r.header("allow"), Some(allowed), "{method} {target}");
    }
    f.admin.shutdown();
}

#[test]
fn oversized_bodies_are_refused() {
    let f = fixture("big");
    let big = "x".repeat(mosn_admin::server::MAX_BODY_BYTES + 1);
    let r = post(f.addr, "/api/v1/update_loglevel", &big);
    assert_eq!(r.status, 413);

    // Also without a Content-Length: a chunked body that grows past the cap.
    let mut req = String::from(
        "POST /api/v1/update_loglevel HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    for _ in 0..3 {
        req.push_str(&format!("{:x}\r\n{}\r\n", 32 * 1024, "y".repeat(32 * 1024)));
    }
    req.push_str("0\r\n\r\n");
    let r = raw(f.addr, req.as_bytes());
    assert_eq!(r.status, 413);
    assert_eq!(f.log.level(), LogLevel::Info);
    f.admin.shutdown();
}

#[test]
fn keep_alive_serves_several_requests() {
    let f = fixture("keepalive");
    let mut stream = TcpStream::connect(f.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /api/v1/version HTTP/1.1\r\nHost: a\r\n\r\nGET /api/v1/states HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
    assert!(text.contains("mosn version: 1.5.0-test"));
    assert!(text.contains("&state=6"));
    f.admin.shutdown();
}

#[test]
fn a_stalled_or_broken_client_does_not_block_others() {
    let f = fixture("stalled");
    // Half a request head, left hanging.
    let mut stalled = TcpStream::connect(f.addr).unwrap();
    stalled.write_all(b"GET /api/v1/ver").unwrap();
    // Garbage.
    let mut garbage = TcpStream::connect(f.addr).unwrap();
    garbage.write_all(b"\x00\x01\x02 not http\r\n\r\n").unwrap();
    let mut sink = Vec::new();
    garbage
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = garbage.read_to_end(&mut sink);

    let r = get(f.addr, "/api/v1/version");
    assert_eq!(r.status, 200);
    drop(stalled);
    f.admin.shutdown();
}

#[test]
fn shutdown_is_prompt_even_with_open_connections() {
    let f = fixture("shutdown");
    let addr = f.addr;
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.write_all(b"GET /api/v1/version HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");

    let start = Instant::now();
    f.admin.shutdown();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );

    // The kept-alive connection is closed and nothing listens any more.
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest);
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}

#[test]
fn bind_errors_are_reported_synchronously() {
    let f = fixture("bind");
    let err = spawn(
        f.addr,
        AdminState {
            stats: f.stats.clone(),
            config_json: f.config.clone(),
            versions: None,
            envoy: None,
            reload: None,
            log: None,
            version: "x",
            hosts: None,
        },
    )
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    f.admin.shutdown();
}

/// An Envoy admin API whose `quit` raises the returned flag.
fn envoy_admin() -> (EnvoyAdmin, Arc<std::sync::atomic::AtomicBool>) {
    let quit = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let raised = quit.clone();
    let envoy = EnvoyAdmin {
        config_dump: Arc::new(|_| json!({"configs": []})),
        extra_stats: Arc::new(Vec::new),
        state: Arc::new(|| ServerState::Live),
        started: Instant::now(),
        concurrency: 1,
        command_line_options: json!({}),
        node: json!({"id": "n"}),
        quit: Arc::new(move || raised.store(true, std::sync::atomic::Ordering::SeqCst)),
        drain_listeners: Arc::new(|_| {}),
        listeners: Arc::new(Vec::new),
        health_check_failed: Arc::default(),
    };
    (envoy, quit)
}

#[test]
fn envoy_paths_are_served_beside_mosns_and_guard_their_posts() {
    let (envoy, quit) = envoy_admin();
    let admin = spawn(
        "127.0.0.1:0".parse().unwrap(),
        AdminState {
            stats: Arc::new(StatsRegistry::default()),
            config_json: Arc::new(ArcSwap::from_pointee(json!({}))),
            versions: None,
            envoy: Some(envoy),
            reload: None,
            log: None,
            version: "x",
            hosts: None,
        },
    )
    .unwrap();
    let addr = admin.local_addr;
    assert_eq!(get(addr, "/api/v1/version").body, "mosn version: x");
    let r = get(addr, "/ready");
    assert_eq!((r.status, r.body.as_str()), (200, "LIVE\n"));
    let r = get(addr, "/config_dump");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), json!({"configs": []}));
    assert!(get(addr, "/stats").body.contains("server.live: 1\n"));
    assert_eq!(get(addr, "/help").status, 404);

    let r = get(addr, "/quitquitquit");
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
    let r = raw(
        addr,
        b"POST /quitquitquit HTTP/1.1\r\nHost: a\r\nConnection: close\r\nOrigin: http://evil\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(r.status, 403);
    let r = raw(
        addr,
        b"POST /quitquitquit HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi",
    );
    assert_eq!(r.status, 403);
    assert!(!quit.load(std::sync::atomic::Ordering::SeqCst));

    // As `curl -XPOST`: no content type, no body.
    let r = call(addr, "POST", "/quitquitquit", None);
    assert_eq!((r.status, r.body.as_str()), (200, "OK\n"));
    assert!(quit.load(std::sync::atomic::Ordering::SeqCst));
    admin.shutdown();
}
