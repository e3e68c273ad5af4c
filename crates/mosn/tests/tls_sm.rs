//! ShangMi TLS 1.3 (RFC 8998) against the reference peer, Tongsuo 8.5.0: its
//! `s_client` through an SM listener (TLS_SM4_GCM_SM3 and TLS_SM4_CCM_SM3, curveSM2,
//! sm2sig_sm3, session resumption) to nginx, one port serving SM and other clients
//! each their certificate, an SM cluster to its `s_server`, the refusals (a client without
//! the SM suites, an SM2 server certificate from another CA or tampered with), and a
//! captured Tongsuo ClientHello answered by mosn. Certificates are Tongsuo's SM2 ones
//! from the shared GM test data. Without a built Tongsuo the tests fail
//! (`scripts/build-tongsuo.sh` builds it).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::{json, Value};
use support::*;

const SUITES: [&str; 2] = ["TLS_SM4_GCM_SM3", "TLS_SM4_CCM_SM3"];
const REQUEST: &str = "GET /small HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// The Tongsuo `s_client` flags of an RFC 8998 client offering `suite` only.
fn sm_client_args(suite: &str) -> Vec<&str> {
    vec![
        "-tls1_3",
        "-ciphersuites",
        suite,
        "-groups",
        "SM2",
        "-sigalgs",
        "sm2sig_sm3",
        "-servername",
        "localhost",
        "-ign_eof",
    ]
}

fn path(name: &str) -> String {
    gm_cert(name).to_str().unwrap().to_owned()
}

/// The listener `tls_context` of ShangMi TLS: server_sign certificate, both suites.
fn sm_context() -> Value {
    json!({
        "status": true,
        "cert_chain": path("server_sign.crt"),
        "private_key": path("server_sign.key"),
        "cipher_suites": SUITES.join(":"),
        "ecdh_curves": "curvesm2",
    })
}

/// mosn with one HTTP listener terminating ShangMi TLS in front of nginx's echo server.
fn sm_listener() -> (u16, Mosn, Nginx) {
    tls_listener(json!([sm_context()]))
}

/// mosn with one HTTP listener whose chain has `tls_context_set` in front of nginx's echo
/// server.
fn tls_listener(tls_context_set: Value) -> (u16, Mosn, Nginx) {
    let (port, admin, upstream) = (free_port(), free_port(), free_port());
    let nginx = Nginx::echo(upstream);
    let mut cfg = forward_config(port, admin, upstream);
    cfg["servers"][0]["listeners"][0]["filter_chains"][0]["tls_context_set"] = tls_context_set;
    (port, Mosn::start(&cfg), nginx)
}

#[test]
fn tongsuo_client_reaches_nginx_through_an_sm_listener() {
    let tongsuo = Tongsuo::find();
    let (port, mosn, _nginx) = sm_listener();
    let ca = gm_cert("ca.crt");
    for suite in SUITES {
        let seen = tongsuo.s_client(port, &ca, &sm_client_args(suite), REQUEST);
        assert!(seen.verified, "{suite}: {}", seen.output);
        assert!(
            seen.output.contains(&format!("Cipher is {suite}")),
            "{suite}: {}",
            seen.output
        );
        assert!(
            seen.output.contains("Peer signature type: sm2sig_sm3"),
            "{suite}: {}",
            seen.output
        );
        assert!(seen.output.contains(SMALL_BODY), "{suite}: {}", seen.output);
    }
    assert!(mosn.stat("listener", "test_listener", "ssl_handshake") >= 2);
    // A session ticket from the first connection resumes the second.
    let dir = TempDir::new("tls-sm-sessions");
    let sess = dir.file("sess");
    let sess = sess.to_str().unwrap();
    let with = |flag: &'static str| {
        let mut args = sm_client_args(SUITES[0]);
        args.extend([flag, sess]);
        tongsuo.s_client(port, &ca, &args, REQUEST).output
    };
    let first = with("-sess_out");
    assert!(first.contains("New, TLSv1.3"), "{first}");
    let second = with("-sess_in");
    assert!(second.contains("Reused, TLSv1.3"), "{second}");
}

