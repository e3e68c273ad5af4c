//! TLCP (GB/T 38636) against the reference peer, Tongsuo 8.5.0 (`-enable_ntls -ntls`):
//! its `s_client` through a TLCP listener to nginx on each of the four suites, with and
//! without client certificates; one port serving TLCP, ShangMi TLS 1.3 and plaintext;
//! a TLCP cluster to its `s_server` on each suite; and the refusals (no common suite, a
//! client without the certificates the listener requires, a server from another CA or
//! under another name). Certificates are Tongsuo's SM2 double
//! certificates from the shared GM test data. Without a built Tongsuo the tests fail
//! (`scripts/build-tongsuo.sh` builds it).

mod support;

use serde_json::{json, Value};
use support::*;

const SUITES: [&str; 4] = [
    "ECC-SM2-SM4-CBC-SM3",
    "ECC-SM2-SM4-GCM-SM3",
    "ECDHE-SM2-SM4-CBC-SM3",
    "ECDHE-SM2-SM4-GCM-SM3",
];
const REQUEST: &str = "GET /small HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

fn path(name: &str) -> String {
    gm_cert(name).to_str().unwrap().to_owned()
}

/// Tongsuo's NTLS flags offering `suite`, with the client's double certificates when
/// `with_certs`.
fn ntls_args(suite: &str, with_certs: bool) -> Vec<String> {
    let mut args: Vec<String> = ["-enable_ntls", "-ntls", "-cipher", suite, "-ign_eof"]
        .map(String::from)
        .to_vec();
    if with_certs {
        for (flag, file) in [
            ("-sign_cert", "client_sign.crt"),
            ("-sign_key", "client_sign.key"),
            ("-enc_cert", "client_enc.crt"),
            ("-enc_key", "client_enc.key"),
        ] {
            args.extend([flag.to_owned(), path(file)]);
        }
    }
    args
}

/// A listener TLCP context with the server's double certificates, changed by `extra`.
fn tlcp_context(extra: Value) -> Value {
    let mut ctx = json!({
        "status": true,
        "type": "tlcp",
        "cert_chain": path("server_sign.crt"),
        "private_key": path("server_sign.key"),
        "enc_cert_chain": path("server_enc.crt"),
        "enc_private_key": path("server_enc.key"),
    });
    for (k, v) in extra.as_object().expect("an object") {
        ctx[k] = v.clone();
    }
    ctx
}

/// mosn with one HTTP listener whose first chain has `tls_context_set` in front of
/// nginx's echo server, plus a plaintext chain when `plaintext_too`.
fn listener(tls_context_set: Value, plaintext_too: bool) -> (u16, Mosn, Nginx) {
    let (port, admin, upstream) = (free_port(), free_port(), free_port());
    let nginx = Nginx::echo(upstream);
    let mut cfg = forward_config(port, admin, upstream);
    let chains = &mut cfg["servers"][0]["listeners"][0]["filter_chains"];
    let plain = chains[0].clone();
    chains[0]["tls_context_set"] = tls_context_set;
    if plaintext_too {
        chains.as_array_mut().unwrap().push(plain);
    }
    (port, Mosn::start(&cfg), nginx)
}

/// Runs Tongsuo's `s_client` with `args` against `port` and returns what it printed.
fn ntls_client(tongsuo: &Tongsuo, port: u16, args: &[String]) -> SClient {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tongsuo.s_client(port, &gm_cert("ca.crt"), &args, REQUEST)
}

#[test]
fn tongsuo_ntls_clients_reach_nginx_through_tlcp_listeners_on_every_suite() {
    let tongsuo = Tongsuo::find();
    // Without client verification: the ECC suites need no client certificate; the
    // ECDHE ones always send theirs (their key agreement uses the encryption key).
    let (open_port, open, _nginx1) = listener(json!([tlcp_context(json!({}))]), false);
    // With verified, required client certificates.
    let mtls = tlcp_context(json!({
        "verify_client": true,
        "require_client_cert": true,
        "ca_cert": path("ca.crt"),
    }));
    let (mtls_port, _mtls, _nginx2) = listener(json!([mtls]), false);
    let mut cases = Vec::new();
    for suite in SUITES {
        let ecdhe = suite.starts_with("ECDHE");
        cases.push((open_port, suite, ecdhe));
        cases.push((mtls_port, suite, true));
    }
    for (port, suite, with_certs) in cases {
        let what = format!("{suite} port {port} client certs {with_certs}");
        let seen = ntls_client(&tongsuo, port, &ntls_args(suite, with_certs));
        assert!(seen.verified, "{what}: {}", seen.output);
        assert!(
            seen.output
                .contains(&format!("NTLSv1.1, Cipher is {suite}")),
            "{what}: {}",
            seen.output
        );
        assert!(seen.output.contains(SMALL_BODY), "{what}: {}", seen.output);
    }
    assert_eq!(open.stat("listener", "test_listener", "ssl_handshake"), 4);
    assert_eq!(
        open.stat("listener", "test_listener", "ssl_connection_error"),
        0
    );
}

