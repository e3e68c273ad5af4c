//! `clusters[].health_check` (MOSN's `v2.HealthCheckConfig`) with MOSN's defaults and
//! semantics (`pkg/upstream/healthcheck`):
//!
//! - MOSN only builds a health checker when `service_name` is set; without one the whole
//!   section is ignored (with a warning here).
//! - `protocol` picks the check: `Http1` (any case) is an HTTP check driven by
//!   `check_config.http_check_config`; `Grpc` (mosn-rs's addition) is a
//!   `grpc.health.v1` check driven by `check_config.grpc_check_config{service_name,
//!   authority}`; `bolt`, `boltv2`, `dubbo` (and MOSN's `SofaRpc`, Bolt) send one RPC
//!   heartbeat (MOSN dials TCP for them: a heartbeat also proves the server answers);
//!   every other value, empty included, is a TCP connect check, as in MOSN, whose
//!   factory falls back to TCP dialing for protocols without a health check
//!   session of their own.
//! - Zero durations and thresholds mean "use the default", as in MOSN.

use std::time::Duration;

use crate::json::{Field, Obj};
use crate::model::{
    GrpcHealthCheck, HealthCheckConfig, HealthCheckKind, HttpHealthCheck, Protocol, StatusRange,
};

/// MOSN's `DefaultTimeout`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// MOSN's `DefaultInterval`.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);
/// MOSN's `DefaultIntervalJitter`.
const DEFAULT_INTERVAL_JITTER: Duration = Duration::from_millis(5);
/// MOSN's `firstInterval`: the wait before a host's first check.
const DEFAULT_INITIAL_DELAY: Duration = Duration::from_secs(1);
/// MOSN's `DefaultHealthyThreshold` and `DefaultUnhealthyThreshold`.
const DEFAULT_THRESHOLD: u32 = 1;
/// MOSN's HTTP check client timeout (`httpdial.go`'s `defaultTimeout`).
const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Parses the `health_check` of one cluster object; `None` when absent, ignored (no
/// `service_name`, as in MOSN) or invalid (the errors are recorded).
/// `has_tls` tells whether the cluster has a `tls_context`, which HTTPS checks need.
pub(crate) fn parse_health_check(cluster: &Obj<'_>, has_tls: bool) -> Option<HealthCheckConfig> {
    let field = cluster.get("health_check")?;
    let obj = field.as_object()?;
    // MOSN's `v2.HealthCheck` is not a pointer: `{}` is "no health check".
    if field.value.is_empty_like() {
        return None;
    }
    let Some(service_name) = obj.non_empty_str("service_name") else {
        obj.key_warn(
            "service_name",
            "MOSN runs no health check for a cluster whose health_check has no \
             service_name: health_check ignored",
        );
        obj.tolerate_all();
        return None;
    };
    let timeout = duration_or(&obj, "timeout", DEFAULT_TIMEOUT);
    let interval = duration_or(&obj, "interval", DEFAULT_INTERVAL);
    let interval_jitter = duration_or(&obj, "interval_jitter", DEFAULT_INTERVAL_JITTER);
    // A duration string despite its name.
    let initial_delay = duration_or(&obj, "initial_delay_seconds", DEFAULT_INITIAL_DELAY);
    let healthy_threshold = threshold(&obj, "healthy_threshold");
    let unhealthy_threshold = threshold(&obj, "unhealthy_threshold");
    let event_log_path = obj.non_empty_str("event_log_path").map(str::to_owned);
    // Named callbacks registered by Go code; MOSN skips names nobody registered, and
    // mosn-rs registers none.
    obj.tolerate(&["common_callbacks"]);
    let check = check_kind(&obj, has_tls);
    Some(HealthCheckConfig {
        check: check?,
        timeout: timeout?,
        interval: interval?,
        interval_jitter: interval_jitter?,
        initial_delay: initial_delay?,
        healthy_threshold: healthy_threshold?,
        unhealthy_threshold: unhealthy_threshold?,
        service_name: service_name.to_owned(),
        event_log_path,
    })
}

/// A duration where absent or zero means `default` (MOSN's rule for every health check
/// duration); `None` after an error.
fn duration_or(obj: &Obj<'_>, key: &str, default: Duration) -> Option<Duration> {
    match obj.get(key) {
        None => Some(default),
        Some(field) => field
            .as_duration()
            .map(|d| if d.is_zero() { default } else { d }),
    }
}

/// A threshold where absent or zero means MOSN's default of 1.
fn threshold(obj: &Obj<'_>, key: &str) -> Option<u32> {
    match obj.get(key) {
        None => Some(DEFAULT_THRESHOLD),
        Some(field) => field
            .as_uint::<u32>()
            .map(|n| if n == 0 { DEFAULT_THRESHOLD } else { n }),
    }
}

/// `protocol` and `check_config`.
fn check_kind(obj: &Obj<'_>, has_tls: bool) -> Option<HealthCheckKind> {
    let protocol = match obj.get("protocol") {
        None => "",
        Some(field) => field.as_str()?,
    };
    let check_config = obj.object("check_config");
    let http_config = check_config
        .as_ref()
        .and_then(|c| c.get("http_check_config"));
    if protocol.eq_ignore_ascii_case("http1") {
        let Some(http) = http_config else {
            obj.key_warn(
                "check_config.http_check_config",
                "missing: the Http1 health check falls back to a TCP connect check, as in MOSN",
            );
            return Some(HealthCheckKind::Tcp);
        };
        return parse_http_check(&http, has_tls).map(HealthCheckKind::Http);
    }
    if protocol.eq_ignore_ascii_case("grpc") {
        let grpc = match check_config
            .as_ref()
            .and_then(|c| c.object("grpc_check_config"))
        {
            Some(g) => GrpcHealthCheck {
                service_name: g.str("service_name").unwrap_or("").to_owned(),
                authority: g.non_empty_str("authority").map(str::to_owned),
            },
            None => GrpcHealthCheck {
                service_name: String::new(),
                authority: None,
            },
        };
        return Some(HealthCheckKind::Grpc(grpc));
    }
    if let Some(http) = http_config {
        http.warn("used only with protocol Http1, ignored");
        if let Some(http) = http.as_object() {
            http.tolerate_all();
        }
    }
    let rpc = [
        ("bolt", Protocol::Bolt),
        ("SofaRpc", Protocol::Bolt),
        ("boltv2", Protocol::BoltV2),
        ("dubbo", Protocol::Dubbo),
    ];
    if let Some(&(_, p)) = rpc.iter().find(|(n, _)| n.eq_ignore_ascii_case(protocol)) {
        return Some(HealthCheckKind::Heartbeat(p));
    }
    if !protocol.is_empty() && !protocol.eq_ignore_ascii_case("tcp") {
        obj.key_warn(
            "protocol",
            format!(
                "MOSN has no health check for protocol {protocol:?} and falls back to a TCP \
                 connect check; so does mosn-rs"
            ),
        );
    }
    Some(HealthCheckKind::Tcp)
}

/// `check_config.http_check_config` (MOSN's `HttpCheckConfig`).
fn parse_http_check(field: &Field<'_>, has_tls: bool) -> Option<HttpHealthCheck> {
    let obj = field.as_object()?;
    let mut ok = true;
    // MOSN uses the host's own port for 0 (and for anything out of range).
    let port = match obj.get("port").map(|f| f.as_uint::<u16>()) {
        None | Some(Some(0)) => None,
        Some(Some(port)) => Some(port),
        Some(None) => {
            ok = false;
            None
        }
    };
    let method = match obj.non_empty_str_field("method") {
        None => "GET".to_owned(),
        Some((method, field)) => {
            if !method.bytes().all(is_token_byte) {
                field.error(format!("invalid HTTP method {method:?}"));
                ok = false;
            }
            method.to_owned()
        }
    };
    let target = request_target(obj.str("path").unwrap_or(""));
    let tls = match obj.non_empty_str_field("scheme") {
        None => false,
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("http") => false,
        Some((scheme, field)) if scheme.eq_ignore_ascii_case("https") => {
            if !has_tls {
                field.error("HTTPS health checks use the cluster's tls_context, which is not set");
                ok = false;
            }
            true
        }
        Some((scheme, field)) => {
            field.error(format!(
                "unknown scheme {scheme:?}, expected \"http\" or \"https\""
            ));
            ok = false;
            false
        }
    };
    let domain = match obj.non_empty_str_field("domain") {
        None => None,
        Some((domain, field)) => {
            if domain.bytes().any(|b| b.is_ascii_control() || b == b' ') {
                field.error(format!("invalid domain {domain:?}"));
                ok = false;
            }
            Some(domain.to_owned())
        }
    };
    let timeout = duration_or(&obj, "timeout", DEFAULT_HTTP_TIMEOUT);
    let codes = parse_codes(&obj);
    ok.then_some(HttpHealthCheck {
        port,
        method,
        target,
        domain,
        timeout: timeout?,
        codes: codes?,
        tls,
    })
}

/// `codes[]{start, end}`: inclusive ranges; MOSN counts only 200 as healthy without them.
fn parse_codes(obj: &Obj<'_>) -> Option<Vec<StatusRange>> {
    let mut ok = true;
    let mut codes = Vec::new();
    for item in obj.items("codes") {
        let Some(range) = item.as_object() else {
            ok = false;
            continue;
        };
        let start = range.uint::<u16>("start");
        let end = range.uint::<u16>("end");
        match (start, end) {
            (Some(start), Some(end)) => {
                if start > end {
                    item.warn(format!(
                        "start {start} is greater than end {end}: the range matches no status"
                    ));
                }
                codes.push(StatusRange { start, end });
            }
            // A missing key is Go's zero value, an error was recorded otherwise.
            _ => {
                for key in ["start", "end"] {
                    if range.get(key).is_none() {
                        range.key_error(key, "required key is missing");
                    }
                }
                ok = false;
            }
        }
    }
    if codes.is_empty() && ok {
        codes.push(StatusRange {
            start: 200,
            end: 200,
        });
    }
    ok.then_some(codes)
}

/// RFC 9110 token characters (what Go's `http.NewRequest` accepts as a method).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `path` as MOSN's URL building turns it into a request-target: split at the first
/// `?` into path and query, `/` prepended when missing (and for an empty path), bytes not
/// allowed on the request line percent-encoded.
fn request_target(path: &str) -> String {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let mut out = String::with_capacity(path.len() + 1);
    if !path.starts_with('/') {
        out.push('/');
    }
    encode_into(&mut out, path);
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        out.push('?');
        encode_into(&mut out, query);
    }
    out
}

