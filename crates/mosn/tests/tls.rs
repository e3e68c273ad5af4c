//! TLS and mTLS against real peers: curl and `openssl s_client` as clients (mTLS and
//! SPIFFE refusals, SNI among three certificates, ALPN choosing HTTP/1.1 or HTTP/2,
//! session resumption), MOSN's own
//! TLS samples chained mosn → mosn over mTLS, the inspector serving http and https on one
//! port, filter chains chosen by SNI, certificate rotation under wrk load, a large
//! response to a slow client, tcp_proxy originating and terminating TLS, and clusters
//! reaching one server under different SNI or client certificates never sharing a pooled
//! upstream connection.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;

/// One proxy listener on `port` with `chains` (each a `filter_chains[]` entry without
/// its filters), forwarding to nginx at `upstream`; `listener_extra` merged into the
/// listener.
fn tls_proxy(
    port: u16,
    admin: u16,
    upstream: u16,
    chains: Vec<Value>,
    listener_extra: Value,
) -> Value {
    let mut cfg = forward_config(port, admin, upstream);
    let filters = cfg["servers"][0]["listeners"][0]["filter_chains"][0]["filters"].clone();
    let chains: Vec<Value> = chains
        .into_iter()
        .map(|mut c| {
            c["filters"] = filters.clone();
            c
        })
        .collect();
    let listener = &mut cfg["servers"][0]["listeners"][0];
    listener["filter_chains"] = Value::Array(chains);
    if let Value::Object(extra) = listener_extra {
        for (k, v) in extra {
            listener[k] = v;
        }
    }
    cfg
}

fn https(port: u16, name: &str, ca: &std::path::Path, extra: &[&str]) -> Curl {
    let url = format!("https://{name}:{port}/small");
    let resolve = format!("{name}:{port}:127.0.0.1");
    let mut args = vec!["--cacert", ca.to_str().unwrap(), "--resolve", &resolve];
    args.extend_from_slice(extra);
    args.push(&url);
    curl(&args)
}

#[test]
fn mtls_listener_requires_a_client_certificate_and_reports_its_identity() {
    let pki = TestPki::new();
    let server = pki.leaf("proxy.test", &["DNS:proxy.test", "IP:127.0.0.1"], 30);
    let client = pki.leaf("web", &["URI:spiffe://cluster.local/ns/default/sa/web"], 30);
    let stranger = pki.leaf("db", &["URI:spiffe://cluster.local/ns/prod/sa/db"], 30);
    let (port, admin, upstream) = (free_port(), free_port(), free_port());
    let _nginx = Nginx::echo(upstream);
    let ca = pki.ca();
    let cfg = tls_proxy(
        port,
        admin,
        upstream,
        vec![json!({"tls_context": server_tls(&server, json!({
            "ca_cert": ca.to_str().unwrap(),
            "verify_client": true,
            "require_client_cert": true,
            "extend_verify": {"spiffe_ids": ["spiffe://cluster.local/ns/default/*"]},
        }))})],
        json!({}),
    );
    let mosn = Mosn::start(&cfg);

    let without = https(port, "proxy.test", &ca, &[]);
    assert_ne!(
        without.exit, 0,
        "a client without a certificate must be refused"
    );
    let with = https(
        port,
        "proxy.test",
        &ca,
        &[
            "--cert",
            client.cert.to_str().unwrap(),
            "--key",
            client.key.to_str().unwrap(),
        ],
    );
    assert_eq!(with.status, 200, "mTLS request failed: {}", with.stderr);
    assert_eq!(with.text(), SMALL_BODY);
    let wrong_identity = https(
        port,
        "proxy.test",
        &ca,
        &[
            "--cert",
            stranger.cert.to_str().unwrap(),
            "--key",
            stranger.key.to_str().unwrap(),
        ],
    );
    assert_ne!(
        wrong_identity.exit, 0,
        "a certificate outside the SPIFFE allowed list must be refused"
    );
    // X-Forwarded-Proto says https.
    let echo = curl(&[
        "--cacert",
        ca.to_str().unwrap(),
        "--resolve",
        &format!("proxy.test:{port}:127.0.0.1"),
        "--cert",
        client.cert.to_str().unwrap(),
        "--key",
        client.key.to_str().unwrap(),
        &format!("https://proxy.test:{port}/echo"),
    ]);
    assert_eq!(echo.status, 200, "{}", echo.stderr);
    assert!(echo.text().contains("https"), "{}", echo.text());
    mosn.wait_stat(
        "listener",
        "test_listener",
        "ssl_handshake",
        Duration::from_secs(5),
        |n| n >= 2,
    );
    assert!(mosn.stat("listener", "test_listener", "ssl_connection_error") >= 2);
    let days = mosn.stat(
        "listener",
        "test_listener",
        "ssl_days_until_first_cert_expiring",
    );
    assert!((28..=30).contains(&days), "expiry gauge {days}");
}