#[test]
fn tlcp_listeners_refuse_clients_without_a_common_suite_or_the_required_certificates() {
    let tongsuo = Tongsuo::find();
    let only_gcm = tlcp_context(json!({
        "cipher_suites": "ECC-SM2-SM4-GCM-SM3",
        "verify_client": true,
        "require_client_cert": true,
        "ca_cert": path("ca.crt"),
    }));
    let (port, mosn, _nginx) = listener(json!([only_gcm]), false);
    // No suite in common: handshake_failure (40).
    let seen = ntls_client(&tongsuo, port, &ntls_args("ECC-SM2-SM4-CBC-SM3", true));
    assert!(seen.output.contains("alert number 40"), "{}", seen.output);
    assert!(!seen.output.contains(SMALL_BODY), "{}", seen.output);
    // The right suite without client certificates: handshake_failure too.
    let seen = ntls_client(&tongsuo, port, &ntls_args("ECC-SM2-SM4-GCM-SM3", false));
    assert!(seen.output.contains("alert number 40"), "{}", seen.output);
    assert!(!seen.output.contains(SMALL_BODY), "{}", seen.output);
    assert_eq!(
        mosn.stat("listener", "test_listener", "ssl_connection_error"),
        2
    );
    assert_eq!(mosn.stat("listener", "test_listener", "ssl_handshake"), 0);
    // And the right suite with them gets through.
    let seen = ntls_client(&tongsuo, port, &ntls_args("ECC-SM2-SM4-GCM-SM3", true));
    assert!(seen.output.contains(SMALL_BODY), "{}", seen.output);
}

#[test]
fn one_port_serves_tlcp_sm_tls13_and_plaintext_clients() {
    let tongsuo = Tongsuo::find();
    let sm_tls13 = json!({
        "status": true,
        "cert_chain": path("server_sign.crt"),
        "private_key": path("server_sign.key"),
        "cipher_suites": "TLS_SM4_GCM_SM3",
    });
    let (port, mosn, _nginx) = listener(json!([tlcp_context(json!({})), sm_tls13]), true);
    let tlcp = ntls_client(&tongsuo, port, &ntls_args("ECC-SM2-SM4-GCM-SM3", false));
    assert!(tlcp.verified, "{}", tlcp.output);
    assert!(tlcp.output.contains("NTLSv1.1"), "{}", tlcp.output);
    assert!(tlcp.output.contains(SMALL_BODY), "{}", tlcp.output);
    let tls13_args = [
        "-tls1_3",
        "-ciphersuites",
        "TLS_SM4_GCM_SM3",
        "-groups",
        "SM2",
        "-sigalgs",
        "sm2sig_sm3",
        "-servername",
        "localhost",
        "-ign_eof",
    ]
    .map(String::from);
    let tls13 = ntls_client(&tongsuo, port, &tls13_args);
    assert!(tls13.verified, "{}", tls13.output);
    assert!(
        tls13.output.contains("Cipher is TLS_SM4_GCM_SM3"),
        "{}",
        tls13.output
    );
    assert!(tls13.output.contains(SMALL_BODY), "{}", tls13.output);
    let plain = curl(&[&format!("http://127.0.0.1:{port}/small")]);
    assert_eq!(plain.status, 200, "{}", plain.stderr);
    assert_eq!(plain.text(), SMALL_BODY);
    assert_eq!(mosn.stat("listener", "test_listener", "ssl_handshake"), 2);
}