fn encode_into(out: &mut String, text: &str) {
    for b in text.bytes() {
        if b.is_ascii_graphic() && b != b'#' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{
        GrpcHealthCheck, HealthCheckConfig, HealthCheckKind, Protocol, StatusRange,
    };
    use serde_json::{json, Value};
    use std::time::Duration;

    fn config(health_check: Value) -> Value {
        json!({
            "servers": [{
                "listeners": [{
                    "name": "l",
                    "address": "127.0.0.1:2045",
                    "bind_port": true,
                    "filter_chains": [{ "filters": [{ "type": "tcp_proxy", "config": { "cluster": "c" } }] }]
                }]
            }],
            "cluster_manager": { "clusters": [{
                "name": "c",
                "hosts": [{ "address": "127.0.0.1:8080" }],
                "health_check": health_check
            }]}
        })
    }

    /// The parsed health check and the warnings, or the errors.
    fn parse(health_check: Value) -> Result<(Option<HealthCheckConfig>, Vec<String>), Vec<String>> {
        match crate::parse_str(&config(health_check).to_string()) {
            Ok(parsed) => Ok((
                parsed.config.clusters[0].health_check.as_deref().cloned(),
                parsed.warnings.iter().map(ToString::to_string).collect(),
            )),
            Err(errors) => Err(errors.iter().map(ToString::to_string).collect()),
        }
    }

    fn ok(health_check: Value) -> HealthCheckConfig {
        let (hc, warnings) = parse(health_check).expect("valid");
        assert!(warnings.is_empty(), "{warnings:?}");
        hc.expect("a health check")
    }

    fn errors(health_check: Value) -> Vec<String> {
        parse(health_check).expect_err("invalid")
    }

    const HC: &str = "cluster_manager.clusters[0].health_check";

    #[test]
    fn defaults_are_mosns() {
        let hc = ok(json!({ "service_name": "s" }));
        assert_eq!(hc.check, HealthCheckKind::Tcp);
        assert_eq!(hc.timeout, Duration::from_secs(1));
        assert_eq!(hc.interval, Duration::from_secs(15));
        assert_eq!(hc.interval_jitter, Duration::from_millis(5));
        assert_eq!(hc.initial_delay, Duration::from_secs(1));
        assert_eq!((hc.healthy_threshold, hc.unhealthy_threshold), (1, 1));
        assert_eq!(hc.service_name, "s");
        assert_eq!(hc.event_log_path, None);
        // Zero means "default", as in MOSN.
        let zero = ok(json!({
            "service_name": "s", "timeout": "0s", "interval": "0", "interval_jitter": "0s",
            "initial_delay_seconds": "0s", "healthy_threshold": 0, "unhealthy_threshold": 0
        }));
        assert_eq!(zero, hc);
    }

    #[test]
    fn every_key_is_read() {
        let hc = ok(json!({
            "Protocol": "Http1",
            "timeout": "150ms",
            "interval": "200ms",
            "interval_jitter": "10ms",
            "initial_delay_seconds": "50ms",
            "healthy_threshold": 2,
            "unhealthy_threshold": 3,
            "service_name": "svc",
            "event_log_path": "/tmp/hc.log",
            "common_callbacks": ["x"],
            "check_config": { "http_check_config": {
                "port": 8081, "path": "/health?full=1", "method": "HEAD", "scheme": "http",
                "domain": "example.com", "timeout": "2s",
                "codes": [{ "start": 200, "end": 299 }, { "Start": 404, "End": 404 }]
            }}
        }));
        assert_eq!(hc.timeout, Duration::from_millis(150));
        assert_eq!(hc.interval, Duration::from_millis(200));
        assert_eq!(hc.interval_jitter, Duration::from_millis(10));
        assert_eq!(hc.initial_delay, Duration::from_millis(50));
        assert_eq!((hc.healthy_threshold, hc.unhealthy_threshold), (2, 3));
        assert_eq!(hc.event_log_path.as_deref(), Some("/tmp/hc.log"));
        let HealthCheckKind::Http(http) = hc.check else {
            panic!("expected an HTTP check, got {:?}", hc.check)
        };
        assert_eq!(http.port, Some(8081));
        assert_eq!(http.target, "/health?full=1");
        assert_eq!(http.method, "HEAD");
        assert_eq!(http.domain.as_deref(), Some("example.com"));
        assert_eq!(http.timeout, Duration::from_secs(2));
        assert_eq!(
            http.codes,
            [
                StatusRange {
                    start: 200,
                    end: 299
                },
                StatusRange {
                    start: 404,
                    end: 404
                }
            ]
        );
    }

    #[test]
    fn http_defaults_are_mosns() {
        for protocol in ["Http1", "http1", "HTTP1"] {
            let hc = ok(json!({
                "protocol": protocol, "service_name": "s",
                "check_config": { "http_check_config": {} }
            }));
            let HealthCheckKind::Http(http) = hc.check else {
                panic!("{protocol}: expected an HTTP check")
            };
            assert_eq!(http.port, None);
            assert_eq!(http.method, "GET");
            assert_eq!(http.target, "/");
            assert_eq!(http.domain, None);
            assert_eq!(http.timeout, Duration::from_secs(30));
            assert_eq!(
                http.codes,
                [StatusRange {
                    start: 200,
                    end: 200
                }]
            );
        }
        let hc = ok(json!({
            "protocol": "Http1", "service_name": "s",
            "check_config": { "http_check_config": { "path": "a b#c?x y", "port": 0 } }
        }));
        let HealthCheckKind::Http(http) = hc.check else {
            panic!("expected an HTTP check")
        };
        assert_eq!(http.target, "/a%20b%23c?x%20y");
        assert_eq!(http.port, None);
    }

    #[test]
    fn grpc_checks_name_the_service_to_ask_about() {
        let (hc, warnings) = parse(json!({
            "protocol": "Grpc", "service_name": "s",
            "check_config": { "grpc_check_config": { "service_name": "pkg.Svc", "authority": "a.test" } }
        }))
        .unwrap();
        assert_eq!(warnings, Vec::<String>::new());
        assert_eq!(
            hc.unwrap().check,
            HealthCheckKind::Grpc(GrpcHealthCheck {
                service_name: "pkg.Svc".into(),
                authority: Some("a.test".into()),
            })
        );
        let (hc, _) = parse(json!({ "protocol": "grpc", "service_name": "s" })).unwrap();
        assert_eq!(
            hc.unwrap().check,
            HealthCheckKind::Grpc(GrpcHealthCheck {
                service_name: String::new(),
                authority: None,
            }),
            "without config: the server as a whole"
        );
    }

    #[test]
    fn mosn_fallbacks_warn() {
        // No service_name: MOSN builds no checker at all.
        let (hc, warnings) = parse(json!({ "protocol": "Http1", "interval": "x" })).unwrap();
        assert_eq!(hc, None);
        assert_eq!(
            warnings,
            [format!(
                "{HC}.service_name: MOSN runs no health check for a cluster whose \
                 health_check has no service_name: health_check ignored"
            )]
        );
        assert_eq!(parse(json!({})).unwrap(), (None, vec![]));
        // Http1 without its config: TCP, as in MOSN.
        let (hc, warnings) = parse(json!({ "protocol": "Http1", "service_name": "s" })).unwrap();
        assert_eq!(hc.unwrap().check, HealthCheckKind::Tcp);
        assert_eq!(
            warnings,
            [format!(
                "{HC}.check_config.http_check_config: missing: the Http1 health check falls \
                 back to a TCP connect check, as in MOSN"
            )]
        );
        // RPC protocols: one heartbeat per check.
        for (name, p) in [
            ("bolt", Protocol::Bolt),
            ("SOFARPC", Protocol::Bolt),
            ("dubbo", Protocol::Dubbo),
        ] {
            let hc = ok(json!({ "protocol": name, "service_name": "s" }));
            assert_eq!(hc.check, HealthCheckKind::Heartbeat(p), "{name}");
        }
        // Other protocols: TCP, as in MOSN.
        let (hc, warnings) = parse(json!({
            "protocol": "tars", "service_name": "s",
            "check_config": { "http_check_config": { "path": "/x" } }
        }))
        .unwrap();
        assert_eq!(hc.unwrap().check, HealthCheckKind::Tcp);
        assert_eq!(
            warnings,
            [
                format!(
                    "{HC}.check_config.http_check_config: used only with protocol Http1, ignored"
                ),
                format!(
                    "{HC}.protocol: MOSN has no health check for protocol \"tars\" and falls \
                     back to a TCP connect check; so does mosn-rs"
                ),
            ]
        );
        assert_eq!(
            ok(json!({ "protocol": "TCP", "service_name": "s" })).check,
            HealthCheckKind::Tcp
        );
    }

    #[test]
    fn invalid_values_name_their_path() {
        let http = |c: Value| json!({ "protocol": "Http1", "service_name": "s", "check_config": { "http_check_config": c } });
        let hcc = format!("{HC}.check_config.http_check_config");
        for (hc, expected) in [
            (
                json!({ "service_name": "s", "interval": "1x" }),
                vec![format!(
                    r#"{HC}.interval: unknown unit "x" in duration "1x""#
                )],
            ),
            (
                json!({ "service_name": "s", "timeout": 1 }),
                vec![format!(
                    r#"{HC}.timeout: expected a duration string such as "30s", got a number"#
                )],
            ),
            (
                json!({ "service_name": "s", "initial_delay_seconds": 5 }),
                vec![format!(
                    r#"{HC}.initial_delay_seconds: expected a duration string such as "30s", got a number"#
                )],
            ),
            (
                json!({ "service_name": "s", "healthy_threshold": -1 }),
                vec![format!(
                    "{HC}.healthy_threshold: expected an integer between 0 and 4294967295, got -1"
                )],
            ),
            (
                json!({ "service_name": "s", "protocol": 1 }),
                vec![format!("{HC}.protocol: expected a string, got a number")],
            ),
            (
                json!({ "service_name": 7 }),
                vec![format!(
                    "{HC}.service_name: expected a string, got a number"
                )],
            ),
            (
                json!("yes"),
                vec![format!("{HC}: expected an object, got a string")],
            ),
            (
                http(json!({ "scheme": "https" })),
                vec![format!(
                    "{hcc}.scheme: HTTPS health checks use the cluster's tls_context, which is not set"
                )],
            ),
            (
                http(json!({ "scheme": "ftp" })),
                vec![format!(
                    r#"{hcc}.scheme: unknown scheme "ftp", expected "http" or "https""#
                )],
            ),
            (
                http(json!({ "port": 70000 })),
                vec![format!(
                    "{hcc}.port: expected an integer between 0 and 65535, got 70000"
                )],
            ),
            (
                http(json!({ "method": "GE T" })),
                vec![format!(r#"{hcc}.method: invalid HTTP method "GE T""#)],
            ),
            (
                http(json!({ "domain": "a\r\nb" })),
                vec![format!(r#"{hcc}.domain: invalid domain "a\r\nb""#)],
            ),
            (
                http(json!({ "timeout": "soon" })),
                vec![format!(r#"{hcc}.timeout: invalid duration "soon""#)],
            ),
            (
                http(json!({ "codes": [{ "start": 200 }] })),
                vec![format!("{hcc}.codes[0].end: required key is missing")],
            ),
            (
                http(json!({ "codes": [{ "start": -1, "end": 200 }] })),
                vec![format!(
                    "{hcc}.codes[0].start: expected an integer between 0 and 65535, got -1"
                )],
            ),
            (
                http(json!({ "codes": {} })),
                vec![format!("{hcc}.codes: expected an array, got an object")],
            ),
            (
                http(json!([])),
                vec![format!("{hcc}: expected an object, got an array")],
            ),
        ] {
            assert_eq!(errors(hc.clone()), expected, "{hc}");
        }
    }

    #[test]
    fn backwards_code_ranges_warn() {
        let (_, warnings) = parse(json!({
            "protocol": "Http1", "service_name": "s",
            "check_config": { "http_check_config": { "codes": [{ "start": 300, "end": 200 }] } }
        }))
        .unwrap();
        assert_eq!(
            warnings,
            [format!(
                "{HC}.check_config.http_check_config.codes[0]: start 300 is greater than end \
                 200: the range matches no status"
            )]
        );
    }
}