#[test]
fn sni_picks_the_certificate_among_three_and_alpn_is_negotiated() {
    let pki = TestPki::new();
    let a = pki.leaf("a.test", &["DNS:a.test"], 30);
    let b = pki.leaf("b.test", &["DNS:b.test"], 30);
    let c = pki.leaf("c.test", &["DNS:*.c.test"], 30);
    let (port, admin, upstream) = (free_port(), free_port(), free_port());
    let _nginx = Nginx::echo(upstream);
    let alpn = json!({"alpn": "h2,http/1.1"});
    let cfg = tls_proxy(
        port,
        admin,
        upstream,
        vec![json!({"tls_context_set": [
            server_tls(&a, alpn.clone()),
            server_tls(&b, alpn.clone()),
            server_tls(&c, alpn),
        ]})],
        json!({}),
    );
    let _mosn = Mosn::start(&cfg);
    let ca = pki.ca();
    for (sni, cn) in [
        ("a.test", "a.test"),
        ("b.test", "b.test"),
        ("x.c.test", "c.test"),
    ] {
        let seen = s_client(port, &ca, &["-servername", sni, "-alpn", "h2,http/1.1"], "");
        assert!(seen.verified, "{sni}: {}", seen.output);
        assert!(seen.subject.contains(cn), "{sni} got {}", seen.subject);
        assert_eq!(seen.alpn.as_deref(), Some("h2"), "{sni}: {}", seen.output);
    }
    let h1 = s_client(
        port,
        &ca,
        &["-servername", "b.test", "-alpn", "http/1.1"],
        "",
    );
    assert_eq!(h1.alpn.as_deref(), Some("http/1.1"), "{}", h1.output);
    // Unknown SNI: the first context.
    let other = s_client(port, &ca, &["-servername", "zzz.test"], "");
    assert!(other.subject.contains("a.test"), "{}", other.subject);
    // HTTP/1.1 over it with curl, and HTTP/2 when curl offers h2 (ALPN picks the codec
    // on a listener whose proxy filter says Http1).
    let got = https(port, "b.test", &ca, &["--http1.1"]);
    assert_eq!(got.status, 200, "{}", got.stderr);
    assert_eq!(got.version, "HTTP/1.1");
    let got = https(port, "b.test", &ca, &["--http2"]);
    assert_eq!(got.status, 200, "{}", got.stderr);
    assert_eq!(
        got.version, "HTTP/2",
        "h2 negotiated by ALPN is served as HTTP/2"
    );
    assert_eq!(got.text(), SMALL_BODY);
}

#[test]
fn inspector_serves_http_and_https_on_one_port_and_chains_match_by_sni() {
    let pki = TestPki::new();
    let leaf = pki.leaf("proxy.test", &["DNS:proxy.test"], 30);
    let other = pki.leaf("other.test", &["DNS:other.test"], 30);
    let (port, admin, upstream) = (free_port(), free_port(), free_port());
    let _nginx = Nginx::echo(upstream);
    let mut cfg = tls_proxy(
        port,
        admin,
        upstream,
        vec![
            json!({"tls_context": server_tls(&leaf, json!({}))}),
            json!({}),
            json!({
                "filter_chain_match": {"server_names": ["other.test"]},
                "tls_context": server_tls(&other, json!({})),
            }),
        ],
        json!({"inspector": true}),
    );
    // The SNI-matched chain answers directly.
    cfg["servers"][0]["listeners"][0]["filter_chains"][2]["filters"][0]["config"]
        ["router_config_name"] = json!("other");
    cfg["servers"][0]["routers"].as_array_mut().unwrap().push(json!({
        "router_config_name": "other",
        "virtual_hosts": [{"name": "o", "domains": ["*"], "routers": [
            {"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": "other chain"}}
        ]}]
    }));
    let _mosn = Mosn::start(&cfg);
    let ca = pki.ca();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let ca = ca.clone();
            std::thread::spawn(move || {
                if i % 2 == 0 {
                    curl(&[&format!("http://127.0.0.1:{port}/small")])
                } else {
                    https(port, "proxy.test", &ca, &[])
                }
            })
        })
        .collect();
    for t in threads {
        let got = t.join().expect("curl thread");
        assert_eq!(got.status, 200, "{}", got.stderr);
        assert_eq!(got.text(), SMALL_BODY);
    }
    let other = curl(&[
        "--cacert",
        ca.to_str().unwrap(),
        "--resolve",
        &format!("other.test:{port}:127.0.0.1"),
        &format!("https://other.test:{port}/"),
    ]);
    assert_eq!(other.status, 200, "{}", other.stderr);
    assert_eq!(other.text(), "other chain");
}

