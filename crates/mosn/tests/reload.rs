//! Live configuration end to end: `mosn reload -c FILE` (and `POST /api/v1/reload`) re-read
//! the file and apply only the differences while real clients (wrk, curl) and real
//! upstreams (nginx) keep talking through the proxy. Run under both I/O models by
//! `scripts/test.sh`.

mod support;

use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;

/// nginx answering `name` on `/` and serving `/slow.bin` (16 KiB at 8 KiB/s: ~2 s).
fn upstream(name: &str, port: u16) -> Nginx {
    Nginx::start(&[(
        port,
        format!(
            "location = /health {{ return 200 \"ok\\n\"; }}\n        \
             location = /slow.bin {{ limit_rate 8k; try_files /large.bin =404; }}\n        \
             location / {{ return 200 \"{name}\\n\"; }}"
        ),
    )])
}

/// A listener `name` on `port` whose `proxy` routes with `router`.
fn listener(name: &str, port: u16, router: &str) -> Value {
    json!({
        "name": name,
        "address": format!("127.0.0.1:{port}"),
        "bind_port": true,
        "filter_chains": [{ "filters": [{ "type": "proxy", "config": {
            "downstream_protocol": "Http1",
            "upstream_protocol": "Http1",
            "router_config_name": router
        }}]}]
    })
}

/// A route table `name` sending everything to `cluster`.
fn router(name: &str, cluster: &str) -> Value {
    json!({ "router_config_name": name, "virtual_hosts": forward_all(cluster) })
}

/// A whole config: `listeners`, `routers` and `clusters` in one server, admin on `admin`.
fn config(admin: u16, listeners: Value, routers: Value, clusters: Value) -> Value {
    let mut config = json!({
        "servers": [{
            "default_log_path": "stdout",
            "default_log_level": "INFO",
            "graceful_timeout": "10s",
            "listeners": listeners,
            "routers": routers
        }],
        "cluster_manager": { "clusters": clusters }
    });
    set_admin(&mut config, admin);
    config
}

/// The body of one GET on `port`, which must answer 200.
fn get(port: u16) -> String {
    let r = curl(&[&format!("http://127.0.0.1:{port}/")]);
    assert_eq!(r.status, 200, "curl: exit {} {}", r.exit, r.stderr);
    r.text()
}

/// Runs `mosn reload` and asserts it applied everything.
fn reload_ok(mosn: &Mosn, config: &Value) -> Value {
    let out = mosn.reload(config);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "mosn reload failed: {stdout}{}\nmosn log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        mosn.log()
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("reload report ({e}): {stdout}"))
}