#[test]
fn one_port_serves_the_sm2_certificate_to_sm_clients_and_another_to_the_rest() {
    let tongsuo = Tongsuo::find();
    let pki = TestPki::new();
    let international = pki.leaf("localhost", &["DNS:localhost"], 30);
    // The ShangMi context second: by SNI alone every client would get the first.
    let (port, _mosn, _nginx) =
        tls_listener(json!([server_tls(&international, json!({})), sm_context()]));
    let sm = tongsuo.s_client(
        port,
        &gm_cert("ca.crt"),
        &sm_client_args(SUITES[0]),
        REQUEST,
    );
    assert!(sm.verified, "{}", sm.output);
    assert!(
        sm.output.contains("Cipher is TLS_SM4_GCM_SM3"),
        "{}",
        sm.output
    );
    assert!(sm.output.contains(SMALL_BODY), "{}", sm.output);
    let other = s_client(
        port,
        &pki.ca(),
        &["-servername", "localhost", "-ign_eof"],
        REQUEST,
    );
    assert!(other.verified, "{}", other.output);
    assert!(other.output.contains(SMALL_BODY), "{}", other.output);
}

#[test]
fn a_client_without_the_sm_suites_is_refused_with_an_alert() {
    let tongsuo = Tongsuo::find();
    let (port, _mosn, _nginx) = sm_listener();
    let args = [
        "-tls1_3",
        "-ciphersuites",
        "TLS_AES_128_GCM_SHA256",
        "-servername",
        "localhost",
    ];
    let seen = tongsuo.s_client(port, &gm_cert("ca.crt"), &args, REQUEST);
    // handshake_failure (40); s_client still prints "Verify return code: 0" then.
    assert!(
        seen.output.contains("SSL alert number 40"),
        "{}",
        seen.output
    );
    assert!(seen.output.contains("Cipher is (NONE)"), "{}", seen.output);
    assert!(!seen.output.contains(SMALL_BODY), "{}", seen.output);
}

/// Tongsuo `s_server -www` (a status page naming the negotiated suite) offering both
/// ShangMi suites with `cert` (PEM, or DER when it ends in `.der`).
fn tongsuo_server(tongsuo: &Tongsuo, port: u16, cert: &str, dir: &TempDir) -> Peer {
    let suites = SUITES.join(":");
    let key = path("server_sign.key");
    let mut args = vec!["-tls1_3", "-ciphersuites", &suites, "-groups", "SM2"];
    args.extend([
        "-sigalgs",
        "sm2sig_sm3",
        "-cert",
        cert,
        "-key",
        &key,
        "-www",
    ]);
    if cert.ends_with(".der") {
        args.extend(["-certform", "DER"]);
    }
    tongsuo.s_server(port, &args, dir)
}

/// mosn with an HTTP listener forwarding to cluster `gm` at `upstream` over ShangMi TLS
/// with `suite`, trusting `ca`.
fn sm_cluster_proxy(upstream: u16, suite: &str, ca: &str) -> (u16, Mosn) {
    let (port, admin) = (free_port(), free_port());
    let mut gm = cluster("gm", &[local(upstream)]);
    gm["tls_context"] = json!({
        "status": true,
        "server_name": "localhost",
        "ca_cert": ca,
        "cipher_suites": suite,
        "ecdh_curves": "sm2",
    });
    (port, Mosn::start(&forward_to_cluster(port, admin, gm)))
}

#[test]
fn mosn_cluster_speaks_sm_tls13_to_a_tongsuo_server() {
    let tongsuo = Tongsuo::find();
    let dir = TempDir::new("tls-sm-cluster");
    for suite in SUITES {
        let upstream = free_port();
        let _server = tongsuo_server(&tongsuo, upstream, &path("server_sign.crt"), &dir);
        let (port, mosn) = sm_cluster_proxy(upstream, suite, &path("ca.crt"));
        let got = curl(&[&format!("http://127.0.0.1:{port}/")]);
        assert_eq!(got.status, 200, "{suite}: {}", got.stderr);
        assert!(
            got.text().contains(&format!("Cipher is {suite}")),
            "{suite}: {}",
            got.text()
        );
        assert!(mosn.stat("cluster", "gm", "ssl_handshake") >= 1);
    }
}