/// Tongsuo `s_server -www` (a status page naming the suite) speaking TLCP with `suite`,
/// its signing pair `sign` and encryption pair `enc` (file stems), verifying client
/// certificates when `verify`.
fn ntls_server(
    tongsuo: &Tongsuo,
    port: u16,
    suite: &str,
    (sign, enc): (&str, &str),
    verify: bool,
    dir: &TempDir,
) -> Peer {
    let files = [
        path(&format!("{sign}.crt")),
        path(&format!("{sign}.key")),
        path(&format!("{enc}.crt")),
        path(&format!("{enc}.key")),
        path("ca.crt"),
    ];
    let mut args = vec!["-enable_ntls", "-ntls", "-cipher", suite, "-www"];
    args.extend(["-sign_cert", &files[0], "-sign_key", &files[1]]);
    args.extend([
        "-enc_cert",
        &files[2],
        "-enc_key",
        &files[3],
        "-CAfile",
        &files[4],
    ]);
    if verify {
        args.extend(["-Verify", "1"]);
    }
    tongsuo.s_server(port, &args, dir)
}

/// mosn with an HTTP listener forwarding to cluster `gm` at `upstream` over TLCP with
/// `suite`, trusting the shared CA, with the client's double certificates when
/// `with_certs`, and the `tls_context` keys of `changes` set over all that.
fn tlcp_cluster_proxy(upstream: u16, suite: &str, with_certs: bool, changes: Value) -> (u16, Mosn) {
    let (port, admin) = (free_port(), free_port());
    let mut gm = cluster("gm", &[local(upstream)]);
    gm["tls_context"] = json!({
        "status": true,
        "type": "tlcp",
        "server_name": "localhost",
        "ca_cert": path("ca.crt"),
        "cipher_suites": suite,
    });
    if with_certs {
        for (key, file) in [
            ("cert_chain", "client_sign.crt"),
            ("private_key", "client_sign.key"),
            ("enc_cert_chain", "client_enc.crt"),
            ("enc_private_key", "client_enc.key"),
        ] {
            gm["tls_context"][key] = json!(path(file));
        }
    }
    for (key, value) in changes.as_object().expect("an object") {
        gm["tls_context"][key] = value.clone();
    }
    (port, Mosn::start(&forward_to_cluster(port, admin, gm)))
}

#[test]
fn mosn_clusters_speak_tlcp_to_tongsuo_servers_on_every_suite() {
    let tongsuo = Tongsuo::find();
    let dir = TempDir::new("tlcp-cluster");
    let mut cases: Vec<(&str, bool)> = SUITES.iter().map(|s| (*s, true)).collect();
    // The ECC suites also without client certificates (the server does not ask).
    cases.extend([(SUITES[0], false), (SUITES[1], false)]);
    for (suite, with_certs) in cases {
        let upstream = free_port();
        let pairs = ("server_sign", "server_enc");
        let _server = ntls_server(&tongsuo, upstream, suite, pairs, with_certs, &dir);
        let (port, mosn) = tlcp_cluster_proxy(upstream, suite, with_certs, json!({}));
        let got = curl(&[&format!("http://127.0.0.1:{port}/")]);
        let what = format!("{suite} client certs {with_certs}");
        assert_eq!(got.status, 200, "{what}: {} {}", got.stderr, mosn.log());
        assert!(
            got.text().contains(&format!("Cipher is {suite}")),
            "{what}: {}",
            got.text()
        );
        if with_certs {
            // s_server -www prints the client's (signing) certificate it verified.
            assert!(
                got.text().contains("localhost client sign"),
                "{what}: {}",
                got.text()
            );
        }
        assert_eq!(mosn.stat("cluster", "gm", "ssl_handshake"), 1, "{what}");
    }
}

#[test]
fn a_tlcp_server_outside_the_clusters_trust_or_name_is_refused() {
    let tongsuo = Tongsuo::find();
    let dir = TempDir::new("tlcp-untrusted");
    let cases = [
        ("another CA", "ca_cert", path("client_sign.crt")),
        ("another name", "server_name", "other.example".to_owned()),
    ];
    for (what, key, value) in cases {
        let upstream = free_port();
        let pairs = ("server_sign", "server_enc");
        let _server = ntls_server(&tongsuo, upstream, SUITES[1], pairs, false, &dir);
        let (port, mosn) = tlcp_cluster_proxy(upstream, SUITES[1], false, json!({ key: value }));
        let got = curl(&[&format!("http://127.0.0.1:{port}/")]);
        assert!(got.status >= 500, "{what}: {} {}", got.status, got.text());
        assert!(
            mosn.stat("cluster", "gm", "ssl_connection_error") >= 1,
            "{what}"
        );
        assert_eq!(mosn.stat("cluster", "gm", "ssl_handshake"), 0, "{what}");
    }
}