#[test]
fn http_tls_samples_chain_mosn_to_mosn_over_mtls() {
    let pair = SamplePair::read("http-sample__tls_", 8080);
    let (client_listener, server_listener, upstream) =
        (pair.client_port, pair.server_port, pair.app_port);
    let (mut client_cfg, mut server_cfg) = (pair.client, pair.server);
    use_sample_certs(&mut client_cfg["cluster_manager"]["clusters"][0]["tls_context"]);
    use_sample_certs(
        &mut server_cfg["servers"][0]["listeners"][0]["filter_chains"][0]["tls_context"],
    );
    let _nginx = Nginx::echo(upstream);
    let server_mosn = Mosn::start(&server_cfg);
    let client_mosn = Mosn::start(&client_cfg);
    for _ in 0..3 {
        let got = curl(&[&format!("http://127.0.0.1:{client_listener}/small")]);
        assert_eq!(got.status, 200, "{}", got.stderr);
        assert_eq!(got.text(), SMALL_BODY);
    }
    server_mosn.expect_stat("listener", "serverListener", "downstream_rq_2xx", 3);
    // Keep-alive upstream: one handshake per worker pool serves all three requests.
    let handshakes = client_mosn.stat("cluster", "clientCluster", "ssl_handshake");
    assert!(
        (1..=2).contains(&handshakes),
        "{handshakes} upstream handshakes"
    );
    // Plain curl straight at the mTLS listener is refused.
    let direct = curl(&[&format!("http://127.0.0.1:{server_listener}/small")]);
    assert_ne!(direct.status, 200);
}

/// mosn with one TLS listener (the `tls_context` given) in front of the nginx echo
/// server; returns the listener's port.
fn tls_listener(tls_context: Value) -> (u16, Mosn, Nginx) {
    let (port, admin, upstream) = (free_port(), free_port(), free_port());
    let nginx = Nginx::echo(upstream);
    let cfg = tls_proxy(
        port,
        admin,
        upstream,
        vec![json!({ "tls_context": tls_context })],
        json!({}),
    );
    (port, Mosn::start(&cfg), nginx)
}

/// Certificate files in `dir` holding an "old.proxy.test" pair (both names carry the SAN
/// `proxy.test`), and a "new.proxy.test" pair to copy over them.
fn rotating_pair(pki: &TestPki, dir: &TempDir) -> (Leaf, Leaf) {
    let old = pki.leaf("old.proxy.test", &["DNS:proxy.test"], 30);
    let new = pki.leaf("new.proxy.test", &["DNS:proxy.test"], 30);
    let live = Leaf {
        cert: dir.write("cert.pem", std::fs::read(&old.cert).unwrap()),
        key: dir.write("key.pem", std::fs::read(&old.key).unwrap()),
    };
    (live, new)
}

