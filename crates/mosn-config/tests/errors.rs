//! Every error message with its exact path: one change to a valid config → the exact
//! error lines `mosn validate` prints.

mod common;

use common::{base, errors, set, warnings, with};
use serde_json::{json, Value};

/// Paths of the parts of the base config.
macro_rules! http {
    ($s:literal) => {
        concat!("servers[0].listeners[0]", $s)
    };
}
macro_rules! proxy {
    ($s:literal) => {
        concat!(
            "servers[0].listeners[0].filter_chains[0].filters[0].config",
            $s
        )
    };
}
macro_rules! tcp {
    ($s:literal) => {
        concat!(
            "servers[0].listeners[1].filter_chains[0].filters[0].config",
            $s
        )
    };
}
macro_rules! router {
    ($s:literal) => {
        concat!("servers[0].routers[0]", $s)
    };
}
macro_rules! vhost {
    ($s:literal) => {
        concat!("servers[0].routers[0].virtual_hosts[0]", $s)
    };
}
macro_rules! route {
    ($s:literal) => {
        concat!("servers[0].routers[0].virtual_hosts[0].routers[0]", $s)
    };
}
macro_rules! cluster {
    ($s:literal) => {
        concat!("cluster_manager.clusters[0]", $s)
    };
}

/// A path in MOSN's sample certificates' directory.
macro_rules! certs {
    ($s:literal) => {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/testdata/mosn-certs",
            $s
        )
    };
}
/// A P-256 key that belongs to no certificate, as inline PEM.
const OTHER_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFoV/7lETf9fm9oLG
cp5JpQpGCuiVxpjHGbcP8hho3yChRANCAATEEA15NjWO7ZaD4g1ShlfO/yarD3vz
4maWAjtI57PVaJ75r97YxNpzH3rqQx/OvGGUrbnCXWm26iqonytkMhFi
-----END PRIVATE KEY-----
";

/// A path in the shared SM2 test certificates (a CA and TLCP sign/enc pairs).
macro_rules! gm {
    ($s:literal) => {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/testdata/gmtls/certs",
            $s
        )
    };
}

/// A valid listener TLCP context (the shared SM2 pairs), changed by `over`; a `null`
/// removes a key.
fn tlcp(over: Value) -> Value {
    let mut ctx = json!({
        "status": true,
        "type": "tlcp",
        "cert_chain": gm!("/server_sign.crt"),
        "private_key": gm!("/server_sign.key"),
        "enc_cert_chain": gm!("/server_enc.crt"),
        "enc_private_key": gm!("/server_enc.key"),
    });
    for (k, v) in over.as_object().expect("an object") {
        if v.is_null() {
            ctx.as_object_mut().unwrap().remove(k);
        } else {
            ctx[k] = v.clone();
        }
    }
    ctx
}

/// A valid listener TLS context with the sample certificates, changed by `over`.
fn tls(over: Value) -> Value {
    let mut ctx = json!({
        "status": true,
        "cert_chain": certs!("/cert.pem"),
        "private_key": certs!("/key.pem"),
    });
    for (k, v) in over.as_object().expect("an object") {
        ctx[k] = v.clone();
    }
    ctx
}

