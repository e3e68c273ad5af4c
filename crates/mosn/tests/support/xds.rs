//! The xDS test control plane (`tests/peers/xds/ads_server.py`: SotW and Delta ADS on
//! grpcio with Envoy's official protos, already checked against Envoy 1.40), the gRPC
//! echo backend it routes to, and Envoy bootstraps pointing at it.

use super::*;

/// A running `ads_server.py`: its HTTP control endpoint and its request log.
#[derive(Debug)]
pub struct ControlPlane {
    peer: Peer,
    /// Where the ADS server listens.
    pub port: u16,
    control: SocketAddr,
    out: PathBuf,
}

impl ControlPlane {
    /// Starts the server on a free port with `args` (e.g. `--resources echo
    /// --ingress-port N --backend-port M`); its logs go to `dir`.
    pub fn start(args: &[String], dir: &TempDir) -> ControlPlane {
        ControlPlane::start_on(free_port(), args, dir)
    }

    /// Starts the server on `port` (a restart keeps the port the proxy dials).
    pub fn start_on(port: u16, args: &[String], dir: &TempDir) -> ControlPlane {
        let control = local(free_port());
        let out = dir.file("ads-out");
        let mut peer = Peer::spawn(
            "ads_server.py",
            Command::new(peer_python())
                .arg(peer_script("xds/ads_server.py"))
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--control")
                .arg(control.to_string())
                .arg("--out-dir")
                .arg(&out)
                .args(args)
                .env("MAX_SECONDS", "240")
                .env(
                    "ISTIO_DUMPS",
                    concat!(
                        env!("CARGO_MANIFEST_DIR"),
                        "/../../../shared/testdata/istio"
                    ),
                ),
            dir.file(&format!("ads-{port}.log")),
        );
        peer.wait_ready("listening", || {
            wait_for_port(local(port), START_TIMEOUT) && wait_for_port(control, START_TIMEOUT)
        });
        ControlPlane {
            peer,
            port,
            control,
            out,
        }
    }