#[test]
fn certificates_rotate_under_load_without_failed_requests() {
    let pki = TestPki::new();
    let dir = TempDir::new("rotate");
    let (live, new) = rotating_pair(&pki, &dir);
    let (cert, key) = (live.cert.clone(), live.key.clone());
    let (port, _mosn, _nginx) = tls_listener(server_tls(&live, json!({})));
    let ca = pki.ca();
    let before = s_client(port, &ca, &["-servername", "proxy.test"], "");
    assert!(
        before.subject.contains("old.proxy.test"),
        "{}",
        before.subject
    );

    let url = format!("https://127.0.0.1:{port}/small");
    let load = std::thread::spawn(move || wrk(&url, 20, 6, &["Connection: close"]));
    std::thread::sleep(Duration::from_secs(2));
    // Key first, then certificate: in between the pair does not match and the reload is
    // retried, the old pair keeps serving.
    std::fs::write(&key, std::fs::read(&new.key).unwrap()).unwrap();
    std::fs::write(&cert, std::fs::read(&new.cert).unwrap()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = s_client(port, &ca, &["-servername", "proxy.test"], "");
        if seen.subject.contains("new.proxy.test") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "new certificate not served: {}",
            seen.subject
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let result = load.join().expect("wrk thread");
    assert!(result.requests > 100, "{}", result.output);
    assert_eq!(result.socket_errors, 0, "{}", result.output);
    assert_eq!(result.non_2xx_3xx, 0, "{}", result.output);
}

#[test]
fn a_large_response_reaches_a_slow_tls_client_whole() {
    let pki = TestPki::new();
    let leaf = pki.leaf("proxy.test", &["DNS:proxy.test"], 30);
    let www = TempDir::new("www");
    let body = random_bytes(8 << 20, 0xb16);
    www.write("big.bin", &body);
    let (port, admin, upstream) = (free_port(), free_port(), free_port());
    let mut server = Peer::spawn(
        "python3 http.server",
        std::process::Command::new(tool("python3"))
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &upstream.to_string(),
                "--directory",
            ])
            .arg(www.path()),
        www.file("server.log"),
    );
    server.wait_ready("listening", || {
        wait_for_port(local(upstream), START_TIMEOUT)
    });
    let cfg = tls_proxy(
        port,
        admin,
        upstream,
        vec![json!({"tls_context": server_tls(&leaf, json!({}))})],
        json!({}),
    );
    let _mosn = Mosn::start(&cfg);
    let ca = pki.ca();
    // A client reading at 16 MB/s fills the kernel buffers, so TLS records wait in rustls.
    let got = curl(&[
        "--cacert",
        ca.to_str().unwrap(),
        "--resolve",
        &format!("proxy.test:{port}:127.0.0.1"),
        "--limit-rate",
        "16M",
        &format!("https://proxy.test:{port}/big.bin"),
    ]);
    assert_eq!(got.status, 200, "{}", got.stderr);
    assert!(
        got.body == body,
        "body differs: {} of {} bytes",
        got.body.len(),
        body.len()
    );
}

#[test]
fn sessions_resume_with_tickets_on_tls12_and_tls13() {
    let pki = TestPki::new();
    let leaf = pki.leaf("proxy.test", &["DNS:proxy.test"], 30);
    let (port, _mosn, _nginx) = tls_listener(server_tls(&leaf, json!({})));
    let ca = pki.ca();
    let dir = TempDir::new("sessions");
    for version in ["-tls1_2", "-tls1_3"] {
        let sess = dir.file(&format!("sess{version}"));
        let sess = sess.to_str().unwrap();
        // TLS 1.3 tickets arrive after the handshake: send a request so s_client reads them.
        let request = "GET /small HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n";
        let first = s_client(
            port,
            &ca,
            &[
                "-servername",
                "proxy.test",
                version,
                "-sess_out",
                sess,
                "-ign_eof",
            ],
            request,
        );
        assert!(
            first.output.contains("New, TLS"),
            "{version}: {}",
            first.output
        );
        let second = s_client(
            port,
            &ca,
            &[
                "-servername",
                "proxy.test",
                version,
                "-sess_in",
                sess,
                "-ign_eof",
            ],
            request,
        );
        assert!(
            second.output.contains("Reused, TLS"),
            "{version}: {}",
            second.output
        );
    }
}

#[test]
fn a_connection_no_chain_matches_is_closed_and_counted() {
    let pki = TestPki::new();
    let leaf = pki.leaf("only.test", &["DNS:only.test"], 30);
    let (port, admin, upstream) = (free_port(), free_port(), free_port());
    let _nginx = Nginx::echo(upstream);
    let cfg = tls_proxy(
        port,
        admin,
        upstream,
        vec![json!({
            "filter_chain_match": {"server_names": ["only.test"], "destination_port": port},
            "tls_context": server_tls(&leaf, json!({})),
        })],
        json!({}),
    );
    let mosn = Mosn::start(&cfg);
    let ca = pki.ca();
    let refused = https(port, "other.test", &ca, &["-k"]);
    assert_ne!(
        refused.status, 200,
        "an SNI no chain names must not be served"
    );
    let served = https(port, "only.test", &ca, &[]);
    assert_eq!(served.status, 200, "{}", served.stderr);
    mosn.wait_stat(
        "listener",
        "test_listener",
        "no_filter_chain_match",
        Duration::from_secs(5),
        |n| n >= 1,
    );
}