/// `(pointer to change, new value, expected error lines)`.
fn cases() -> Vec<(&'static str, Value, Vec<&'static str>)> {
    let unsupported_route = |what: Value| json!({"match": {"prefix": "/"}, "route": what});
    vec![
        // ---- listeners
        ("@http/address", json!("127.0.0.1:99999"), vec![concat!(http!(".address"), r#": invalid socket address "127.0.0.1:99999""#)]),
        ("@http/address", json!("localhost:80"), vec![concat!(http!(".address"), r#": invalid socket address "localhost:80""#)]),
        ("@http/address", json!("/tmp/x.sock"), vec![concat!(http!(".address"), r#": invalid socket address "/tmp/x.sock""#)]),
        ("@http/address", json!(5), vec![concat!(http!(".address"), ": expected a string, got a number")]),
        ("@http/name", json!(""), vec![concat!(http!(".name"), ": must not be empty")]),
        ("@http/name", json!("tcp"), vec![r#"servers[0].listeners[1].name: duplicate listener name "tcp", first defined at servers[0].listeners[0].name"#]),
        ("@tcp/address", json!("127.0.0.1:2045"), vec![r#"servers[0].listeners[1].address: duplicate listener address "127.0.0.1:2045", first defined at servers[0].listeners[0].address"#]),
        ("@http/network", json!("udp"), vec![concat!(http!(".network"), ": UDP listeners are not supported yet")]),
        ("@http/network", json!("sctp"), vec![concat!(http!(".network"), r#": unknown network "sctp", expected tcp, udp or unix"#)]),
        ("@http/bind_port", json!("yes"), vec![concat!(http!(".bind_port"), ": expected a boolean, got a string")]),
        ("@tcp/stream_filters", json!([{"type": "ip_access", "config": {"ips": []}}]), vec![r#"servers[0].listeners[1].stream_filters: stream filters need a proxy filter; this listener's chain ends in tcp_proxy"#]),
        ("@http/stream_filters", json!([{"type": "gzip", "config": {}}]), vec![concat!(http!(".stream_filters[0].type"), r#": stream filter "gzip" is not supported yet"#)]),
        ("@http/stream_filters", json!([{"config": {}}]), vec![concat!(http!(".stream_filters[0].type"), ": required key is missing")]),
        ("@http/stream_filters", json!([{"type": "ip_access"}]), vec![concat!(http!(".stream_filters[0].config"), ": required key is missing")]),
        ("@http/stream_filters", json!([{"type": "ip_access", "config": {"ips": [{"action": "deny", "addrs": []}]}}]), vec![concat!(http!(".stream_filters[0].config.ips[0].addrs"), ": needs at least one IP or CIDR range")]),
        ("@http/stream_filters", json!([{"type": "ip_access", "config": {"ips": [{"action": "deny", "addrs": ["10.0.0.0/33"]}]}}]), vec![concat!(http!(".stream_filters[0].config.ips[0].addrs[0]"), r#": invalid IP or CIDR range "10.0.0.0/33""#)]),
        ("@http/listener_filters", json!([{"type": "original_dst"}]), vec![concat!(http!(".listener_filters[0].type"), r#": listener filter "original_dst" is not supported yet"#)]),
        ("@http/access_logs", json!([{"log_path": "/tmp/access.log"}]), vec![concat!(http!(".access_logs"), ": access logs are not supported yet")]),
        ("@http/inspector", json!("yes"), vec![concat!(http!(".inspector"), ": expected a boolean, got a string")]),
        ("@http/filter_chains/0/tls_context", json!({"status": true, "certificate": "nope"}), vec![concat!(http!(".filter_chains[0].tls_context.certificate"), r#": certificate "nope" is not defined in certificates"#)]),
        ("@http/use_original_dst", json!("tproxy"), vec![concat!(http!(".use_original_dst"), r#": use_original_dst "tproxy" is not supported yet (use "redirect")"#)]),
        ("@http/connection_idle_timeout", json!(30), vec![concat!(http!(".connection_idle_timeout"), r#": expected a duration string such as "30s", got a number"#)]),
        ("@http/connection_idle_timeout", json!("0s"), vec![concat!(http!(".connection_idle_timeout"), ": 0 (never close idle connections) is not supported yet")]),
        ("@http/connection_idle_timeout", json!("-1s"), vec![concat!(http!(".connection_idle_timeout"), r#": negative duration "-1s""#)]),
        ("@http/filter_chains", json!([]), vec![concat!(http!(".filter_chains"), ": a listener needs a filter chain")]),
        ("@http/filter_chains/1", json!({"filters": [{"type": "tcp_proxy", "config": {"cluster": "c"}}]}), vec![concat!(http!(".filter_chains[1].filter_chain_match"), ": the same as filter_chains[0]'s: one of them could never be chosen")]),
        ("@http/filter_chains/0/filter_chain_match", json!({"transport_protocol": "quic"}), vec![concat!(http!(".filter_chains[0].filter_chain_match.transport_protocol"), r#": unknown transport_protocol "quic", expected "tls" or "raw_buffer""#)]),
        ("@http/filter_chains/0/filter_chain_match", json!({"transport_protocol": "tls"}), vec![concat!(http!(".filter_chains[0].filter_chain_match.transport_protocol"), r#": "tls" without a tls_context (TLS passthrough) is not supported yet"#)]),
        ("@http/filter_chains/0/filter_chain_match", json!({"server_names": ["a.test"], "application_protocols": ["h2"], "destination_port": 443, "source_ports": [1], "prefix_ranges": ["10.0.0.0/8"], "source_prefix_ranges": [{"address_prefix": "10.0.0.0", "prefix_len": 8}]}), vec![]),
        ("@http/filter_chains/0/filter_chain_match", json!({"source_prefix_ranges": [{"address_prefix": "10.0.0.0", "prefix_len": 33}]}), vec![concat!(http!(".filter_chains[0].filter_chain_match.source_prefix_ranges[0].prefix_len"), ": prefix length 33 is too long for 10.0.0.0")]),
        ("@http/filter_chains/0/tls_context", json!({"status": true, "private_key": "k"}), vec![concat!(http!(".filter_chains[0].tls_context.cert_chain"), ": a listener TLS context needs cert_chain and private_key")]),
        ("@http/filter_chains/0/tls_context", tls(json!({"cert_chain": "/nonexistent/cert.pem"})), vec![concat!(http!(".filter_chains[0].tls_context.cert_chain"), ": cannot read /nonexistent/cert.pem: No such file or directory (os error 2)")]),
        ("@http/filter_chains/0/tls_context", tls(json!({"private_key": OTHER_KEY})), vec![concat!(http!(".filter_chains[0].tls_context.private_key"), ": inline PEM does not match the certificate of cert_chain")]),
        ("@http/filter_chains/0/tls_context", tls(json!({"private_key": certs!("/ca.pem")})), vec![concat!(http!(".filter_chains[0].tls_context.private_key"), ": ", certs!("/ca.pem: no usable private key in PEM: no items found"))]),
        ("@http/filter_chains/0/tls_context", tls(json!({"verify_client": true})), vec![concat!(http!(".filter_chains[0].tls_context.ca_cert"), ": verify_client needs ca_cert to verify client certificates with")]),
        ("@http/filter_chains/0/tls_context", tls(json!({"cipher_suites": "ECDHE-RSA-AES128-GCM-SHA256:RSA-AES128-CBC-SHA"})), vec![concat!(http!(".filter_chains[0].tls_context.cipher_suites"), r#": cipher suite "RSA-AES128-CBC-SHA" is not supported: CBC, 3DES and static-RSA suites are not offered (only AEAD suites with forward secrecy)"#)]),
        ("@http/filter_chains/0/tls_context", tls(json!({"ecdh_curves": "X25519,P521"})), vec![concat!(http!(".filter_chains[0].tls_context.ecdh_curves"), r#": curve "P521" is not supported, expected one of x25519, p256, p384, curvesm2"#)]),
        ("@http/filter_chains/0/tls_context", tls(json!({"cipher_suites": "TLS_SM4_GCM_SM3:ECDHE-RSA-AES128-GCM-SHA256"})), vec![concat!(http!(".filter_chains[0].tls_context.cipher_suites"), ": the ShangMi suites (TLS_SM4_GCM_SM3, TLS_SM4_CCM_SM3) cannot be mixed with TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")]),
        ("@http/filter_chains/0/tls_context", tls(json!({"cipher_suites": "TLS_SM4_GCM_SM4"})), vec![concat!(http!(".filter_chains[0].tls_context.cipher_suites"), r#": cipher suite "TLS_SM4_GCM_SM4" is not supported: unknown cipher suite"#)]),
        ("@http/filter_chains/0/tls_context", tls(json!({"ecdh_curves": "curveSM2"})), vec![concat!(http!(".filter_chains[0].tls_context.ecdh_curves"), ": curvesm2 needs cipher_suites TLS_SM4_GCM_SM3 or TLS_SM4_CCM_SM3")]),
        ("@http/filter_chains/0/tls_context", tls(json!({"max_version": "TLSv1_1"})), vec![concat!(http!(".filter_chains[0].tls_context.max_version"), r#": "TLSv1_1" is not supported: TLS 1.0 and 1.1 are not offered"#)]),
        ("@http/filter_chains/0/tls_context", tls(json!({"min_version": "SSLv3"})), vec![concat!(http!(".filter_chains[0].tls_context.min_version"), r#": unknown TLS version "SSLv3", expected TLS_AUTO, TLSv1_2 or TLSv1_3"#)]),
        ("@http/filter_chains/0/tls_context", tls(json!({"type": "gmssl"})), vec![concat!(http!(".filter_chains[0].tls_context.type"), r#": unknown TLS type "gmssl": the only type is "tlcp" (GB/T 38636)"#)]),
        ("@http/filter_chains/0/tls_context", tls(json!({"enc_cert_chain": gm!("/server_enc.crt")})), vec![concat!(http!(".filter_chains[0].tls_context.enc_cert_chain"), r#": the encryption pair is for TLCP: set type to "tlcp""#)]),
        ("@http/filter_chains/0/tls_context", tlcp(json!({"alpn": "h2"})), vec![concat!(http!(".filter_chains[0].tls_context.alpn"), r#": TLCP has no such setting (type is "tlcp")"#)]),
        ("@http/filter_chains/0/tls_context", tlcp(json!({"cipher_suites": "ECC-SM2-SM4-CBC-SM3:TLS_SM4_GCM_SM3"})), vec![concat!(http!(".filter_chains[0].tls_context.cipher_suites"), r#": unknown TLCP cipher suite "TLS_SM4_GCM_SM3", expected one of ECDHE-SM2-SM4-GCM-SM3, ECC-SM2-SM4-GCM-SM3, ECDHE-SM2-SM4-CBC-SM3, ECC-SM2-SM4-CBC-SM3"#)]),
        ("@http/filter_chains/0/tls_context", tlcp(json!({"enc_cert_chain": null, "enc_private_key": null})), vec![concat!(http!(".filter_chains[0].tls_context.enc_cert_chain"), ": a TLCP listener needs enc_cert_chain and enc_private_key (the encryption pair)")]),
        ("@http/filter_chains/0/tls_context", tlcp(json!({"enc_private_key": gm!("/server_sign.key")})), vec![concat!(http!(".filter_chains[0].tls_context.enc_cert_chain"), ": ", gm!("/server_enc.crt with "), gm!("/server_sign.key: TLCP config: private key does not match its certificate"))]),
        ("@http/filter_chains/0/tls_context", tlcp(json!({"cert_chain": gm!("/server_enc.crt"), "private_key": gm!("/server_enc.key")})), vec![concat!(http!(".filter_chains[0].tls_context.cert_chain"), r#": TLCP config: certificate "C=CN, O=interop, CN=localhost server enc" is not for signing (key usage: Key Encipherment, Data Encipherment, Key Agreement)"#)]),
        ("@http/filter_chains/0/tls_context", tlcp(json!({"verify_client": true})), vec![concat!(http!(".filter_chains[0].tls_context.ca_cert"), ": verify_client needs ca_cert to verify client certificates with")]),
        ("@http/filter_chains/0/tls_context", tlcp(json!({"verify_client": true, "require_client_cert": true, "ca_cert": gm!("/ca.crt"), "cipher_suites": "ECC-SM2-WITH-SM4-SM3"})), vec![]),
        ("@cluster/tls_context", json!({"status": true, "type": "tlcp", "server_name": "localhost"}), vec![concat!(cluster!(".tls_context.ca_cert"), ": a TLCP cluster needs ca_cert (SM2 roots are not in the web PKI), or insecure_skip")]),
        ("@cluster/tls_context", json!({"status": true, "type": "tlcp", "insecure_skip": true, "cipher_suites": "ECDHE-SM2-SM4-GCM-SM3"}), vec![concat!(cluster!(".tls_context.cipher_suites"), ": the ECDHE TLCP suites need the client's signing and encryption pairs")]),
        ("@cluster/tls_context", json!({"status": true, "type": "tlcp", "ca_cert": gm!("/ca.crt"), "cert_chain": gm!("/client_sign.crt"), "private_key": gm!("/client_sign.key")}), vec![concat!(cluster!(".tls_context.enc_cert_chain"), ": a TLCP client certificate needs its encryption pair too")]),
        ("@http/filter_chains/0/tls_context", tls(json!({"min_version": "TLSv1_3", "max_version": "TLSv1_2"})), vec![concat!(http!(".filter_chains[0].tls_context.min_version"), ": min_version is above max_version")]),
        ("@http/filter_chains/0/tls_context", tls(json!({"sds_source": {"name": "x"}})), vec![concat!(http!(".filter_chains[0].tls_context.sds_source"), ": SDS (sds_source) is not supported yet")]),
        ("@http/filter_chains/0/tls_context_set", json!([{"status": false}, {"status": true}]), vec![concat!(http!(".filter_chains[0].tls_context_set[1].cert_chain"), ": a listener TLS context needs cert_chain and private_key")]),
        ("@http/filter_chains/0/tls_context_set", json!([tls(json!({}))]), vec![]),
        ("@http/filter_chains/0/match", json!("x"), vec![concat!(http!(".filter_chains[0].match"), ": MOSN's match string is not supported; use filter_chain_match")]),
        ("@http/filter_chains/0/filters", json!([]), vec![concat!(http!(".filter_chains[0].filters"), ": a filter chain needs a proxy or tcp_proxy filter")]),
        ("@http/filter_chains/0/filters/0/type", json!("fault_inject"), vec![concat!(http!(".filter_chains[0].filters[0].type"), r#": network filter "fault_inject" is not supported yet"#)]),
        ("@http/filter_chains/0/filters/0/type", json!("Proxy"), vec![concat!(http!(".filter_chains[0].filters[0].type"), r#": network filter "Proxy" is not supported yet"#)]),
        ("@http/filter_chains/0/filters/1", json!({"type": "tcp_proxy", "config": {"cluster": "c"}}), vec![concat!(http!(".filter_chains[0].filters"), ": more than one proxy or tcp_proxy filter in a chain is not supported yet (except proxy with fallback_for_unknown_protocol followed by tcp_proxy)")]),
        ("@http/filter_chains/0/filters/0/config", Value::Null, vec![concat!(http!(".filter_chains[0].filters[0].config"), ": required key is missing")]),
        // ---- proxy
        ("@proxy/downstream_protocol", json!("Thrift"), vec![concat!(proxy!(".downstream_protocol"), r#": protocol "Thrift" is not supported yet"#)]),
        ("@proxy/max_concurrent_streams", json!(0), vec![concat!(proxy!(".max_concurrent_streams"), ": must be greater than 0")]),
        ("@proxy/downstream_protocol", json!(""), vec![concat!(proxy!(".downstream_protocol"), ": must not be empty")]),
        ("@proxy/upstream_protocol", json!("X"), vec![concat!(proxy!(".upstream_protocol"), r#": protocol "X" needs extend_config.sub_protocol (bolt, boltv2 or dubbo)"#)]),
        ("@proxy/extend_config", json!({"sub_protocol": "tars"}), vec![concat!(proxy!(".extend_config.sub_protocol"), r#": sub_protocol "tars" is not supported (bolt, boltv2 or dubbo)"#)]),
        ("@proxy/request_header_timeout", json!("0s"), vec![concat!(proxy!(".request_header_timeout"), ": 0 (no header timeout) is not supported yet")]),
        ("@proxy/max_request_header_bytes", json!(0), vec![concat!(proxy!(".max_request_header_bytes"), ": must be greater than 0")]),
        ("@proxy/max_request_headers", json!(0), vec![concat!(proxy!(".max_request_headers"), ": must be greater than 0")]),
        // ---- tcp_proxy
        ("@tcpproxy/cluster", json!(""), vec![concat!(tcp!(""), ": tcp_proxy needs a cluster or routes")]),
        ("@tcpproxy/routes", json!([{}]), vec![concat!(tcp!(".routes[0].cluster"), ": required key is missing")]),
        ("@tcpproxy/routes", json!([{"cluster": "c", "source_addrs": ["10.0.0.0/33"]}]), vec![concat!(tcp!(".routes[0].source_addrs[0]"), r#": invalid CIDR range "10.0.0.0/33""#)]),
        ("@tcpproxy/routes", json!([{"cluster": "c", "source_addrs": [5]}]), vec![concat!(tcp!(".routes[0].source_addrs[0]"), r#": expected a CIDR string or an {"address", "length"} object, got a number"#)]),
        ("@tcpproxy/routes", json!([{"cluster": "c", "SourceAddrs": [{"address": "x", "length": 8}]}]), vec![concat!(tcp!(".routes[0].SourceAddrs[0].address"), r#": invalid IP address "x""#)]),
        ("@tcpproxy/routes", json!([{"cluster": "c", "DestinationAddrs": [{"address": "10.0.0.1", "length": 40}]}]), vec![concat!(tcp!(".routes[0].DestinationAddrs[0].length"), ": prefix length 40 is too long for 10.0.0.1")]),
        ("@tcpproxy/routes", json!([{"cluster": "c", "source_addrs": ["10.0.0.1"], "sourceaddrs": ["10.0.0.2"]}]), vec![concat!(tcp!(".routes[0].SourceAddrs"), ": source_addrs and SourceAddrs are the same setting; set only one")]),
        ("@tcpproxy/routes", json!([{"cluster": "c", "SourcePort": "80,443"}]), vec![concat!(tcp!(".routes[0].SourcePort"), r#": port list "80,443" is not supported yet (use one range)"#)]),
        ("@tcpproxy/routes", json!([{"cluster": "c", "destination_port": "9000-8000"}]), vec![concat!(tcp!(".routes[0].destination_port"), r#": invalid port range "9000-8000", expected "port" or "first-last""#)]),
        ("@tcpproxy/routes", json!([{"cluster": "c", "destination_port": 80}]), vec![concat!(tcp!(".routes[0].destination_port"), ": expected a string, got a number")]),
        ("@tcpproxy/idle_timeout", json!(-5), vec![concat!(tcp!(".idle_timeout"), ": expected a non-negative number of nanoseconds or a duration string")]),
        ("@tcpproxy/idle_timeout", json!("5x"), vec![concat!(tcp!(".idle_timeout"), r#": unknown unit "x" in duration "5x""#)]),
        ("@tcpproxy/max_connect_attempts", json!(1.5), vec![concat!(tcp!(".max_connect_attempts"), ": expected an integer between 0 and 4294967295, got 1.5")]),
        // ---- routers and virtual hosts
        ("@router/router_config_name", Value::Null, vec![concat!(router!(".router_config_name"), ": required key is missing")]),
        ("@server/routers/1", json!({"router_config_name": "r", "virtual_hosts": []}), vec![r#"servers[0].routers[1].router_config_name: duplicate router name "r", first defined at servers[0].routers[0].router_config_name"#]),
        ("@router/router_configs", json!("/etc/mosn/routers"), vec![concat!(router!(".router_configs"), ": router config directories (router_configs) are not supported yet")]),
        ("@router/response_headers_to_remove", json!(["ok", ""]), vec![concat!(router!(".response_headers_to_remove[1]"), r#": invalid header name """#)]),
        ("@vhost/domains", json!(["a.*.com"]), vec![concat!(vhost!(".domains[0]"), r#": invalid domain "a.*.com": expected a name, "*", "*.suffix" or "prefix.*""#)]),
        ("@vhost/domains", json!(["*", "**"]), vec![concat!(vhost!(".domains[1]"), r#": invalid domain "**": expected a name, "*", "*.suffix" or "prefix.*""#)]),
        ("@vhost/domains", json!(["*.a.*"]), vec![concat!(vhost!(".domains[0]"), r#": invalid domain "*.a.*": expected a name, "*", "*.suffix" or "prefix.*""#)]),
        ("@vhost/domains", json!(["a b"]), vec![concat!(vhost!(".domains[0]"), r#": invalid domain "a b": expected a name, "*", "*.suffix" or "prefix.*""#)]),
        ("@vhost/domains", json!(["a.com", "A.com"]), vec![concat!(vhost!(".domains[1]"), r#": duplicate domain "a.com", first defined at servers[0].routers[0].virtual_hosts[0].domains[0]"#)]),
        ("@router/virtual_hosts/1", json!({"name": "vh2", "domains": ["*"], "routers": []}), vec![r#"servers[0].routers[0].virtual_hosts[1].domains[0]: duplicate domain "*", first defined at servers[0].routers[0].virtual_hosts[0].domains[0]"#]),
        ("@vhost/per_filter_config", json!({"fault": {}}), vec![concat!(vhost!(".per_filter_config"), ": per-virtual-host filter config (per_filter_config) is not supported yet")]),
        ("@vhost/request_headers_to_add", json!([{"header": {"key": "bad name", "value": "v"}}]), vec![concat!(vhost!(".request_headers_to_add[0].header.key"), r#": invalid header name "bad name""#)]),
        ("@vhost/request_headers_to_add", json!([{"append": false}]), vec![concat!(vhost!(".request_headers_to_add[0].header"), ": required key is missing")]),
        ("@vhost/response_headers_to_add", json!([{"header": {"key": "x", "value": "a\r\nb"}}]), vec![concat!(vhost!(".response_headers_to_add[0].header.value"), r#": invalid header value "a\r\nb""#)]),
        ("@vhost/request_headers_to_add", json!([{"header": {"key": "x", "value": "%start_time%"}}]), vec![concat!(vhost!(".request_headers_to_add[0].header.value"), r#": header value variable "%start_time%" is not supported yet"#)]),
        // ---- routes: match
        ("@route/match", json!({"prefix": "/", "path": "/a"}), vec![concat!(route!(".match"), ": only one of prefix, path or regex may be set")]),
        ("@route/match", json!({"path": "/a", "regex": "/b"}), vec![concat!(route!(".match"), ": only one of prefix, path or regex may be set")]),
        ("@route/match", json!({}), vec![concat!(route!(".match"), ": match needs prefix, path, regex or headers")]),
        ("@route/match", json!({"prefix": ""}), vec![concat!(route!(".match"), ": match needs prefix, path, regex or headers")]),
        ("@route/match", Value::Null, vec![concat!(route!(".match"), ": required key is missing")]),
        ("@route/match", json!({"regex": "a("}), vec![concat!(route!(".match.regex"), r#": invalid regex "a(": unclosed group"#)]),
        ("@route/match", json!({"headers": [{"name": "x", "value": "(", "regex": true}]}), vec![concat!(route!(".match.headers[0].value"), r#": invalid regex "(": unclosed group"#)]),
        ("@route/match", json!({"headers": [{"value": "v"}]}), vec![concat!(route!(".match.headers[0].name"), ": required key is missing")]),
        ("@route/match", json!({"prefix": "/", "variables": [{"name": "x", "value": "y"}]}), vec![concat!(route!(".match.variables"), ": variable matching is not supported yet")]),
        ("@route/match", json!({"prefix": "/", "dsl_expressions": [{"expression": "x"}]}), vec![concat!(route!(".match.dsl_expressions"), ": DSL expression matching is not supported yet")]),
        // ---- routes: actions
        ("@route/route", json!({}), vec![concat!(route!(".route"), ": route needs cluster_name or weighted_clusters")]),
        ("@route/route", json!({"cluster_name": "c", "weighted_clusters": [{"cluster": {"name": "c", "weight": 1}}]}), vec![concat!(route!(".route"), ": only one of cluster_name, weighted_clusters or cluster_header may be set")]),
        ("@route/route", json!({"cluster_header": "x-cluster"}), vec![concat!(route!(".route.cluster_header"), ": cluster_header is not supported yet")]),
        ("@route/route", json!({"weighted_clusters": [{"cluster": {"name": "c", "weight": 0}}]}), vec![concat!(route!(".route.weighted_clusters"), ": weights must add up to between 1 and 4294967295, got 0")]),
        ("@route/route", json!({"weighted_clusters": [{"name": "c", "weight": 1}]}), vec![concat!(route!(".route.weighted_clusters[0].cluster"), ": required key is missing")]),
        ("@route/route/retry_policy", json!({"retry_on": "5xx,teapot"}), vec![concat!(route!(".route.retry_policy.retry_on"), r#": retry condition "teapot" is not supported; expected 5xx, gateway-error, connect-failure, reset, retriable-status-codes, refused-stream, cancelled, deadline-exceeded, internal, resource-exhausted or unavailable"#)]),
        ("@route/route/retry_policy", json!({"retry_on": true, "status_codes": [700]}), vec![concat!(route!(".route.retry_policy.status_codes[0]"), ": expected an HTTP status between 100 and 599")]),
        ("@route/route/retry_policy", json!({"retry_back_off": {"base_interval": "100ms", "max_interval": "10ms"}}), vec![concat!(route!(".route.retry_policy.retry_back_off.max_interval"), ": must not be less than base_interval")]),
        ("@route/route/hash_policy", json!({"header": {"key": "x"}}), vec![concat!(route!(".route.hash_policy"), ": expected an array, got an object")]),
        ("@route/route/hash_policy", json!([{"header": {"key": "x"}, "source_ip": {}}]), vec![concat!(route!(".route.hash_policy[0]"), ": only one of header, cookie or source_ip may be set")]),
        ("@route/route/hash_policy", json!([{"header": {"key": ""}}]), vec![concat!(route!(".route.hash_policy[0].header.key"), ": must not be empty")]),
        ("@route/route/hash_policy", json!([{"header": {}}]), vec![concat!(route!(".route.hash_policy[0].header.key"), ": required key is missing")]),
        ("@route/route/hash_policy", json!([{"source_ip": {}}, {"cookie": {"ttl": "1h"}}]), vec![concat!(route!(".route.hash_policy[1].cookie.name"), ": required key is missing")]),
        ("@route/route/hash_policy", json!([{"cookie": {"name": "sid", "ttl": "1y"}}]), vec![concat!(route!(".route.hash_policy[0].cookie.ttl"), r#": unknown unit "y" in duration "1y""#)]),
        ("@route/route/hash_policy", json!([{"source_ip": true}]), vec![concat!(route!(".route.hash_policy[0].source_ip"), ": expected an object, got a boolean")]),
        ("@route/route/metadata_match", json!("v=1"), vec![concat!(route!(".route.metadata_match"), ": expected an object, got a string")]),
        ("@route/route/regex_rewrite", json!({"pattern": {"regex": "a"}, "substitution": "b"}), vec![concat!(route!(".route.regex_rewrite"), ": regex rewrite is not supported yet")]),
        ("@route/route/auto_host_rewrite", json!(true), vec![concat!(route!(".route.auto_host_rewrite"), ": auto host rewrite is not supported yet")]),
        ("@route/route/upstream_protocol", json!("Thrift"), vec![concat!(route!(".route.upstream_protocol"), r#": protocol "Thrift" is not supported yet"#)]),
        ("@route/route/timeout", json!("1x"), vec![concat!(route!(".route.timeout"), r#": unknown unit "x" in duration "1x""#)]),
        ("@route/request_mirror_policies", json!({"cluster": "c", "percent": 10}), vec![concat!(route!(".request_mirror_policies"), ": request mirroring is not supported yet")]),
        ("@route/per_filter_config", json!({"fault": {}}), vec![concat!(route!(".per_filter_config"), ": per-route filter config (per_filter_config) is not supported yet")]),
        ("@route/direct_response", json!({"status": 200}), vec![concat!(route!(""), ": only one of route, direct_response or redirect may be set")]),
        ("@route/route", Value::Null, vec![concat!(route!(""), ": needs one of route, direct_response or redirect")]),
        ("@route", json!({"match": {"prefix": "/"}, "direct_response": {"status": 600}}), vec![concat!(route!(".direct_response.status"), ": status must be between 100 and 599, got 600")]),
        ("@route", json!({"match": {"prefix": "/"}, "direct_response": {"body": "x"}}), vec![concat!(route!(".direct_response.status"), ": required key is missing")]),
        ("@route", json!({"match": {"prefix": "/"}, "redirect": {"response_code": 304}}), vec![concat!(route!(".redirect.response_code"), ": redirect response_code must be 301, 302, 303, 307 or 308, got 304")]),
        ("@route", json!({"match": {"prefix": "/"}, "redirect": {"scheme_redirect": "1http"}}), vec![concat!(route!(".redirect.scheme_redirect"), r#": invalid scheme "1http""#)]),
        ("@route", unsupported_route(json!({"cluster_name": "c", "auto_host_rewrite_header": "x-host"})), vec![concat!(route!(".route.auto_host_rewrite_header"), ": auto host rewrite is not supported yet")]),
        // ---- clusters
        ("@cluster/name", Value::Null, vec![concat!(cluster!(".name"), ": required key is missing")]),
        ("/cluster_manager/clusters/1", json!({"name": "c"}), vec![r#"cluster_manager.clusters[1].name: duplicate cluster name "c", first defined at cluster_manager.clusters[0].name"#]),
        ("@cluster", json!({"name": "c", "type": "STRICT_DNS", "hosts": [{"address": "bad name:80"}]}), vec![concat!(cluster!(".hosts[0].address"), r#": invalid DNS host address "bad name:80", expected hostname:port"#)]),
        ("@cluster", json!({"name": "c", "type": "LOGICAL_DNS", "hosts": [], "dns_resolvers": {"servers": ["dns.test"]}}), vec![concat!(cluster!(".dns_resolvers.servers[0]"), r#": invalid DNS server "dns.test", expected ip or ip:port"#)]),
        ("@cluster", json!({"name": "c", "type": "STRICT_DNS", "hosts": [], "dns_lookup_family": "V5"}), vec![concat!(cluster!(".dns_lookup_family"), r#": unknown dns_lookup_family "V5""#)]),
        ("@cluster/type", json!("ORIGINAL_DST"), vec![concat!(cluster!(".lb_type"), ": ORIGINAL_DST clusters and LB_ORIGINAL_DST go together")]),
        ("@cluster/type", json!("EDS"), vec![concat!(cluster!(".type"), r#": cluster type "EDS" is not supported yet"#)]),
        ("@cluster/lb_type", json!("LB_ORIGINAL_DST"), vec![concat!(cluster!(".lb_type"), ": ORIGINAL_DST clusters and LB_ORIGINAL_DST go together")]),
        ("@cluster/lb_type", json!("lb_maglev"), vec![concat!(cluster!(".lb_type"), r#": load balancer "lb_maglev" is not supported yet"#)]),
        ("@cluster/lbconfig", json!({"choice_count": 0}), vec![concat!(cluster!(".lbconfig.choice_count"), ": choice_count must be at least 1")]),
        ("@cluster/lbconfig", json!({"choice_count": -1}), vec![concat!(cluster!(".lbconfig.choice_count"), ": expected an integer between 0 and 4294967295, got -1")]),
        ("@cluster/lbconfig", json!({"active_request_bias": -0.5}), vec![concat!(cluster!(".lbconfig.active_request_bias"), ": active_request_bias must be a finite number ≥ 0, got -0.5")]),
        ("@cluster/lbconfig", json!({"active_request_bias": "1"}), vec![concat!(cluster!(".lbconfig.active_request_bias"), ": expected a number, got a string")]),
        ("@cluster", json!({"name": "c", "lb_type": "LB_PEAK_EWMA", "lbconfig": {"server_error_bias": 2.0}, "hosts": []}), vec![concat!(cluster!(".lbconfig.server_error_bias"), ": server_error_bias (error-rate weighting of LB_PEAK_EWMA) is not supported yet")]),
        ("@cluster/lbconfig", json!([]), vec![concat!(cluster!(".lbconfig"), ": expected an object, got an array")]),
        ("@cluster/maglev_lb_config", json!({"table_size": 65536}), vec![concat!(cluster!(".maglev_lb_config.table_size"), ": table_size must be a prime number no larger than 5000011, got 65536")]),
        ("@cluster/maglev_lb_config", json!({"table_size": 5000077}), vec![concat!(cluster!(".maglev_lb_config.table_size"), ": table_size must be a prime number no larger than 5000011, got 5000077")]),
        ("@cluster/ring_hash_lb_config", json!({"minimum_ring_size": 0}), vec![concat!(cluster!(".ring_hash_lb_config.minimum_ring_size"), ": minimum_ring_size must be between 1 and 8388608, got 0")]),
        ("@cluster/ring_hash_lb_config", json!({"maximum_ring_size": 8388609}), vec![concat!(cluster!(".ring_hash_lb_config.maximum_ring_size"), ": maximum_ring_size must be between 1 and 8388608, got 8388609")]),
        ("@cluster/ring_hash_lb_config", json!({"minimum_ring_size": 4096, "maximum_ring_size": 2048}), vec![concat!(cluster!(".ring_hash_lb_config"), ": minimum_ring_size 4096 is larger than maximum_ring_size 2048")]),
        ("@cluster/health_check", json!({"service_name": "s", "interval": "1x"}), vec![concat!(cluster!(".health_check.interval"), r#": unknown unit "x" in duration "1x""#)]),
        ("@cluster/health_check", json!({"service_name": "s", "protocol": "Http1", "check_config": {"http_check_config": {"scheme": "https"}}}), vec![concat!(cluster!(".health_check.check_config.http_check_config.scheme"), ": HTTPS health checks use the cluster's tls_context, which is not set")]),
        ("@cluster/circuit_breakers", json!([{"max_connections": -1}]), vec![concat!(cluster!(".circuit_breakers[0].max_connections"), ": expected an integer between 0 and 4294967295, got -1")]),
        ("@cluster/outlier_detection", json!({"max_ejection_percent": 101}), vec![concat!(cluster!(".outlier_detection.max_ejection_percent"), ": max_ejection_percent must be between 0 and 100, got 101")]),
        ("@cluster/outlier_detection", json!({"interval": "0s"}), vec![concat!(cluster!(".outlier_detection.interval"), ": interval must be greater than 0")]),
        ("@cluster/outlier_detection", json!({"consecutive_5xx": -1}), vec![concat!(cluster!(".outlier_detection.consecutive_5xx"), ": expected an integer between 0 and 4294967295, got -1")]),
        ("@cluster/lb_subset_config", json!({"subset_selectors": [["v"]], "fall_back_policy": 7}), vec![concat!(cluster!(".lb_subset_config.fall_back_policy"), ": expected 0 (NO_FALLBACK), 1 (ANY_ENDPOINT) or 2 (DEFAULT_SUBSET)")]),
        ("@cluster/lb_subset_config", json!({"subset_selectors": [[]]}), vec![concat!(cluster!(".lb_subset_config.subset_selectors[0]"), ": a subset selector needs at least one key")]),
        ("@cluster/slow_start", json!({"mode": "duration"}), vec![concat!(cluster!(".slow_start.slow_start_duration"), r#": required with mode "duration" (e.g. "30s")"#)]),
        ("@cluster/slow_start", json!({"mode": "duration", "slow_start_duration": "0s"}), vec![concat!(cluster!(".slow_start.slow_start_duration"), ": must be greater than 0")]),
        ("@cluster/slow_start", json!({"mode": "duration", "slow_start_duration": "30s", "aggression": 0}), vec![concat!(cluster!(".slow_start.aggression"), ": must be greater than 0, got 0")]),
        ("@cluster/slow_start", json!({"mode": "duration", "slow_start_duration": "30s", "aggression": -1.5}), vec![concat!(cluster!(".slow_start.aggression"), ": must be greater than 0, got -1.5")]),
        ("@cluster/slow_start", json!({"mode": "duration", "slow_start_duration": "30s", "min_weight_percent": 0}), vec![concat!(cluster!(".slow_start.min_weight_percent"), ": must be in (0, 1], got 0")]),
        ("@cluster/slow_start", json!({"mode": "duration", "slow_start_duration": "30s", "min_weight_percent": 1.5}), vec![concat!(cluster!(".slow_start.min_weight_percent"), ": must be in (0, 1], got 1.5")]),
        ("@cluster/slow_start", json!({"mode": "duration", "slow_start_duration": "30s", "min_weight_percent": "x"}), vec![concat!(cluster!(".slow_start.min_weight_percent"), ": expected a number, got a string")]),
        ("@cluster", json!({"name": "c", "lb_type": "LB_PEAK_EWMA", "slow_start": {"mode": "duration", "slow_start_duration": "30s"}, "hosts": []}), vec![concat!(cluster!(".slow_start"), ": slow start is not supported yet with LB_PEAK_EWMA (only with LB_WEIGHTED_ROUNDROBIN, LB_LEAST_REQUEST and LB_LEAST_CONNECTION)")]),
        ("@cluster/spec", json!({"subscribe": [{"service_name": "x"}]}), vec![concat!(cluster!(".spec"), ": service subscription (spec) is not supported yet")]),
        ("@cluster/mark", json!(7), vec![concat!(cluster!(".mark"), ": SO_MARK on upstream connections is not supported yet")]),
        ("@cluster/tls_context", json!({"status": true, "server_name": "x"}), vec![]),
        ("@cluster/tls_context", json!({"status": true, "server_name": "a b"}), vec![concat!(cluster!(".tls_context.server_name"), r#": "a b": invalid dns name"#)]),
        ("@cluster/tls_context", json!({"status": true, "ca_cert": certs!("/missing.pem")}), vec![concat!(cluster!(".tls_context.ca_cert"), ": cannot read ", certs!("/missing.pem: No such file or directory (os error 2)"))]),
        ("@cluster/tls_context", json!({"status": true, "cert_chain": certs!("/cert.pem")}), vec![concat!(cluster!(".tls_context.private_key"), ": cert_chain is set without private_key")]),
        ("@cluster/cluster_manager_tls", json!(true), vec![concat!(cluster!(".cluster_manager_tls"), ": the shared cluster_manager TLS context is not supported yet; give the cluster its own tls_context")]),
        ("@cluster/connect_timeout", json!(3), vec![concat!(cluster!(".connect_timeout"), r#": expected a duration string such as "30s", got a number"#)]),
        ("@cluster/connect_timeout", json!("0s"), vec![concat!(cluster!(".connect_timeout"), ": 0 (no connect timeout) is not supported yet")]),
        ("@cluster/idle_timeout", json!("0"), vec![concat!(cluster!(".idle_timeout"), ": 0 (never close idle connections) is not supported yet")]),
        ("@cluster/max_request_per_conn", json!("1024"), vec![concat!(cluster!(".max_request_per_conn"), ": expected an integer between 0 and 4294967295, got a string")]),
        ("@cluster/hosts", json!({}), vec![concat!(cluster!(".hosts"), ": expected an array, got an object")]),
        ("@host/address", json!("example.com:80"), vec![concat!(cluster!(".hosts[0].address"), r#": invalid host address "example.com:80", expected ip:port or unix:/path"#)]),
        ("@host/address", json!("unix:"), vec![concat!(cluster!(".hosts[0].address"), r#": invalid host address "unix:", expected ip:port or unix:/path"#)]),
        ("@host/address", Value::Null, vec![concat!(cluster!(".hosts[0].address"), ": required key is missing")]),
        ("@host/weight", json!(-1), vec![concat!(cluster!(".hosts[0].weight"), ": expected an integer between 0 and 4294967295, got -1")]),
        ("/cluster_manager/clusters_configs", json!("/etc/mosn/clusters"), vec!["cluster_manager.clusters_configs: cluster config directories (clusters_configs) are not supported yet"]),
        ("/cluster_manager/tls_context", json!({"status": true}), vec!["cluster_manager.tls_context: the shared cluster_manager TLS context is not supported yet; give the cluster its own tls_context"]),
        // ---- servers and top level
        ("@server/default_log_level", json!("VERBOSE"), vec![r#"servers[0].default_log_level: unknown log level "VERBOSE", expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL"#]),
        ("@server/processor", json!(0), vec![r#"servers[0].processor: processor must be a positive integer or "auto""#]),
        ("@server/processor", json!(-2), vec![r#"servers[0].processor: processor must be a positive integer or "auto""#]),
        ("@server/processor", json!("many"), vec![r#"servers[0].processor: processor must be a positive integer or "auto""#]),
        ("@server/io_model", json!("epoll"), vec![r#"servers[0].io_model: unknown io_model "epoll", expected "thread_per_core" or "work_stealing""#]),
        ("@server/io_model", json!(2), vec!["servers[0].io_model: expected a string, got a number"]),
        ("@server/graceful_timeout", json!("1h-"), vec![r#"servers[0].graceful_timeout: unknown unit "h-" in duration "1h-""#]),
        ("@server/listeners", json!({}), vec!["servers[0].listeners: expected an array, got an object"]),
        ("/servers", json!({}), vec!["servers: expected an array, got an object"]),
        ("/servers/0", json!([]), vec!["servers[0]: expected an object, got an array"]),
        ("/dynamic_resources", json!({"ads_config": {}}), vec!["dynamic_resources: xDS is not supported yet"]),
        ("/static_resources", json!({"clusters": []}), vec!["static_resources: xDS is not supported yet"]),
        ("/admin/address/socket_address/address", json!("localhost"), vec![r#"admin.address.socket_address.address: invalid IP address "localhost""#]),
        ("/admin/address/socket_address/port_value", json!(70000), vec!["admin.address.socket_address.port_value: expected an integer between 0 and 65535, got 70000"]),
        ("/admin/address/socket_address/port_value", json!(0), vec!["admin.address.socket_address.port_value: must be between 1 and 65535"]),
        ("/admin/address/socket_address/port_value", Value::Null, vec!["admin.address.socket_address.port_value: required key is missing"]),
        ("/admin/address", json!({}), vec!["admin.address.socket_address: required key is missing"]),
        ("/pid", json!(5), vec!["pid: expected a string, got a number"]),
    ]
}

#[test]
fn each_change_gives_exactly_the_expected_errors() {
    let mut failures = Vec::new();
    for (pointer, value, expected) in cases() {
        let mut doc = base();
        let value = (!value.is_null()).then_some(value);
        set(&mut doc, pointer, value);
        let got = errors(&doc.to_string());
        if got != expected {
            failures.push(format!(
                "{pointer}:\n  expected {expected:#?}\n  got {got:#?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_base_config_is_valid() {
    assert!(errors(&base().to_string()).is_empty());
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let mut doc = base();
    set(&mut doc, "@http/address", Some(json!("nope")));
    set(
        &mut doc,
        "@proxy/downstream_protocol",
        Some(json!("Thrift")),
    );
    set(
        &mut doc,
        "@route/route/cluster_name",
        Some(json!("missing")),
    );
    set(
        &mut doc,
        "@cluster/health_check",
        Some(json!({"service_name": "s", "timeout": "soon"})),
    );
    set(
        &mut doc,
        "/admin/address/socket_address/port_value",
        Some(json!(-1)),
    );
    assert_eq!(
        errors(&doc.to_string()),
        [
            r#"servers[0].listeners[0].address: invalid socket address "nope""#,
            r#"servers[0].listeners[0].filter_chains[0].filters[0].config.downstream_protocol: protocol "Thrift" is not supported yet"#,
            r#"cluster_manager.clusters[0].health_check.timeout: invalid duration "soon""#,
            "admin.address.socket_address.port_value: expected an integer between 0 and 65535, got -1",
        ]
    );
}

#[test]
fn json_syntax_errors_give_line_and_column() {
    assert_eq!(
        errors("{\n  \"servers\": [\n}"),
        ["$: invalid JSON at line 3 column 1: expected value"]
    );
    assert_eq!(
        errors(""),
        ["$: invalid JSON at line 1 column 0: EOF while parsing a value"]
    );
    assert_eq!(
        errors("{} {}"),
        ["$: invalid JSON at line 1 column 4: trailing characters"]
    );
    assert_eq!(errors("[]"), ["$: expected an object, got an array"]);
}

#[test]
fn with_helper_changes_one_value() {
    assert_eq!(
        errors(&with("@http/address", json!("127.0.0.1:99999"))),
        [r#"servers[0].listeners[0].address: invalid socket address "127.0.0.1:99999""#]
    );
}

#[test]
fn missing_file_is_an_error() {
    let errors = mosn_config::load_file(std::path::Path::new("/nonexistent/mosn.json"))
        .expect_err("no such file");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path, "$");
    assert!(errors[0]
        .message
        .starts_with("cannot read /nonexistent/mosn.json:"));
}

/// A reference to a cluster or a route table that does not exist is a warning, not an
/// error: a control plane may send routes before their clusters (Envoy's rule); such
/// requests get 503 (no cluster) or 404 (no route) until the resource arrives.
#[test]
fn dangling_references_are_warnings() {
    let cases = [
        (
            "@proxy/router_config_name",
            json!("nope"),
            concat!(
                proxy!(".router_config_name"),
                r#": router "nope" is not defined in servers[0].routers; requests get 404 until it is added"#
            ),
        ),
        (
            "@tcpproxy/cluster",
            json!("nope"),
            concat!(
                tcp!(".cluster"),
                r#": cluster "nope" is not defined in cluster_manager.clusters; requests to it get 503 until it is added"#
            ),
        ),
        (
            "@tcpproxy/routes",
            json!([{"cluster": "nope"}]),
            concat!(
                tcp!(".routes[0].cluster"),
                r#": cluster "nope" is not defined in cluster_manager.clusters; requests to it get 503 until it is added"#
            ),
        ),
        (
            "@route/route/cluster_name",
            json!("nope"),
            concat!(
                route!(".route.cluster_name"),
                r#": cluster "nope" is not defined in cluster_manager.clusters; requests to it get 503 until it is added"#
            ),
        ),
        (
            "@route/route",
            json!({"weighted_clusters": [{"cluster": {"name": "nope", "weight": 1}}]}),
            concat!(
                route!(".route.weighted_clusters[0].cluster.name"),
                r#": cluster "nope" is not defined in cluster_manager.clusters; requests to it get 503 until it is added"#
            ),
        ),
    ];
    for (pointer, value, expected) in cases {
        let doc = with(pointer, value);
        assert!(errors(&doc).is_empty(), "{pointer}: {:?}", errors(&doc));
        let got = warnings(&doc);
        assert!(got.iter().any(|w| w == expected), "{pointer}: {got:?}");
    }
}
