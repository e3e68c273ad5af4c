//! mosn.

use super::*;

/// A running `mosn start`: its config and log live in a temp dir; on drop it gets SIGTERM
/// (then SIGKILL if it has not exited within 10 s) and is reaped.
#[derive(Debug)]
pub struct Mosn {
    child: Child,
    pub admin: Option<SocketAddr>,
    pub listeners: Vec<SocketAddr>,
    log: PathBuf,
    dir: TempDir,
}

/// The TCP listener addresses of a MOSN config (`servers[].listeners[].address`), and the
/// admin address (0.0.0.0 polled as 127.0.0.1).
pub fn config_addresses(config: &Value) -> (Vec<SocketAddr>, Option<SocketAddr>) {
    let mut listeners = Vec::new();
    for server in config["servers"].as_array().into_iter().flatten() {
        for listener in server["listeners"].as_array().into_iter().flatten() {
            if let Some(addr) = listener["address"].as_str() {
                if let Ok(addr) = addr.parse::<SocketAddr>() {
                    listeners.push(addr);
                }
            }
        }
    }
    let sock = &config["admin"]["address"]["socket_address"];
    let admin = sock["port_value"].as_u64().map(|port| {
        let ip = match sock["address"].as_str() {
            Some("0.0.0.0") | None => "127.0.0.1",
            Some(ip) => ip,
        };
        let ip: std::net::IpAddr = ip.parse().expect("admin ip");
        SocketAddr::new(ip, port as u16)
    });
    (listeners, admin)
}

/// `config` with `MOSN_TEST_IO_MODEL` applied (see [`Mosn::spawn`]).
fn with_io_model(config: &Value) -> Value {
    let mut config = config.clone();
    let Ok(model) = std::env::var("MOSN_TEST_IO_MODEL") else {
        return config;
    };
    if let Some(servers) = config.get_mut("servers").and_then(Value::as_array_mut) {
        for server in servers.iter_mut().filter_map(Value::as_object_mut) {
            server
                .entry("io_model")
                .or_insert_with(|| Value::String(model.clone()));
        }
    }
    config
}

impl Mosn {
    /// Writes the config to a temp dir and spawns `mosn start -c` without waiting.
    /// `MOSN_TEST_IO_MODEL` (`thread_per_core`, `work_stealing`) sets `io_model` in every
    /// server that names none, so the whole suite runs under either I/O model.
    pub fn spawn(config: &Value) -> Mosn {
        let config = with_io_model(config);
        let (listeners, admin) = config_addresses(&config);
        Mosn::spawn_file(
            "mosn.json",
            &serde_json::to_vec_pretty(&config).expect("serialize config"),
            listeners,
            admin,
        )
    }

    /// Writes `contents` (a MOSN config or an Envoy bootstrap) as `file_name` in a temp
    /// dir and spawns `mosn start -c` on it without waiting; `listeners` and `admin` are
    /// where it will serve.
    pub fn spawn_file(
        file_name: &str,
        contents: &[u8],
        listeners: Vec<SocketAddr>,
        admin: Option<SocketAddr>,
    ) -> Mosn {
        let dir = TempDir::new("mosn");
        let config_path = dir.write(file_name, contents);
        let log = dir.file("mosn.log");
        let out = File::create(&log).expect("create mosn log");
        let err = out.try_clone().expect("clone log handle");
        let child = Command::new(MOSN)
            .arg("start")
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn mosn");
        Mosn {
            child,
            admin,
            listeners,
            log,
            dir,
        }
    }

    /// Spawns mosn and waits until every listener and the admin port accept connections
    /// (each is probed with a TCP connect).
    pub fn start(config: &Value) -> Mosn {
        Mosn::start_with_probe(config, true)
    }

    /// Like [`Mosn::start`] but the listeners are only checked to be listening (in
    /// /proc/net/tcp), never connected to: a probe through a `tcp_proxy` listener would
    /// open an upstream connection, which a one-shot upstream (iperf3 -1) takes for its
    /// client.
    pub fn start_without_probe(config: &Value) -> Mosn {
        Mosn::start_with_probe(config, false)
    }