#[test]
fn a_reload_under_load_adds_removes_repoints_and_loses_nothing() {
    let (pa, pb, pc, admin) = (free_port(), free_port(), free_port(), free_port());
    let (u1, u2, u3, u4) = (free_port(), free_port(), free_port(), free_port());
    let _n1 = upstream("u1", u1);
    let _n2 = upstream("u2", u2);
    let _n3 = upstream("u3", u3);
    let _n4 = upstream("u4", u4);
    let before = config(
        admin,
        json!([listener("a", pa, "ra"), listener("c", pc, "rc")]),
        json!([router("ra", "c1"), router("rc", "slow")]),
        json!([cluster("c1", &[local(u1)]), cluster("slow", &[local(u3)])]),
    );
    let mosn = Mosn::start(&before);
    assert_eq!(get(pa), "u1\n");

    // Load on A for the whole change.
    let load = thread::spawn(move || wrk(&format!("http://127.0.0.1:{pa}/"), 50, 5, &[]));
    // A slow request in flight on C (its body trickles for ~2 s).
    let slow = thread::spawn(move || curl(&[&format!("http://127.0.0.1:{pc}/slow.bin")]));
    thread::sleep(Duration::from_millis(1500));

    // A's route now goes to the new cluster c2; B (new) goes to c1, whose host moved
    // from u1 to u4; C is removed.
    let after = config(
        admin,
        json!([listener("a", pa, "ra"), listener("b", pb, "rb")]),
        json!([router("ra", "c2"), router("rb", "c1")]),
        json!([
            cluster("c1", &[local(u4)]),
            cluster("c2", &[local(u2)]),
            cluster("slow", &[local(u3)])
        ]),
    );
    let reloaded = Instant::now();
    let report = reload_ok(&mosn, &after);
    let changes = report["applied"].to_string();
    for expected in [
        r#"{"change":"added","kind":"listener","name":"b"}"#,
        r#"{"change":"removed","kind":"listener","name":"c"}"#,
        r#"{"change":"added","kind":"cluster","name":"c2"}"#,
        r#"{"change":"changed","kind":"cluster","name":"c1"}"#,
        r#"{"change":"changed","kind":"router","name":"ra"}"#,
    ] {
        assert!(changes.contains(expected), "{expected} not in {changes}");
    }
    assert!(
        !changes.contains(r#""name":"a""#),
        "listener a did not change: {changes}"
    );

    // B serves within 1 s of the reload.
    while TcpStream::connect(local(pb)).is_err() {
        assert!(
            reloaded.elapsed() < Duration::from_secs(1),
            "B not listening 1 s after the reload"
        );
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(get(pb), "u4\n", "B goes to c1's new host");
    assert_eq!(get(pa), "u2\n", "A's route goes to the new cluster");
    // C refuses new connections at once.
    assert!(
        TcpStream::connect_timeout(&local(pc), Duration::from_secs(1)).is_err(),
        "removed listener C still accepts"
    );

    // C's in-flight request completed, whole.
    let slow = slow.join().expect("slow client");
    assert_eq!(slow.status, 200, "curl: exit {} {}", slow.exit, slow.stderr);
    assert_eq!(slow.body.len(), LARGE_LEN, "the in-flight body was cut");
    assert!(
        slow.time_total > 1.6,
        "the slow request ended before the reload ({} s)",
        slow.time_total
    );

    let load = load.join().expect("wrk");
    assert!(load.requests > 1000, "{}", load.output);
    assert_eq!(load.non_2xx_3xx, 0, "{}", load.output);
    assert_eq!(load.socket_errors, 0, "{}", load.output);
    let stats = mosn.stats();
    assert_eq!(
        stats["config"]["update_success"], 2,
        "start and reload: {stats:#}"
    );
    assert_eq!(stats["config"]["update_rejected"], 0, "{stats:#}");
}

#[test]
fn a_reload_that_changes_clusters_sends_nothing_to_a_dead_checked_host() {
    let (listen, admin, live, dead, other) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    let _live = upstream("live", live);
    let _other = upstream("other", other);
    let mut hc = cluster("hc", &[local(live), local(dead)]);
    hc["health_check"] = fast_http_health_check("/health");
    let build = |hc: &Value, other_timeout: &str| {
        let mut other_cluster = cluster("other", &[local(other)]);
        other_cluster["connect_timeout"] = json!(other_timeout);
        config(
            admin,
            json!([listener("l", listen, "r")]),
            json!([router("r", "hc")]),
            json!([hc, other_cluster]),
        )
    };
    let mosn = Mosn::start(&build(&hc, "3s"));
    mosn.wait_stat("cluster", "hc", "membership_healthy", IO_TIMEOUT, |n| {
        n == 1
    });
    let dead_host = format!("127.0.0.1:{dead}");
    let dead_attempts = |mosn: &Mosn| {
        let stats = mosn.stats();
        let host = &stats["cluster"]["hc"]["hosts"][&dead_host];
        (
            host["rq_total"].as_u64().unwrap_or(0),
            host["cx_connect_fail"].as_u64().unwrap_or(0),
        )
    };
    let before = dead_attempts(&mosn);

    // Another cluster changes: hc is untouched.
    reload_ok(&mosn, &build(&hc, "2s"));
    for i in 0..20 {
        assert_eq!(
            get(listen),
            "live\n",
            "request {i} after changing another cluster"
        );
    }
    // hc itself is rebuilt (a setting other than its hosts): the dead host stays out.
    let mut slower = hc.clone();
    slower["connect_timeout"] = json!("2s");
    reload_ok(&mosn, &build(&slower, "2s"));
    for i in 0..20 {
        assert_eq!(get(listen), "live\n", "request {i} after rebuilding hc");
    }
    assert_eq!(dead_attempts(&mosn), before, "the dead host was tried");
    assert_eq!(mosn.stat("cluster", "hc", "upstream_cx_connect_fail"), 0);
    // Its check still runs on the rebuilt cluster.
    let failures = mosn.stat("cluster", "hc", "health_check_failure");
    mosn.wait_stat("cluster", "hc", "health_check_failure", IO_TIMEOUT, |n| {
        n > failures
    });
}

#[test]
fn an_invalid_reload_is_refused_whole_and_traffic_is_unaffected() {
    let (listen, admin, up) = (free_port(), free_port(), free_port());
    let _up = upstream("up", up);
    let good = config(
        admin,
        json!([listener("l", listen, "r")]),
        json!([router("r", "c")]),
        json!([cluster("c", &[local(up)])]),
    );
    let mosn = Mosn::start(&good);
    assert_eq!(get(listen), "up\n");
    let dump_before = mosn.admin_get("/api/v1/config_dump").text();

    // A bad address and a new listener in one file: nothing of it applies.
    let mut bad = good.clone();
    bad["servers"][0]["listeners"][0]["address"] = json!("127.0.0.1:99999");
    bad["servers"][0]["listeners"]
        .as_array_mut()
        .unwrap()
        .push(listener("new", free_port(), "r"));
    let out = mosn.reload(&bad);
    assert!(!out.status.success(), "an invalid file was accepted");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            r#"servers[0].listeners[0].address: invalid socket address \"127.0.0.1:99999\""#
        ),
        "{stdout}"
    );
    assert_eq!(get(listen), "up\n");
    assert_eq!(mosn.admin_get("/api/v1/config_dump").text(), dump_before);
    let stats = mosn.stats();
    assert_eq!(stats["config"]["update_rejected"], 1, "{stats:#}");
    assert_eq!(
        stats["config"]["update_success"], 1,
        "only the start: {stats:#}"
    );
    assert!(mosn.log().contains("reload refused"), "{}", mosn.log());
}