#[test]
fn tcp_proxy_originates_and_terminates_tls() {
    let pki = TestPki::new();
    let leaf = pki.leaf("inner.test", &["DNS:inner.test"], 30);
    let ca = pki.ca();
    let (outer, inner, admin, upstream) = (free_port(), free_port(), free_port(), free_port());
    let _nginx = Nginx::echo(upstream);
    // curl (http) → outer tcp_proxy → TLS → inner tcp_proxy (terminates TLS) → nginx.
    let tcp = |name: &str, port: u16, cluster: &str| {
        json!({
            "name": name, "address": local(port).to_string(), "bind_port": true,
            "filter_chains": [{"filters": [{"type": "tcp_proxy", "config": {"cluster": cluster}}]}]
        })
    };
    let mut inner_listener = tcp("inner", inner, "nginx");
    inner_listener["filter_chains"][0]["tls_context"] = server_tls(&leaf, json!({}));
    let mut to_inner = cluster("to_inner", &[local(inner)]);
    to_inner["tls_context"] = json!({
        "status": true, "server_name": "inner.test", "ca_cert": ca.to_str().unwrap()
    });
    let cfg = json!({
        "servers": [{
            "default_log_path": "stdout",
            "listeners": [tcp("outer", outer, "to_inner"), inner_listener]
        }],
        "cluster_manager": {"clusters": [to_inner, cluster("nginx", &[local(upstream)])]},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin}}}
    });
    let mosn = Mosn::start(&cfg);
    let got = curl(&[&format!("http://127.0.0.1:{outer}/small")]);
    assert_eq!(got.status, 200, "{}", got.stderr);
    assert_eq!(got.text(), SMALL_BODY);
    assert!(mosn.stat("cluster", "to_inner", "ssl_handshake") >= 1);
    assert!(mosn.stat("listener", "inner", "ssl_handshake") >= 1);
}

#[test]
fn http2_upstreams_are_reached_over_tls_with_alpn_h2() {
    let pki = TestPki::new();
    let origin_cert = pki.leaf("origin.test", &["DNS:origin.test"], 30);
    let (port, upstream) = (free_port(), free_port());
    // nginx terminating TLS with HTTP/2, saying which protocol and scheme it saw.
    let _nginx = Nginx::start_listening(&[(
        local(upstream),
        " ssl http2",
        format!(
            "ssl_certificate {};\n        ssl_certificate_key {};\n        \
             location / {{ return 200 \"$server_protocol $scheme\\n\"; }}",
            origin_cert.cert.display(),
            origin_cert.key.display()
        ),
    )]);
    let mut c = cluster("up", &[local(upstream)]);
    c["tls_context"] = json!({
        "status": true,
        "server_name": "origin.test",
        "ca_cert": pki.ca().to_str().unwrap(),
        "alpn": "h2"
    });
    let cfg = http_config(
        local(port),
        None,
        forward_all("up"),
        json!([c]),
        json!({ "downstream_protocol": "Auto", "upstream_protocol": "Http2" }),
        json!({}),
    );
    let _mosn = Mosn::start(&cfg);
    for flag in ["--http1.1", "--http2-prior-knowledge"] {
        let r = curl(&[flag, &format!("http://127.0.0.1:{port}/")]);
        assert_eq!(r.status, 200, "{flag}: {}", r.stderr);
        assert_eq!(r.text(), "HTTP/2.0 https\n", "{flag}");
    }
}