#[test]
fn sm2_server_certificates_from_another_ca_or_tampered_are_refused() {
    let tongsuo = Tongsuo::find();
    let dir = TempDir::new("tls-sm-refused");
    // The server certificate with one bit of its signature flipped.
    let der = run_bounded(
        tongsuo
            .command()
            .args(["x509", "-outform", "DER", "-in", &path("server_sign.crt")]),
        START_TIMEOUT,
    )
    .stdout;
    assert!(der.len() > 100, "tongsuo x509 printed no certificate");
    let mut tampered = der.clone();
    let last = tampered.len() - 5;
    tampered[last] ^= 0x01;
    let tampered = dir.write("tampered.der", tampered);
    let cases = [
        (
            "another CA",
            path("server_sign.crt"),
            path("client_sign.crt"),
        ),
        (
            "tampered",
            tampered.to_str().unwrap().to_owned(),
            path("ca.crt"),
        ),
    ];
    for (what, cert, ca) in cases {
        let upstream = free_port();
        let _server = tongsuo_server(&tongsuo, upstream, &cert, &dir);
        let (port, mosn) = sm_cluster_proxy(upstream, SUITES[0], &ca);
        let got = curl(&[&format!("http://127.0.0.1:{port}/")]);
        assert!(got.status >= 500, "{what}: {} {}", got.status, got.text());
        assert!(
            mosn.stat("cluster", "gm", "ssl_connection_error") >= 1,
            "{what}: {}",
            mosn.log()
        );
    }
}

/// Cipher suites and extensions of a ClientHello or ServerHello at the start of a TLS
/// byte stream (one record).
struct Hello {
    suites: Vec<u16>,
    extensions: Vec<(u16, Vec<u8>)>,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// 16-bit values of a list with a 16-bit length prefix.
fn u16_list(b: &[u8]) -> Vec<u16> {
    let len = usize::from(u16_at(b, 0));
    (0..len / 2).map(|i| u16_at(b, 2 + 2 * i)).collect()
}

fn parse_hello(stream: &[u8]) -> Hello {
    assert_eq!(stream[0], 0x16, "a handshake record");
    let body = &stream[5 + 4..];
    let is_client = stream[5] == 1;
    assert!(is_client || stream[5] == 2, "a ClientHello or ServerHello");
    // legacy_version, random, legacy_session_id
    let mut at = 2 + 32;
    at += 1 + usize::from(body[at]);
    let suites = if is_client {
        let list = u16_list(&body[at..]);
        at += 2 + 2 * list.len();
        at += 1 + usize::from(body[at]);
        list
    } else {
        let suite = u16_at(body, at);
        at += 3;
        vec![suite]
    };
    let end = at + 2 + usize::from(u16_at(body, at));
    at += 2;
    let mut extensions = Vec::new();
    while at < end {
        let (typ, len) = (u16_at(body, at), usize::from(u16_at(body, at + 2)));
        extensions.push((typ, body[at + 4..at + 4 + len].to_vec()));
        at += 4 + len;
    }
    Hello { suites, extensions }
}

impl Hello {
    fn extension(&self, typ: u16) -> &[u8] {
        self.extensions
            .iter()
            .find(|(t, _)| *t == typ)
            .map(|(_, data)| data.as_slice())
            .unwrap_or_else(|| panic!("no extension {typ:#06x}"))
    }
}

#[test]
fn a_captured_tongsuo_client_hello_offers_the_sm_suite_and_mosn_answers_it() {
    let capture = gm_capture("tls13-TLS_SM4_GCM_SM3.conn0.c2s.bin");
    let record_len = 5 + usize::from(u16_at(&capture, 3));
    let client_hello = &capture[..record_len];
    let hello = parse_hello(client_hello);
    assert!(hello.suites.contains(&0x00c6), "{:x?}", hello.suites);
    let groups = u16_list(hello.extension(0x000a));
    assert!(groups.contains(&0x0029), "supported_groups {groups:x?}");
    let schemes = u16_list(hello.extension(0x000d));
    assert!(
        schemes.contains(&0x0708),
        "signature_algorithms {schemes:x?}"
    );

    // Replayed to an SM listener, it gets a ServerHello choosing the suite and curveSM2.
    let (port, _mosn, _nginx) = sm_listener();
    let mut tcp = TcpStream::connect(local(port)).unwrap();
    tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    tcp.write_all(client_hello).unwrap();
    let mut head = [0u8; 5];
    tcp.read_exact(&mut head).unwrap();
    let mut answer = head.to_vec();
    answer.resize(5 + usize::from(u16_at(&head, 3)), 0);
    tcp.read_exact(&mut answer[5..]).unwrap();
    let server_hello = parse_hello(&answer);
    assert_eq!(server_hello.suites, vec![0x00c6]);
    assert_eq!(u16_at(server_hello.extension(0x0033), 0), 0x0029);
}
