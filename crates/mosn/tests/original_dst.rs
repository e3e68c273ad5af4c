//! `ORIGINAL_DST` clusters end to end: by a request header (nginx upstreams chosen by
//! `x-dst`), and by the connection's destination before an iptables REDIRECT, in a
//! network namespace the test creates: a client (uid nobody) connects to 127.0.0.2:8080,
//! iptables redirects it to mosn's tcp_proxy, and mosn connects where the client meant
//! (`SO_ORIGINAL_DST`) — a socat echo server.

mod support;

use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

fn original_dst_cluster(config: serde_json::Value) -> serde_json::Value {
    json!({
        "name": "odst",
        "type": "ORIGINAL_DST",
        "lb_type": "LB_ORIGINAL_DST",
        "hosts": [],
        "original_dst_lb_config": config
    })
}

#[test]
fn a_header_names_the_destination() {
    let (a, b, listen) = (free_port(), free_port(), free_port());
    let _nginx = Nginx::start(&[
        (a, "location / { return 200 \"a\\n\"; }".into()),
        (b, "location / { return 200 \"b\\n\"; }".into()),
    ]);
    let config = http_config(
        local(listen),
        Some(free_port()),
        forward_all("odst"),
        json!([original_dst_cluster(
            json!({ "use_header": true, "header_name": "x-dst" })
        )]),
        json!({}),
        json!({ "processor": 1 }),
    );
    let mosn = Mosn::start(&config);
    let url = format!("http://127.0.0.1:{listen}/");
    for (port, name) in [(a, "a\n"), (b, "b\n"), (a, "a\n")] {
        let r = curl(&["-H", &format!("x-dst: 127.0.0.1:{port}"), &url]);
        assert_eq!(r.status, 200, "{}", r.stderr);
        assert_eq!(r.text(), name);
    }
    // No destination known: no host.
    let r = curl(&[&url]);
    assert_eq!(r.status, 503);
    assert_eq!(mosn.stat("cluster", "odst", "upstream_cx_none_healthy"), 1);
    // Requests to one destination share its pooled connection (one worker).
    assert_eq!(mosn.stat("cluster", "odst", "upstream_cx_total"), 2);
}

/// A network namespace of this test's own, deleted on drop.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("mosn-{tag}-{}", std::process::id());
        let ns = Netns(name);
        ns.ip(&["netns", "add", &ns.0]);
        ns.exec_ok(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    fn ip(&self, args: &[&str]) {
        let out = run_bounded(Command::new(tool("ip")).args(args), Duration::from_secs(10));
        assert!(
            out.status.success(),
            "ip {args:?} failed (creating network namespaces needs root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A command run inside the namespace.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(tool("ip"));
        c.args(["netns", "exec", &self.0]).args(args);
        c
    }

    fn exec_ok(&self, args: &[&str]) -> String {
        let out = run_bounded(&mut self.cmd(args), Duration::from_secs(20));
        assert!(
            out.status.success(),
            "{args:?} in {} failed: {}",
            self.0,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn a_redirected_connection_reaches_its_original_destination() {
    let dir = TempDir::new("odst-redirect");
    let ns = Netns::new("odst");
    let listen = free_port();
    // Only nobody's connections are redirected, so mosn's own (root) reach the target.
    let redirect = format!(
        "iptables -t nat -A OUTPUT -p tcp -d 127.0.0.2 --dport 8080 \
         -m owner --uid-owner 65534 -j REDIRECT --to-ports {listen}"
    );
    ns.exec_ok(&["sh", "-c", &redirect]);
    let mut echo = Peer::spawn(
        "socat echo in the namespace",
        &mut ns.cmd(&[
            tool("socat").to_str().unwrap(),
            "TCP-LISTEN:8080,bind=127.0.0.2,reuseaddr,fork",
            "PIPE",
        ]),
        dir.file("echo.log"),
    );
    let admin = free_port();
    let config = json!({
        "servers": [{
            "default_log_path": "stdout",
            "listeners": [{
                "name": "redirected",
                "address": format!("127.0.0.1:{listen}"),
                "bind_port": true,
                "use_original_dst": "redirect",
                "filter_chains": [{ "filters": [{ "type": "tcp_proxy", "config": { "cluster": "odst" } }] }]
            }]
        }],
        "cluster_manager": { "clusters": [original_dst_cluster(json!({}))] },
        "admin": { "address": { "socket_address": { "address": "127.0.0.1", "port_value": admin } } }
    });
    let config_path = dir.write("mosn.json", config.to_string());
    let mut mosn = Peer::spawn(
        "mosn in the namespace",
        &mut ns.cmd(&[MOSN, "start", "-c", config_path.to_str().unwrap()]),
        dir.file("mosn.log"),
    );
    let probe = format!("exec 3<>/dev/tcp/127.0.0.1/{listen}");
    let ready = |what: &str| {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if run_bounded(&mut ns.cmd(&["bash", "-c", what]), Duration::from_secs(5))
                .status
                .success()
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    };
    echo.wait_ready("listening", || ready("exec 3<>/dev/tcp/127.0.0.2/8080"));
    mosn.wait_ready("listening", || ready(&probe));

    let client = "echo through-the-redirect | setpriv --reuid=65534 --regid=65534 \
                  --clear-groups socat -t 3 - TCP:127.0.0.2:8080";
    let got = ns.exec_ok(&["sh", "-c", client]);
    assert_eq!(got, "through-the-redirect\n", "mosn log:\n{}", mosn.log());
    // The bytes went through mosn: only a redirected connection has a destination for
    // the ORIGINAL_DST cluster to connect to (the readiness probes had none).
    let stats = ns.exec_ok(&[
        "curl",
        "-s",
        &format!("http://127.0.0.1:{admin}/api/v1/stats"),
    ]);
    let stats: serde_json::Value = serde_json::from_str(&stats).expect("stats JSON");
    assert_eq!(stats["cluster"]["odst"]["upstream_cx_total"], 1, "{stats}");
    assert_eq!(
        stats["cluster"]["odst"]["upstream_cx_tx_bytes_total"], 21,
        "{stats}"
    );
    drop(ns);
}