#[test]
fn named_certificates_serve_several_listeners_and_rotate_for_all() {
    let pki = TestPki::new();
    let dir = TempDir::new("named-certs");
    let (live, new) = rotating_pair(&pki, &dir);
    let (cert, key) = (live.cert.clone(), live.key.clone());
    let (a, b, upstream) = (free_port(), free_port(), free_port());
    let _nginx = Nginx::echo(upstream);
    let mut cfg = tls_proxy(
        a,
        free_port(),
        upstream,
        vec![json!({"tls_context": {"status": true, "certificate": "proxy"}})],
        json!({}),
    );
    let mut second = cfg["servers"][0]["listeners"][0].clone();
    second["name"] = json!("second");
    second["address"] = json!(local(b).to_string());
    cfg["servers"][0]["listeners"]
        .as_array_mut()
        .unwrap()
        .push(second);
    cfg["certificates"] = json!([{
        "name": "proxy",
        "cert_chain": cert.to_str().unwrap(),
        "private_key": key.to_str().unwrap()
    }]);
    let _mosn = Mosn::start(&cfg);
    let ca = pki.ca();
    let subject = |port| s_client(port, &ca, &["-servername", "proxy.test"], "").subject;
    assert!(subject(a).contains("old.proxy.test"));
    assert!(subject(b).contains("old.proxy.test"));
    std::fs::write(&key, std::fs::read(&new.key).unwrap()).unwrap();
    std::fs::write(&cert, std::fs::read(&new.cert).unwrap()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(subject(a).contains("new.proxy.test") && subject(b).contains("new.proxy.test")) {
        assert!(
            Instant::now() < deadline,
            "the named certificate did not rotate everywhere"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let got = https(a, "proxy.test", &ca, &[]);
    assert_eq!(got.status, 200, "{}", got.stderr);
}

#[test]
fn a_tls_keep_alive_connection_idle_long_enough_to_park_answers_again() {
    // Idle HTTP/1 connections give up their task after a short quiet time and wake on
    // the socket's readiness; over TLS the wake-up must see records rustls buffered.
    let pki = TestPki::new();
    let leaf = pki.leaf("proxy.test", &["DNS:proxy.test"], 30);
    let (port, _mosn, _nginx) = tls_listener(server_tls(&leaf, json!({})));
    let script = r#"
import socket, ssl, sys, time
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="proxy.test")
f = sock.makefile("rb")
def get(path):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: proxy.test\r\n\r\n".encode())
    status = f.readline().split()[1].decode()
    length = 0
    while (line := f.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    f.read(length)
    return status
statuses = [get("/a")]
for pause in (0.6, 1.2):
    time.sleep(pause)
    statuses.append(get("/b"))
print(" ".join(statuses))
"#;
    let out = std::process::Command::new(tool("python3"))
        .args(["-c", script, &port.to_string()])
        .arg(pki.ca())
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        "200 200 200",
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// mosn on a fresh port routing `/a` to cluster `a` and `/b` to cluster `b`: both reach
/// the one TLS host `upstream` and differ only in their `tls_context`s; `proxy_extra`
/// merged into the proxy filter.
fn two_clusters_one_tls_host(
    upstream: u16,
    tls_a: Value,
    tls_b: Value,
    proxy_extra: Value,
) -> (Mosn, u16) {
    let port = free_port();
    let mut a = cluster("a", &[local(upstream)]);
    a["tls_context"] = tls_a;
    let mut b = cluster("b", &[local(upstream)]);
    b["tls_context"] = tls_b;
    let routes = json!([{
        "name": "all",
        "domains": ["*"],
        "routers": [
            { "match": { "prefix": "/a" }, "route": { "cluster_name": "a" } },
            { "match": { "prefix": "/b" }, "route": { "cluster_name": "b" } }
        ]
    }]);
    let cfg = http_config(
        local(port),
        Some(free_port()),
        routes,
        json!([a, b]),
        proxy_extra,
        json!({}),
    );
    (Mosn::start(&cfg), port)
}

/// Sends `rounds` rounds of `requests` (path, `Host`, expected body) alternately on one
/// keep-alive connection to `port`, so each cluster's upstream connection is pooled and
/// offered again while the other cluster's is idle; every answer must be its own.
fn assert_each_answered_by_its_own_connection(
    mosn: &Mosn,
    port: u16,
    rounds: usize,
    requests: &[(&str, &str, &str)],
) {
    let mut client = Client::connect(local(port));
    let mut wrong = Vec::new();
    for round in 0..rounds {
        for (path, host, expected) in requests {
            let resp = client.get(path, host);
            assert_eq!(resp.status, 200, "{path}: {}", resp.text());
            if resp.text() != *expected {
                wrong.push(format!("round {round} {path}: {:?}", resp.text()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "answers came over another cluster's connection:\n{}",
        wrong.join("\n")
    );
    // Each cluster handshook its own connections and still reused them.
    for name in ["a", "b"] {
        let opened = mosn.stat("cluster", name, "upstream_cx_total");
        assert!(
            (1..rounds as u64).contains(&opened),
            "cluster {name} opened {opened} connections for {rounds} requests"
        );
        assert_eq!(mosn.stat("cluster", name, "ssl_handshake"), opened);
    }
}

/// nginx on `upstream` (TLS, `listen_params` after `ssl`) with two virtual hosts chosen
/// by SNI, `a.test` and `b.test`, each with its own certificate from `pki`; the body
/// names the virtual host and the SNI of the connection carrying the request.
fn nginx_with_two_names(pki: &TestPki, upstream: u16, listen_params: &str) -> Nginx {
    let params = format!(" ssl{listen_params}");
    let blocks: Vec<(SocketAddr, &str, String)> = ["a.test", "b.test"]
        .iter()
        .map(|name| {
            let leaf = pki.leaf(name, &[&format!("DNS:{name}")], 30);
            let body = format!(
                "server_name {name};\n        ssl_certificate {};\n        \
                 ssl_certificate_key {};\n        \
                 location / {{ return 200 \"vhost={name} sni=$ssl_server_name\\n\"; }}",
                leaf.cert.display(),
                leaf.key.display()
            );
            (local(upstream), params.as_str(), body)
        })
        .collect();
    Nginx::start_listening(&blocks)
}

/// Clusters `a` (SNI `a.test`) and `b` (SNI `b.test`) to one nginx with both names, the
/// upstream spoken as `proxy_extra` and `alpn` say: each cluster's requests must arrive
/// over a connection with its own SNI.
fn sni_clusters_stay_apart(listen_params: &str, alpn: &str, proxy_extra: Value) {
    let pki = TestPki::new();
    let upstream = free_port();
    let _nginx = nginx_with_two_names(&pki, upstream, listen_params);
    let ca = pki.ca();
    let tls = |name: &str| {
        json!({
            "status": true,
            "server_name": name,
            "ca_cert": ca.to_str().unwrap(),
            "alpn": alpn
        })
    };
    let (mosn, port) =
        two_clusters_one_tls_host(upstream, tls("a.test"), tls("b.test"), proxy_extra);
    assert_each_answered_by_its_own_connection(
        &mosn,
        port,
        5,
        &[
            ("/a", "a.test", "vhost=a.test sni=a.test\n"),
            ("/b", "b.test", "vhost=b.test sni=b.test\n"),
        ],
    );
}

#[test]
fn clusters_with_different_sni_to_one_host_never_share_a_connection() {
    sni_clusters_stay_apart("", "http/1.1", json!({}));
}

#[test]
fn http2_clusters_with_different_sni_to_one_host_never_share_a_connection() {
    sni_clusters_stay_apart(" http2", "h2", json!({ "upstream_protocol": "Http2" }));
}

#[test]
fn clusters_with_different_client_certificates_to_one_host_never_share_a_connection() {
    let pki = TestPki::new();
    let origin = pki.leaf("origin.test", &["DNS:origin.test"], 30);
    let client_a = pki.leaf("client-a", &["DNS:client-a"], 30);
    let client_b = pki.leaf("client-b", &["DNS:client-b"], 30);
    let ca = pki.ca();
    let upstream = free_port();
    // nginx requiring a client certificate from the test CA and naming it in the body.
    let _nginx = Nginx::start_listening(&[(
        local(upstream),
        " ssl",
        format!(
            "ssl_certificate {};\n        ssl_certificate_key {};\n        \
             ssl_client_certificate {};\n        ssl_verify_client on;\n        \
             location / {{ return 200 \"client=$ssl_client_s_dn\\n\"; }}",
            origin.cert.display(),
            origin.key.display(),
            ca.display()
        ),
    )]);
    let tls = |leaf: &Leaf| {
        json!({
            "status": true,
            "server_name": "origin.test",
            "ca_cert": ca.to_str().unwrap(),
            "cert_chain": leaf.cert.to_str().unwrap(),
            "private_key": leaf.key.to_str().unwrap()
        })
    };
    let (mosn, port) =
        two_clusters_one_tls_host(upstream, tls(&client_a), tls(&client_b), json!({}));
    // nginx answers 421 when Host differs from the SNI of a verified connection.
    assert_each_answered_by_its_own_connection(
        &mosn,
        port,
        5,
        &[
            ("/a", "origin.test", "client=CN=client-a\n"),
            ("/b", "origin.test", "client=CN=client-b\n"),
        ],
    );
}
