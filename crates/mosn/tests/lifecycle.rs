//! The process: signals, the CLI (`version`, `validate`), start-up failures.

mod support;

use std::io::Read;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

fn mosn_cmd(args: &[&str]) -> (i32, String, String) {
    let out = run_bounded(Command::new(MOSN).args(args), Duration::from_secs(30));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn sigterm_lets_the_in_flight_request_finish_refuses_new_connections_and_exits_0() {
    let dir = TempDir::new("sigterm");
    let (listen, upstream, admin) = (free_port(), free_port(), free_port());
    let _mock = python_mock(upstream, &dir);
    let mut mosn = Mosn::start(&http_config(
        local(listen),
        Some(admin),
        forward_all("slow"),
        json!([cluster("slow", &[local(upstream)])]),
        json!({}),
        json!({ "graceful_timeout": "10s" }),
    ));

    // A 2 s request in flight.
    let mut client = Command::new(tool("curl"))
        .args(["-sS", "--max-time", "20", "-w", "\n%{http_code}"])
        .arg(format!("http://127.0.0.1:{listen}/sleep/2000"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn curl");
    // Wait until the slow request is in flight.
    mosn.wait_stat(
        "listener",
        "test_listener",
        "downstream_rq_active",
        Duration::from_secs(10),
        |n| n == 1,
    );

    let signalled = Instant::now();
    mosn.signal("TERM");

    // New connections are refused soon after the signal, while the request is running.
    let deadline = Instant::now() + Duration::from_secs(3);
    let refused = loop {
        match TcpStream::connect_timeout(&local(listen), Duration::from_millis(300)) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break true,
            _ if Instant::now() >= deadline => break false,
            _ => thread::sleep(Duration::from_millis(20)),
        }
    };
    assert!(
        refused,
        "the listener still accepts connections 3 s after SIGTERM; log:\n{}",
        mosn.log()
    );
    assert!(
        mosn.try_exit_status().is_none(),
        "mosn exited before its in-flight request finished; log:\n{}",
        mosn.log()
    );

    // The in-flight request completes normally.
    let status = wait_timeout(&mut client, Duration::from_secs(15));
    let Some(status) = status else {
        let _ = client.kill();
        let _ = client.wait();
        panic!("the in-flight request did not finish");
    };
    let mut out = String::new();
    let _ = client
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out);
    assert!(status.success(), "curl failed: {out}");
    assert_eq!(out, "slept 2000\n\n200", "in-flight request result");

    // Then mosn exits 0, well before graceful_timeout.
    let exit = mosn.wait_exit(Duration::from_secs(8));
    let exit = exit.unwrap_or_else(|| panic!("mosn did not exit after draining"));
    assert!(exit.success(), "exit status {exit}; log:\n{}", mosn.log());
    assert!(
        signalled.elapsed() < Duration::from_secs(8),
        "drain took {:?}",
        signalled.elapsed()
    );
}

#[test]
fn sigterm_with_nothing_in_flight_exits_0_promptly() {
    let listen = free_port();
    let mut mosn = Mosn::start(&answer_all_config(local(listen), None, "x"));
    // An idle keep-alive connection (it served one request) must not hold the drain up.
    let mut idle = Client::connect(local(listen));
    assert_eq!(idle.get("/", "example.test").text(), "x");
    // Leave mosn a moment past start-up (see `sigterm_right_after_start_exits_0` for the
    // start-up window itself).
    thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    mosn.signal("TERM");
    let exit = mosn
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("mosn did not exit within 5 s of SIGTERM"));
    assert!(exit.success(), "exit status {exit}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn sigterm_right_after_start_exits_0() {
    // A process manager may send SIGTERM at any moment once the proxy is up. Signal as
    // soon as the listener socket is listening (a client could already connect): the
    // exit must still be the graceful one (status 0), not death by the signal.
    for round in 0..20 {
        let listen = free_port();
        let mut mosn = Mosn::spawn(&http_config(
            local(listen),
            None,
            json!([{ "name": "d", "domains": ["*"], "routers": [{ "match": { "prefix": "/" }, "direct_response": { "status": 200, "body": "x" } }] }]),
            json!([]),
            json!({}),
            json!({}),
        ));
        // Poll without pausing (a refused connect returns at once), so the signal follows
        // the listen() closely.
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(local(listen)).is_err() {
            assert!(
                mosn.try_exit_status().is_none(),
                "mosn exited early: {}",
                mosn.log()
            );
            assert!(
                Instant::now() < deadline,
                "mosn never listened: {}",
                mosn.log()
            );
        }
        mosn.signal("TERM");
        let exit = mosn
            .wait_exit(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("round {round}: mosn did not exit within 5 s of SIGTERM"));
        assert!(
            exit.success(),
            "round {round}: SIGTERM right after the listener came up ended mosn with {exit}, \
             not a graceful exit 0; log:\n{}",
            mosn.log()
        );
    }
}

#[test]
fn sigint_exits_promptly() {
    let dir = TempDir::new("sigint");
    let (listen, upstream, admin) = (free_port(), free_port(), free_port());
    let _mock = python_mock(upstream, &dir);
    let mut mosn = Mosn::start(&http_config(
        local(listen),
        Some(admin),
        forward_all("slow"),
        json!([cluster("slow", &[local(upstream)])]),
        json!({}),
        json!({ "graceful_timeout": "30s" }),
    ));
    // Even with a slow request in flight, SIGINT stops at once.
    let in_flight =
        thread::spawn(move || curl(&[&format!("http://127.0.0.1:{listen}/sleep/5000")]));
    mosn.wait_stat(
        "listener",
        "test_listener",
        "downstream_rq_active",
        Duration::from_secs(10),
        |n| n == 1,
    );
    let start = Instant::now();
    mosn.signal("INT");
    let exit = mosn.wait_exit(Duration::from_secs(3));
    assert!(
        exit.is_some(),
        "mosn did not exit within 3 s of SIGINT; log:\n{}",
        mosn.log()
    );
    assert!(start.elapsed() < Duration::from_secs(3));
    let r = in_flight.join().expect("curl thread");
    assert_ne!(
        r.status, 200,
        "the in-flight request should have been cut by SIGINT"
    );
}

#[test]
fn version_prints_the_version() {
    let (code, stdout, _) = mosn_cmd(&["version"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains(env!("CARGO_PKG_VERSION")),
        "version output: {stdout:?}"
    );
}

#[test]
fn validate_accepts_the_quickstart_example() {
    let path = workspace_root().join("examples/quickstart.json");
    let (code, stdout, stderr) = mosn_cmd(&["validate", "-c", path.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "stdout: {stdout} stderr: {stderr}");
    assert!(
        !stderr.lines().any(|l| !l.starts_with("warning:")),
        "errors printed: {stderr}"
    );
}

#[test]
fn validate_names_the_bad_field() {
    let dir = TempDir::new("validate-bad");
    let mut config = read_json(&workspace_root().join("examples/quickstart.json"));
    config["servers"][0]["listeners"][0]["address"] = json!("127.0.0.1:99999");
    let path = dir.write("bad.json", serde_json::to_vec(&config).expect("json"));
    let (code, stdout, stderr) = mosn_cmd(&["validate", "-c", path.to_str().expect("utf-8")]);
    assert_ne!(code, 0, "a bad config validated; stdout: {stdout}");
    let all = format!("{stdout}{stderr}");
    assert!(
        all.lines().any(|l| l.trim()
            == r#"servers[0].listeners[0].address: invalid socket address "127.0.0.1:99999""#),
        "expected the error line naming the field, got:\n{all}"
    );
}

#[test]
fn every_mosn_sample_validates_or_says_not_supported() {
    let mut entries: Vec<_> = std::fs::read_dir(samples_dir())
        .expect("samples dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    entries.sort();
    assert!(
        entries.len() >= 10,
        "expected MOSN's sample configs in {}",
        samples_dir().display()
    );
    let mut valid = 0;
    for path in &entries {
        let (code, stdout, stderr) = mosn_cmd(&["validate", "-c", path.to_str().expect("utf-8")]);
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.starts_with("warning:") && !l.trim().is_empty())
            .collect();
        if code == 0 {
            valid += 1;
            assert!(
                errors.is_empty(),
                "{} exited 0 but printed errors: {errors:?}",
                path.display()
            );
        } else {
            assert!(
                !errors.is_empty()
                    && errors
                        .iter()
                        .any(|l| l.contains("not supported")),
                "{} was refused without naming an unsupported feature:\nstdout: {stdout}\nstderr: {stderr}",
                path.display()
            );
        }
    }
    // The HTTP and TCP samples at least are supported.
    assert!(valid >= 3, "only {valid} samples validate");
}

#[test]
fn start_on_a_port_in_use_fails_naming_the_listener() {
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = blocker.local_addr().expect("addr").port();
    let mut config = http_config(
        local(port),
        None,
        json!([{ "name": "d", "domains": ["*"], "routers": [{ "match": { "prefix": "/" }, "direct_response": { "status": 200 } }] }]),
        json!([]),
        json!({}),
        json!({}),
    );
    config["servers"][0]["listeners"][0]["name"] = json!("busy_listener");
    let mut mosn = Mosn::spawn(&config);
    let exit = mosn
        .wait_exit(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("mosn kept running on a busy port; log:\n{}", mosn.log()));
    assert!(!exit.success(), "mosn exited 0 on a busy port");
    let log = mosn.log();
    assert!(
        log.contains("busy_listener") && log.contains(&port.to_string()),
        "the error should name the listener and its address:\n{log}"
    );
    drop(blocker);
}