    fn start_with_probe(config: &Value, probe: bool) -> Mosn {
        let mut mosn = Mosn::spawn(config);
        mosn.wait_ready(probe);
        mosn
    }

    /// Waits until every listener and the admin port accept connections (listeners only
    /// checked to be listening without `probe`); fails the test with the log otherwise.
    pub fn wait_ready(&mut self, probe: bool) {
        let mosn = self;
        let mut addrs: Vec<(SocketAddr, bool)> =
            mosn.listeners.iter().map(|a| (*a, probe)).collect();
        addrs.extend(mosn.admin.map(|a| (a, true)));
        let deadline = Instant::now() + START_TIMEOUT;
        for (addr, connect) in addrs {
            loop {
                if let Ok(Some(status)) = mosn.child.try_wait() {
                    panic!(
                        "mosn exited ({status}) while starting; log:\n{}",
                        mosn.log()
                    );
                }
                let ready = if connect {
                    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
                } else {
                    wait_listening(addr.port(), Duration::ZERO)
                };
                if ready {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "mosn does not listen on {addr} within {START_TIMEOUT:?}; log:\n{}",
                    mosn.log()
                );
                thread::sleep(Duration::from_millis(20));
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything mosn printed so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The config file mosn was started with.
    pub fn config_path(&self) -> PathBuf {
        self.dir.file("mosn.json")
    }

    /// Replaces the config file (under the same I/O model as at start) and runs
    /// `mosn reload -c` on it; returns that command's output.
    pub fn reload(&self, config: &Value) -> Output {
        fs::write(
            self.config_path(),
            serde_json::to_vec_pretty(&with_io_model(config)).expect("serialize config"),
        )
        .expect("write mosn.json");
        run_bounded(
            Command::new(MOSN)
                .arg("reload")
                .arg("-c")
                .arg(self.config_path()),
            Duration::from_secs(30),
        )
    }

    pub fn signal(&self, signal: &str) {
        send_signal(self.pid(), signal);
    }

    /// Waits for mosn to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_timeout(&mut self.child, timeout)
    }

    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    fn admin_addr(&self) -> SocketAddr {
        self.admin.expect("this mosn config has no admin address")
    }

    /// GET on the admin API.
    pub fn admin_get(&self, path: &str) -> HttpResponse {
        let req = format!("GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n");
        http_exchange(self.admin_addr(), req.as_bytes())
            .unwrap_or_else(|e| panic!("admin GET {path}: {e}; mosn log:\n{}", self.log()))
    }

    /// POST on the admin API.
    pub fn admin_post(&self, path: &str, body: &str) -> HttpResponse {
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        http_exchange(self.admin_addr(), req.as_bytes())
            .unwrap_or_else(|e| panic!("admin POST {path}: {e}; mosn log:\n{}", self.log()))
    }

    /// `/api/v1/stats` as JSON.
    pub fn stats(&self) -> Value {
        let resp = self.admin_get("/api/v1/stats");
        assert_eq!(resp.status, 200, "stats: {}", resp.text());
        serde_json::from_slice(&resp.body)
            .unwrap_or_else(|e| panic!("stats is not JSON ({e}): {}", resp.text()))
    }

    /// One counter: `kind` is `listener` or `cluster`. Fails the test when it is missing.
    pub fn stat(&self, kind: &str, name: &str, counter: &str) -> u64 {
        let stats = self.stats();
        stats[kind][name][counter]
            .as_u64()
            .unwrap_or_else(|| panic!("no counter {kind}.{name}.{counter} in stats:\n{stats:#}"))
    }

    /// Asserts that a counter reaches exactly `expected` (within 5 s: the proxy may count
    /// a request just after the client has read its response).
    pub fn expect_stat(&self, kind: &str, name: &str, counter: &str, expected: u64) {
        self.wait_stat(kind, name, counter, Duration::from_secs(5), |n| {
            n == expected
        });
    }

    /// Polls a counter until `pred` holds and returns its value; fails the test with the
    /// stats dump when it does not hold within `timeout`. A counter not created yet (the
    /// registry adds a listener's counters on its first connection) reads as 0.
    pub fn wait_stat(
        &self,
        kind: &str,
        name: &str,
        counter: &str,
        timeout: Duration,
        pred: impl Fn(u64) -> bool,
    ) -> u64 {
        let deadline = Instant::now() + timeout;
        loop {
            let stats = self.stats();
            let v = stats[kind][name][counter].as_u64().unwrap_or(0);
            if pred(v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{kind}.{name}.{counter} = {v} did not reach the expected value within \
                 {timeout:?}; stats:\n{stats:#}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Mosn {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            send_signal(self.child.id(), "TERM");
            if wait_timeout(&mut self.child, Duration::from_secs(10)).is_none() {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
    }
}

/// A one-listener HTTP proxy config: `proxy_extra` keys are merged into the `proxy`
/// filter config, `server_extra` into the server.
pub fn http_config(
    listen: SocketAddr,
    admin_port: Option<u16>,
    virtual_hosts: Value,
    clusters: Value,
    proxy_extra: Value,
    server_extra: Value,
) -> Value {
    let mut proxy = json!({
        "downstream_protocol": "Http1",
        "upstream_protocol": "Http1",
        "router_config_name": "test_router"
    });
    merge(&mut proxy, proxy_extra);
    let mut server = json!({
        "default_log_path": "stdout",
        "default_log_level": "INFO",
        "routers": [{ "router_config_name": "test_router", "virtual_hosts": virtual_hosts }],
        "listeners": [{
            "name": "test_listener",
            "address": listen.to_string(),
            "bind_port": true,
            "filter_chains": [{ "filters": [{ "type": "proxy", "config": proxy }] }]
        }]
    });
    merge(&mut server, server_extra);
    let mut config = json!({
        "servers": [server],
        "cluster_manager": { "clusters": clusters }
    });
    if let Some(port) = admin_port {
        set_admin(&mut config, port);
    }
    config
}

/// Gives `config` an admin listener on `port` (for stats), replacing any it had.
pub fn set_admin(config: &mut Value, port: u16) {
    config["admin"] =
        json!({ "address": { "socket_address": { "address": "127.0.0.1", "port_value": port } } });
}

/// A one-listener HTTP/1 proxy on `port` sending every request to the one host
/// `upstream` (cluster `up`), with the admin API on `admin`.
pub fn forward_config(port: u16, admin: u16, upstream: u16) -> Value {
    forward_to_cluster(port, admin, cluster("up", &[local(upstream)]))
}

/// A one-listener HTTP/1 proxy on `port` sending every request to `cluster` (a whole
/// cluster object, e.g. one with a `tls_context`), with the admin API on `admin`.
pub fn forward_to_cluster(port: u16, admin: u16, cluster: Value) -> Value {
    let name = cluster["name"]
        .as_str()
        .expect("a named cluster")
        .to_owned();
    http_config(
        local(port),
        Some(admin),
        forward_all(&name),
        json!([cluster]),
        json!({}),
        json!({}),
    )
}

/// An HTTP health check of `path` every 200 ms that takes a host out after one failure
/// and back after one success (`service_name` `hc`).
pub fn fast_http_health_check(path: &str) -> Value {
    json!({
        "protocol": "Http1",
        "service_name": "hc",
        "timeout": "500ms",
        "interval": "200ms",
        "initial_delay_seconds": "100ms",
        "unhealthy_threshold": 1,
        "healthy_threshold": 1,
        "check_config": { "http_check_config": { "path": path, "timeout": "1s" } }
    })
}

/// A `SIMPLE` round-robin cluster.
pub fn cluster(name: &str, hosts: &[SocketAddr]) -> Value {
    json!({
        "name": name,
        "type": "SIMPLE",
        "lb_type": "LB_ROUNDROBIN",
        "hosts": hosts.iter().map(|h| json!({ "address": h.to_string() })).collect::<Vec<_>>()
    })
}

/// mosn with one HTTP listener sending everything to the one host `upstream` (cluster
/// `origin`), `proxy` merged into its proxy filter and `server_extra` into its server;
/// returns it with its listening port.
pub fn proxy_to_origin(upstream: u16, proxy: Value, server_extra: Value) -> (Mosn, u16) {
    let listen = free_port();
    let config = http_config(
        local(listen),
        Some(free_port()),
        forward_all("origin"),
        json!([cluster("origin", &[local(upstream)])]),
        proxy,
        server_extra,
    );
    (Mosn::start(&config), listen)
}

/// A one-listener HTTP/1 proxy that answers every request itself: 200 with `body`.
pub fn answer_all_config(listen: SocketAddr, admin_port: Option<u16>, body: &str) -> Value {
    http_config(
        listen,
        admin_port,
        json!([{ "name": "d", "domains": ["*"], "routers": [{ "match": { "prefix": "/" }, "direct_response": { "status": 200, "body": body } }] }]),
        json!([]),
        json!({}),
        json!({}),
    )
}

/// A catch-all virtual host forwarding everything to `cluster`.
pub fn forward_all(cluster: &str) -> Value {
    json!([{
        "name": "all",
        "domains": ["*"],
        "routers": [{ "match": { "prefix": "/" }, "route": { "cluster_name": cluster } }]
    }])
}

fn merge(target: &mut Value, extra: Value) {
    if let (Some(t), Value::Object(e)) = (target.as_object_mut(), extra) {
        for (k, v) in e {
            t.insert(k, v);
        }
    }
}

/// Rewrites ports everywhere in a MOSN config: `"ip:port"` strings and `port_value`
/// numbers whose port is a key of `map`; `0.0.0.0` admin/listener IPs become 127.0.0.1
/// (the tests bind loopback only).
pub fn rewrite_ports(value: &mut Value, map: &HashMap<u16, u16>) {
    match value {
        Value::String(s) => {
            if let Ok(addr) = s.parse::<SocketAddr>() {
                if let Some(&new) = map.get(&addr.port()) {
                    let mut addr = addr;
                    addr.set_port(new);
                    *s = addr.to_string();
                }
            } else if s == "0.0.0.0" {
                *s = "127.0.0.1".to_owned();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_ports(v, map)),
        Value::Object(obj) => {
            for (k, v) in obj.iter_mut() {
                if k.eq_ignore_ascii_case("port_value") {
                    if let Some(port) = v.as_u64() {
                        if let Some(&new) = map.get(&(port as u16)) {
                            *v = json!(new);
                        }
                    }
                } else {
                    rewrite_ports(v, map);
                }
            }
        }
        _ => {}
    }
}

/// A MOSN client/server sample pair (`{prefix}client_config.json` and
/// `{prefix}server_config.json`) with their ports moved to free ones: the client's
/// listener (2045), the server's listener (2046), the application behind the server
/// (`app_port` in the samples: 8080, or 20880 for Dubbo) and both admin ports.
pub struct SamplePair {
    pub client: Value,
    pub server: Value,
    pub client_port: u16,
    pub server_port: u16,
    pub app_port: u16,
}

impl SamplePair {
    /// Reads the pair `prefix` names, rewriting `sample_app_port` to a free port too.
    pub fn read(prefix: &str, sample_app_port: u16) -> SamplePair {
        let (client_port, server_port, app_port) = (free_port(), free_port(), free_port());
        let map = HashMap::from([
            (2045, client_port),
            (2046, server_port),
            (sample_app_port, app_port),
            (34901, free_port()),
            (34902, free_port()),
        ]);
        let read = |side: &str| {
            let mut c = read_json(&samples_dir().join(format!("{prefix}{side}_config.json")));
            rewrite_ports(&mut c, &map);
            c
        };
        SamplePair {
            client: read("client"),
            server: read("server"),
            client_port,
            server_port,
            app_port,
        }
    }
}
