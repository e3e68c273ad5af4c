//! Load through the proxy with wrk against nginx: no socket errors, no non-2xx responses,
//! a sane request count. The tests of this file run one at a time (they would otherwise
//! share the machine's two cores and measure each other).

mod support;

use std::sync::Mutex;

use serde_json::json;
use support::*;

static SERIAL: Mutex<()> = Mutex::new(());

/// Requests a debug build must at least manage in a run (a stall or a serialised proxy
/// would fall far below it; a healthy one is orders of magnitude above).
const MIN_REQUESTS_PER_SEC: f64 = 100.0;

/// mosn in front of nginx's echo server.
fn setup() -> NginxSetup {
    mosn_before_nginx(json!({}))
}

fn assert_clean(run: &Wrk, secs: u32, what: &str) {
    eprintln!("{what}:\n{}", run.output);
    assert_eq!(
        run.socket_errors, 0,
        "{what}: socket errors\n{}",
        run.output
    );
    assert_eq!(
        run.non_2xx_3xx, 0,
        "{what}: non-2xx responses\n{}",
        run.output
    );
    assert!(
        run.requests as f64 >= MIN_REQUESTS_PER_SEC * f64::from(secs),
        "{what}: only {} requests in {secs} s\n{}",
        run.requests,
        run.output
    );
}

#[test]
fn keep_alive_small_bodies_50_connections() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = setup();
    let run = wrk(&format!("http://127.0.0.1:{}/small", s.listen), 50, 10, &[]);
    assert_clean(&run, 10, "keep-alive /small");
    assert!(
        run.requests > 1000,
        "only {} requests\n{}",
        run.requests,
        run.output
    );
    // Every request wrk counted went through the proxy to nginx and back as a 2xx.
    let proxied = s.mosn.stat("cluster", "nginx", "upstream_rq_2xx");
    assert!(
        proxied >= run.requests,
        "nginx answered {proxied} requests, wrk counted {}",
        run.requests
    );
    s.mosn.expect_stat("cluster", "nginx", "upstream_rq_5xx", 0);
    s.mosn
        .expect_stat("listener", "test_listener", "downstream_rq_5xx", 0);
}

#[test]
fn keep_alive_16k_bodies() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = setup();
    let run = wrk(
        &format!("http://127.0.0.1:{}/large.bin", s.listen),
        50,
        5,
        &[],
    );
    assert_clean(&run, 5, "keep-alive /large.bin");
    let sent = s
        .mosn
        .stat("listener", "test_listener", "downstream_cx_tx_bytes_total");
    assert!(
        sent >= run.requests * LARGE_LEN as u64,
        "the proxy sent {sent} bytes for {} responses of 16 KiB",
        run.requests
    );
}

#[test]
fn connection_close_on_every_request() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = setup();
    let run = wrk(
        &format!("http://127.0.0.1:{}/small", s.listen),
        20,
        3,
        &["Connection: close"],
    );
    assert_clean(&run, 3, "Connection: close");
    // `Connection: close` is the client's hop: the upstream side keeps its connections.
    let upstream_cx = s.mosn.stat("cluster", "nginx", "upstream_cx_total");
    assert!(
        upstream_cx < run.requests / 10,
        "{upstream_cx} upstream connections for {} requests: the client's Connection: close \
         leaked upstream",
        run.requests
    );
}
