//! `STRICT_DNS` clusters end to end, against a real DNS server: dnsmasq on 127.0.0.1
//! serves `backend.test` from a hosts file (TTL 1 s). mosn resolves it every 500 ms
//! through that server only. While it points at 127.0.0.1, requests reach nginx A; once
//! the file says 127.0.0.2 and dnsmasq re-read it (SIGHUP), they reach nginx B on the
//! same port of 127.0.0.2. When the DNS server dies, failures are counted and the last
//! resolved host keeps serving.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

/// nginx on `ip:port` answering everything with `name`.
fn nginx(name: &str, ip: &str, port: u16) -> Nginx {
    let addr = format!("{ip}:{port}").parse().expect("nginx address");
    Nginx::start_at(&[(addr, format!("location / {{ return 200 \"{name}\\n\"; }}"))])
}

/// dnsmasq in the foreground on 127.0.0.1:`port`, answering only from `hosts` (TTL 1 s).
fn dnsmasq(port: u16, hosts: &Path, dir: &TempDir) -> Peer {
    let mut cmd = Command::new(tool("dnsmasq"));
    cmd.arg("--no-daemon")
        .arg(format!("--port={port}"))
        .arg("--listen-address=127.0.0.1")
        .arg("--bind-interfaces")
        .arg("--no-resolv")
        .arg("--no-hosts")
        .arg(format!("--addn-hosts={}", hosts.display()))
        .arg("--local-ttl=1")
        .arg("--log-queries")
        .arg(format!("--pid-file={}", dir.file("dnsmasq.pid").display()));
    // As root, dnsmasq drops to `nobody`, who could not re-read a file in our temp dir.
    let uid = Command::new("id").arg("-u").output().expect("run id -u");
    if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        cmd.arg("--user=root");
    }
    let mut peer = Peer::spawn("dnsmasq", &mut cmd, dir.file("dnsmasq.log"));
    peer.wait_ready("listening", || wait_for_port(local(port), START_TIMEOUT));
    peer
}

/// The body of one GET through mosn, which must answer 200.
fn get(listen: u16) -> String {
    let r = curl(&[&format!("http://127.0.0.1:{listen}/")]);
    assert_eq!(r.status, 200, "curl: exit {} {}", r.exit, r.stderr);
    r.text()
}

/// Polls until a request through mosn gets `body`, within `timeout`.
fn wait_for_body(listen: u16, body: &str, timeout: Duration, mosn: &Mosn) {
    let deadline = Instant::now() + timeout;
    loop {
        let got = get(listen);
        if got == body {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still {got:?} instead of {body:?} after {timeout:?}; mosn log:\n{}",
            mosn.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn strict_dns_cluster_follows_the_dns_answer() {
    let dir = TempDir::new("dns");
    let (listen, admin, web, dns) = (free_port(), free_port(), free_port(), free_port());
    let hosts = dir.write("hosts", "127.0.0.1 backend.test\n");
    let mut dnsmasq = dnsmasq(dns, &hosts, &dir);
    let _a = nginx("a", "127.0.0.1", web);
    let _b = nginx("b", "127.0.0.2", web);

    let cluster = json!({
        "name": "dns",
        "type": "STRICT_DNS",
        "lb_type": "LB_ROUNDROBIN",
        "hosts": [{ "address": format!("backend.test:{web}") }],
        "dns_resolvers": { "servers": [format!("127.0.0.1:{dns}")] },
        "dns_refresh_rate": "500ms",
    });
    let config = http_config(
        local(listen),
        Some(admin),
        forward_all("dns"),
        json!([cluster]),
        json!({}),
        json!({}),
    );
    let mosn = Mosn::start(&config);

    // Start-up waited for the first answer: the first request already has a host.
    assert_eq!(get(listen), "a\n");
    assert!(mosn.stat("cluster", "dns", "upstream_dns_refresh") >= 1);
    assert_eq!(mosn.stat("cluster", "dns", "membership_total"), 1);
    assert_eq!(mosn.stat("cluster", "dns", "upstream_dns_failure"), 0);

    // The name moves to 127.0.0.2; dnsmasq re-reads its hosts files on SIGHUP.
    std::fs::write(&hosts, "127.0.0.2 backend.test\n").expect("rewrite hosts");
    send_signal(dnsmasq.pid(), "HUP");
    wait_for_body(listen, "b\n", Duration::from_secs(10), &mosn);
    // The old address left the cluster: every request now reaches B.
    for i in 0..20 {
        assert_eq!(get(listen), "b\n", "request {i} after the switch");
    }
    assert_eq!(mosn.stat("cluster", "dns", "membership_total"), 1);

    // The DNS server dies: lookups fail and are counted, the last hosts keep serving.
    send_signal(dnsmasq.pid(), "KILL");
    assert!(
        dnsmasq.wait_exit(IO_TIMEOUT).is_some(),
        "dnsmasq did not exit"
    );
    mosn.wait_stat("cluster", "dns", "upstream_dns_failure", IO_TIMEOUT, |n| {
        n >= 1
    });
    for i in 0..5 {
        assert_eq!(get(listen), "b\n", "request {i} without DNS");
    }
    let log = mosn.log();
    assert!(log.contains("DNS resolution failed"), "{log}");
}