    /// POSTs `body` to the control endpoint's `op` (`upsert`, `remove`, `bad`, `reload`).
    pub fn post(&self, op: &str, body: &Value) -> Value {
        let body = body.to_string();
        let req = format!(
            "POST /{op} HTTP/1.1\r\nHost: control\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let resp = http_exchange(self.control, req.as_bytes())
            .unwrap_or_else(|e| panic!("control POST /{op}: {e}; log:\n{}", self.peer.log()));
        assert_eq!(resp.status, 200, "control /{op}: {}", resp.text());
        serde_json::from_slice(&resp.body).unwrap_or(Value::Null)
    }

    /// Every request the proxy sent, as logged (`kind`: REQUEST, ACK, NACK; `type`;
    /// `error_detail`; ...), oldest first.
    pub fn requests(&self) -> Vec<Value> {
        let text = fs::read_to_string(self.out.join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until a logged request satisfies `pred` and returns it; fails the test with
    /// the log when none does within `timeout`.
    pub fn wait_request(
        &self,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(r) = self.requests().into_iter().find(|r| pred(r)) {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "no request {what} within {timeout:?}; requests:\n{}\nserver log:\n{}",
                self.requests()
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
                self.peer.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's log.
    pub fn log(&self) -> String {
        self.peer.log()
    }

    /// Kills the server (the proxy must keep serving without it).
    pub fn kill(&mut self) {
        self.peer.kill();
    }
}

/// A running `sds_server.py` (Istio's agent's SDS: `StreamSecrets` on a Unix socket,
/// secrets `default` and `ROOTCA` from certificates `mkcerts.sh` mints).
#[derive(Debug)]
pub struct SdsServer {
    peer: Peer,
    /// Its Unix socket.
    pub socket: PathBuf,
    control: SocketAddr,
    out: PathBuf,
}

impl SdsServer {
    /// Starts the server with its socket, certificates and logs in `dir`.
    pub fn start(dir: &TempDir) -> SdsServer {
        let socket = dir.file("sds.sock");
        let out = dir.file("sds-out");
        let control = local(free_port());
        let mut peer = Peer::spawn(
            "sds_server.py",
            Command::new(peer_python())
                .arg(peer_script("xds/sds_server.py"))
                .arg("--listen")
                .arg(format!("unix:{}", socket.display()))
                .arg("--control")
                .arg(control.to_string())
                .arg("--out-dir")
                .arg(&out)
                .args(["--sa", "test"])
                .env("MAX_SECONDS", "240"),
            dir.file("sds.log"),
        );
        peer.wait_ready("listening", || {
            wait_for_port(control, START_TIMEOUT) && socket.exists()
        });
        SdsServer {
            peer,
            socket,
            control,
            out,
        }
    }

    /// The current workload certificate's SHA-256 fingerprint (openssl's `AB:CD:…`).
    pub fn fingerprint(&self) -> String {
        let current = read_json(&self.out.join("sds_current.json"));
        current["fingerprint"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The CA and the workload certificate and key files.
    pub fn files(&self) -> (PathBuf, PathBuf, PathBuf) {
        let certs = self.out.join("certs");
        (
            certs.join("ca.pem"),
            certs.join("default.test.pem"),
            certs.join("default.test.key"),
        )
    }

    /// Mints a new workload certificate and pushes it.
    pub fn rotate(&self) {
        let req = "POST /rotate HTTP/1.1\r\nHost: control\r\nConnection: close\r\n\
                   Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
        let resp = http_exchange(self.control, req.as_bytes())
            .unwrap_or_else(|e| panic!("SDS rotate: {e}; log:\n{}", self.peer.log()));
        assert_eq!(resp.status, 200, "SDS rotate: {}", resp.text());
    }
}

/// The SHA-256 fingerprint (openssl's `AB:CD:…`) of the certificate a TLS server on
/// `port` presents.
pub fn served_fingerprint(port: u16) -> String {
    let out = run_bounded(
        Command::new(tool("openssl"))
            .args(["s_client", "-connect"])
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null()),
        Duration::from_secs(15),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let (Some(start), Some(end)) = (
        text.find("-----BEGIN CERTIFICATE-----"),
        text.find("-----END CERTIFICATE-----"),
    ) else {
        return String::new();
    };
    let dir = TempDir::new("fp");
    let pem = dir.write(
        "cert.pem",
        &text[start..end + "-----END CERTIFICATE-----".len()],
    );
    let fp = run_bounded(
        Command::new(tool("openssl"))
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
            .arg(&pem),
        Duration::from_secs(15),
    );
    String::from_utf8_lossy(&fp.stdout)
        .trim()
        .rsplit('=')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// `backend.py serve`: a grpcio echo server answering `/echo.Echo/Echo` with `NAME:<request>`.
pub fn grpc_backend(port: u16, name: &str, dir: &TempDir) -> Peer {
    let mut peer = Peer::spawn(
        "backend.py",
        Command::new(peer_python())
            .arg(peer_script("xds/backend.py"))
            .args(["serve", "--port", &port.to_string(), "--name", name])
            .env("MAX_SECONDS", "240"),
        dir.file(&format!("backend-{port}.log")),
    );
    peer.wait_ready("listening", || wait_for_port(local(port), START_TIMEOUT));
    peer
}

/// `backend.py call` through `target`: true when the reply starts with `expect` (retried
/// for up to `wait` seconds).
pub fn grpc_call(target: SocketAddr, expect: &str, wait: u32) -> (bool, String) {
    let out = run_bounded(
        Command::new(peer_python())
            .arg(peer_script("xds/backend.py"))
            .arg("call")
            .arg("--target")
            .arg(target.to_string())
            .arg("--expect")
            .arg(expect)
            .arg("--wait")
            .arg(wait.to_string()),
        Duration::from_secs(u64::from(wait) + 20),
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// [`ads_bootstrap`] with Istio's `sds-grpc` cluster to an SDS server's Unix socket.
pub fn ads_bootstrap_with_sds(ads_port: u16, admin: u16, delta: bool, sds: &Path) -> String {
    format!(
        r#"{}  - name: sds-grpc
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {{http2_protocol_options: {{}}}}
    load_assignment:
      cluster_name: sds-grpc
      endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{pipe: {{path: "{}"}}}}}}}}]}}]
"#,
        ads_bootstrap(ads_port, admin, delta),
        sds.display()
    )
}

/// An Envoy bootstrap (YAML) whose listeners and clusters all come over ADS from
/// 127.0.0.1:`ads_port`, SotW (`GRPC`) or `DELTA_GRPC`, with the admin on `admin`.
pub fn ads_bootstrap(ads_port: u16, admin: u16, delta: bool) -> String {
    let api_type = if delta { "DELTA_GRPC" } else { "GRPC" };
    format!(
        r#"node:
  id: sidecar~127.0.0.1~mosn-test.default~default.svc.cluster.local
  cluster: mosn-test
admin:
  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}
dynamic_resources:
  ads_config:
    api_type: {api_type}
    transport_api_version: V3
    set_node_on_first_message_only: true
    grpc_services: [{{envoy_grpc: {{cluster_name: xds-grpc}}}}]
  cds_config: {{ads: {{}}, resource_api_version: V3}}
  lds_config: {{ads: {{}}, resource_api_version: V3}}
static_resources:
  clusters:
  - name: xds-grpc
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {{http2_protocol_options: {{}}}}
    load_assignment:
      cluster_name: xds-grpc
      endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {ads_port}}}}}}}}}]}}]
"#
    )
}

impl ControlPlane {
    /// Every push the server sent (`stream`, `type`, `nonce`, `version_info` or
    /// `system_version_info`, `resources {name: version}`, Delta's `removed`), oldest
    /// first.
    pub fn responses(&self) -> Vec<Value> {
        let text = fs::read_to_string(self.out.join("responses.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// mosn started from the Envoy `bootstrap` (YAML) with its admin API on `admin`, once
/// its listeners and admin answer.
pub fn mosn_from_bootstrap(bootstrap: &str, admin: SocketAddr) -> Mosn {
    let mut mosn = Mosn::spawn_file(
        "bootstrap.yaml",
        bootstrap.as_bytes(),
        Vec::new(),
        Some(admin),
    );
    mosn.wait_ready(true);
    mosn
}

/// `ads_server.py`'s arguments for the echo set: listener `ingress_<ingress_port>` →
/// RDS `echo_route` → EDS `echo_cluster` (h2) → the backend on `backend_port`.
pub fn echo_args(backend_port: u16, ingress_port: u16) -> Vec<String> {
    vec![
        "--resources".into(),
        "echo".into(),
        "--backend-port".into(),
        backend_port.to_string(),
        "--ingress-port".into(),
        ingress_port.to_string(),
    ]
}
