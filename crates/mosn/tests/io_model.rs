//! The `io_model` switch: what each model runs (worker threads, listening sockets), and
//! that work-stealing serves HTTP/1 and HTTP/2 clients to an HTTP/2 upstream (one pool
//! shared by every thread) under load from wrk and h2load, through to nginx. The whole
//! suite also runs under work-stealing when `MOSN_TEST_IO_MODEL=work_stealing` is set.

mod support;

use serde_json::json;
use std::fs;
use std::thread;
use support::*;

/// Names of the process's threads that serve connections.
fn worker_threads(pid: u32) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(format!("/proc/{pid}/task"))
        .expect("list threads")
        .filter_map(|t| fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_owned())
        .filter(|n| n.starts_with("mosn-worker-"))
        .collect();
    names.sort();
    names
}

/// Sockets listening on `port` (any process; the port is this test's own).
fn listening_sockets(port: u16) -> usize {
    let needle = format!(":{port:04X}");
    let text = fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    text.lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|c| c.len() > 3 && c[1].ends_with(&needle) && c[3] == "0A")
        .count()
}

#[test]
fn each_model_runs_processor_worker_threads_with_its_own_socket_layout() {
    let origin = free_port();
    let _nginx = Nginx::echo(origin);
    // Thread-per-core: a SO_REUSEPORT socket per worker; work-stealing: one socket that
    // every runtime thread accepts from.
    for (model, sockets) in [("thread_per_core", 3), ("work_stealing", 1)] {
        let (mosn, port) = proxy_to_origin(
            origin,
            json!({}),
            json!({ "io_model": model, "processor": 3 }),
        );
        // A new thread names itself once it first runs, which on a loaded machine can
        // come after the listeners accept: wait for the names (bounded).
        let expected = ["mosn-worker-0", "mosn-worker-1", "mosn-worker-2"];
        let deadline = std::time::Instant::now() + START_TIMEOUT;
        while worker_threads(mosn.pid()) != expected && std::time::Instant::now() < deadline {
            thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(worker_threads(mosn.pid()), expected, "{model}");
        assert_eq!(listening_sockets(port), sockets, "{model}");
        let r = curl(&[&format!("http://127.0.0.1:{port}/small")]);
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        assert!(
            mosn.log()
                .contains(&format!("io_model={}", debug_name(model))),
            "{model}: the start line names the model:\n{}",
            mosn.log()
        );
    }
}

/// How the start log line spells a model.
fn debug_name(model: &str) -> &'static str {
    match model {
        "thread_per_core" => "ThreadPerCore",
        _ => "WorkStealing",
    }
}

#[test]
fn work_stealing_serves_http1_and_h2_clients_to_an_h2_upstream_under_load() {
    let origin = free_port();
    let _nginx = Nginx::echo_h2c(origin);
    let (mosn, port) = proxy_to_origin(
        origin,
        json!({ "downstream_protocol": "Auto", "upstream_protocol": "Http2" }),
        json!({ "io_model": "work_stealing", "processor": 2 }),
    );
    let url = format!("http://127.0.0.1:{port}/small");
    let wrk_url = url.clone();
    let h1 = thread::spawn(move || wrk(&wrk_url, 20, 3, &[]));
    // 50 concurrent streams on each of 4 connections, spread over both threads and
    // multiplexed onto the shared upstream pool.
    let h2 = h2load(&["-n", "10000", "-c", "4", "-m", "50", &url]);
    let h1 = h1.join().expect("wrk thread");
    assert_eq!(
        (h2.done, h2.status_2xx, h2.failed, h2.errored, h2.timeout),
        (10000, 10000, 0, 0, 0),
        "{}",
        h2.output
    );
    assert!(h1.requests > 0, "{}", h1.output);
    assert_eq!((h1.non_2xx_3xx, h1.socket_errors), (0, 0), "{}", h1.output);
    let upstream_2xx = mosn.stat("cluster", "origin", "upstream_rq_2xx");
    assert!(
        upstream_2xx >= 10000 + h1.requests,
        "every request reached nginx: {upstream_2xx} 2xx for {} + 10000",
        h1.requests
    );
    assert_eq!(mosn.stat("cluster", "origin", "upstream_rq_5xx"), 0);
}