#[test]
fn config_dump_shows_each_resource_version_and_the_admin_api_reloads() {
    let (listen, admin, up) = (free_port(), free_port(), free_port());
    let _up = upstream("up", up);
    let first = config(
        admin,
        json!([listener("l", listen, "r")]),
        json!([router("r", "c")]),
        json!([cluster("c", &[local(up)])]),
    );
    let mosn = Mosn::start(&first);
    let versions = |mosn: &Mosn| -> Value {
        let dump: Value = serde_json::from_slice(&mosn.admin_get("/api/v1/config_dump").body)
            .expect("config_dump is JSON");
        dump["resource_versions"].clone()
    };
    let v1 = versions(&mosn);
    for (kind, name) in [("listeners", "l"), ("routers", "r"), ("clusters", "c")] {
        assert!(v1[kind][name]["version"].is_string(), "{v1:#}");
        assert!(
            v1[kind][name]["last_updated"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z')),
            "{v1:#}"
        );
    }

    // Only the cluster changes, through the admin API.
    let mut second = first.clone();
    second["cluster_manager"]["clusters"][0]["connect_timeout"] = json!("1s");
    std::fs::write(mosn.config_path(), serde_json::to_vec(&second).unwrap()).unwrap();
    let resp = mosn.admin_post("/api/v1/reload", "");
    assert_eq!(resp.status, 200, "{}", resp.text());
    let v2 = versions(&mosn);
    assert_ne!(
        v2["clusters"]["c"]["version"],
        v1["clusters"]["c"]["version"]
    );
    assert_eq!(
        v2["listeners"]["l"], v1["listeners"]["l"],
        "an unchanged resource keeps its version"
    );
    assert_eq!(v2["routers"]["r"], v1["routers"]["r"]);
    assert_eq!(get(listen), "up\n");
    let stats = mosn.stats();
    assert_eq!(stats["config"]["update_success"], 2, "{stats:#}");
}

#[test]
fn a_changed_listener_keeps_its_socket_and_new_connections_get_the_new_chains() {
    let (listen, admin, u1, u2) = (free_port(), free_port(), free_port(), free_port());
    let _n1 = upstream("u1", u1);
    let _n2 = upstream("u2", u2);
    let clusters = json!([cluster("c1", &[local(u1)]), cluster("c2", &[local(u2)])]);
    let routers = json!([router("r1", "c1"), router("r2", "c2")]);
    let on = |router: &str| {
        config(
            admin,
            json!([listener("l", listen, router)]),
            routers.clone(),
            clusters.clone(),
        )
    };
    let mosn = Mosn::start(&on("r1"));
    assert_eq!(get(listen), "u1\n");
    // An old-generation keep-alive connection, idle across the change.
    let mut idle = Client::connect(local(listen));
    assert_eq!(idle.get("/", "x").status, 200);

    let load = thread::spawn(move || wrk(&format!("http://127.0.0.1:{listen}/"), 50, 4, &[]));
    for (i, router) in ["r2", "r1", "r2"].into_iter().enumerate() {
        thread::sleep(Duration::from_millis(800));
        let report = reload_ok(&mosn, &on(router));
        let changes = report["applied"].to_string();
        assert!(
            changes.contains(r#"{"change":"changed","kind":"listener","name":"l"}"#),
            "change {i}: {changes}"
        );
        assert_eq!(
            get(listen),
            format!("{}\n", if router == "r2" { "u2" } else { "u1" })
        );
    }
    let load = load.join().expect("wrk");
    assert!(load.requests > 500, "{}", load.output);
    assert_eq!(load.non_2xx_3xx, 0, "{}", load.output);
    assert_eq!(load.socket_errors, 0, "{}", load.output);
    // The first generation's idle keep-alive connection was not cut under its client: its
    // next request is still answered, by the chains it was accepted with, and then it
    // closes.
    let last = idle.get("/", "x");
    assert_eq!(last.status, 200);
    assert_eq!(
        last.text(),
        "u1\n",
        "served by the chains it was accepted with"
    );
    assert_eq!(last.header("connection"), Some("close"));
    let mut buf = [0u8; 1];
    let closed = matches!(
        std::io::Read::read(idle.reader.get_mut(), &mut buf),
        Ok(0) | Err(_)
    );
    assert!(
        closed,
        "the old generation's connection stayed open after its last answer"
    );
}

#[test]
fn a_removed_tcp_proxy_listener_refuses_new_connections_and_its_open_relay_runs_on() {
    let dir = TempDir::new("reload-tcp");
    let (keep, gone, admin, echo) = (free_port(), free_port(), free_port(), free_port());
    let _echo = socat_server(echo, "PIPE", &dir);
    let tcp = |name: &str, port: u16| {
        json!({
            "name": name,
            "address": format!("127.0.0.1:{port}"),
            "bind_port": true,
            "filter_chains": [{ "filters": [{ "type": "tcp_proxy", "config": { "cluster": "echo" } }] }]
        })
    };
    let clusters = json!([cluster("echo", &[local(echo)])]);
    let both = config(
        admin,
        json!([tcp("keep", keep), tcp("gone", gone)]),
        json!([]),
        clusters.clone(),
    );
    let mosn = Mosn::start(&both);

    let mut relay = connect(local(gone)).expect("connect to the listener to be removed");
    let echoed = |stream: &mut std::net::TcpStream, text: &[u8]| {
        use std::io::{Read, Write};
        stream.write_all(text).expect("write");
        let mut got = vec![0u8; text.len()];
        stream.read_exact(&mut got).expect("read the echo");
        got
    };
    assert_eq!(echoed(&mut relay, b"before"), b"before");

    let report = reload_ok(
        &mosn,
        &config(admin, json!([tcp("keep", keep)]), json!([]), clusters),
    );
    assert!(
        report["applied"]
            .to_string()
            .contains(r#"{"change":"removed","kind":"listener","name":"gone"}"#),
        "{report}"
    );
    assert!(
        std::net::TcpStream::connect_timeout(&local(gone), Duration::from_secs(1)).is_err(),
        "the removed listener still accepts"
    );
    // The relay opened before the change carries on (until graceful_timeout, 10 s).
    assert_eq!(echoed(&mut relay, b"after the change"), b"after the change");
    let mut other = connect(local(keep)).expect("connect to the listener that stays");
    assert_eq!(echoed(&mut other, b"still here"), b"still here");
}

#[test]
fn a_route_to_a_cluster_not_defined_yet_gets_503_until_a_reload_adds_it() {
    let (listen, admin, up) = (free_port(), free_port(), free_port());
    let _up = upstream("up", up);
    let without = config(
        admin,
        json!([listener("l", listen, "r")]),
        json!([router("r", "later")]),
        json!([]),
    );
    let mosn = Mosn::start(&without);
    assert!(
        mosn.log().contains(r#"cluster "later" is not defined"#),
        "the dangling reference is a warning: {}",
        mosn.log()
    );
    let r = curl(&[&format!("http://127.0.0.1:{listen}/")]);
    assert_eq!(r.status, 503, "{}", r.text());
    mosn.expect_stat("listener", "l", "downstream_rq_no_cluster", 1);

    let mut with = without.clone();
    with["cluster_manager"]["clusters"] = json!([cluster("later", &[local(up)])]);
    reload_ok(&mosn, &with);
    assert_eq!(get(listen), "up\n");
    assert_eq!(mosn.stat("listener", "l", "downstream_rq_no_cluster"), 1);
}
