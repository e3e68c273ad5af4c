//! Shared helpers for the end-to-end tests: free ports, temp dirs, process guards for
//! `mosn` and for the real peers (nginx, socat, iperf3, python3), and runners for curl and
//! wrk.
//!
//! Every test is bounded: each wait has a deadline, each child process is owned by a guard
//! that stops it (by its PID) and reaps it on drop, and every socket has read/write
//! timeouts. Only loopback addresses are used. A missing peer is a test failure with a
//! message naming it (CI installs them with `scripts/install-test-peers.sh`).

// Each test file uses only part of this module.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// The binary under test.
pub const MOSN: &str = env!("CARGO_BIN_EXE_mosn");

/// Socket read/write timeout of the raw test clients.
pub const IO_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a process may take to start listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// MOSN's sample configs (shared test data next to the workspace).
pub fn samples_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/mosn-configs"
    ))
}

/// The workspace root (for `examples/`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Value {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------
// Ports and temp dirs
// ---------------------------------------------------------------------------------------

/// Ports already handed out by this test binary, so two tests never get the same one.
static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());

fn free_port_on(ip: &str) -> u16 {
    for _ in 0..1000 {
        let listener = TcpListener::bind((ip, 0)).expect("bind an ephemeral loopback port");
        let port = listener.local_addr().expect("local_addr").port();
        drop(listener);
        let mut used = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        if !used.contains(&port) {
            used.push(port);
            return port;
        }
    }
    panic!("no free port found on {ip}");
}

/// A port that was free on 127.0.0.1 a moment ago (bound to :0, then released).
pub fn free_port() -> u16 {
    free_port_on("127.0.0.1")
}

/// A port that was free on [::1] a moment ago.
pub fn free_port_v6() -> u16 {
    free_port_on("::1")
}

/// `127.0.0.1:port`.
pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

static DIR_SEQ: AtomicU64 = AtomicU64::new(0);

/// A directory under the system temp dir, unique to one test, removed on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let seq = DIR_SEQ.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "mosn-e2e-{tag}-{}-{seq}-{nanos}",
            std::process::id()
        ));
        fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the dir.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `contents` to `name` inside the dir and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.file(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent dir");
        }
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Deterministic pseudo-random bytes (xorshift), so payloads are not compressible or
/// periodic and a corruption anywhere shows.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// SHA-256 of a file, computed by python3's hashlib (no hashing crate in the tests).
pub fn sha256_file(path: &Path) -> String {
    let out = run_bounded(
        Command::new(tool("python3")).args([
            "-c",
            "import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())",
            path.to_str().expect("utf-8 path"),
        ]),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "python3 sha256 failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

// ---------------------------------------------------------------------------------------
// Peers and processes
// ---------------------------------------------------------------------------------------

/// The path of a required test peer; panics (fails the test) with a clear message when it
/// is not installed.
pub fn tool(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for extra in ["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin", "/bin"] {
        dirs.push(PathBuf::from(extra));
    }
    for dir in dirs {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "required test peer `{name}` is not installed: the end-to-end tests drive real \
         peers (curl, wrk, socat, iperf3, nginx, python3, dnsmasq); install them with \
         scripts/install-test-peers.sh"
    );
}

/// Polls `try_wait` until the child exits or `timeout` passes.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("try_wait failed: {e}"),
        }
    }
}

/// Runs a command to completion with its output captured; kills it and fails the test
/// if it runs longer than `timeout`.
pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut stdout = child.stdout.take().expect("stdout piped");
    let mut stderr = child.stderr.take().expect("stderr piped");
    let out = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let Some(status) = wait_timeout(&mut child, timeout) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{cmd:?} did not finish within {timeout:?}");
    };
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// Sends a signal (`TERM`, `INT`, `KILL`...) to one process by PID: with `kill(1)`, or the
/// POSIX shell's `kill` builtin where procps is not installed.
pub fn send_signal(pid: u32, signal: &str) {
    let status = match Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
    {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Command::new("sh")
            .args(["-c", &format!("kill -s {signal} {pid}")])
            .status()
            .expect("run sh -c kill"),
        other => other.expect("run kill"),
    };
    assert!(status.success(), "kill -s {signal} {pid} failed");
}

/// True once something accepts TCP connections on `addr` (polled until `timeout`).
pub fn wait_for_port(addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

/// True once a socket listens on `port` (127.0.0.1, ::1 or any address), read from
/// /proc/net/tcp{,6} without connecting — for peers that serve exactly one connection
/// (iperf3 -1) where a probe connection would be taken as the real client.
pub fn wait_listening(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let needle = format!(":{port:04X}");
    loop {
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let text = fs::read_to_string(table).unwrap_or_default();
            for line in text.lines().skip(1) {
                let cols: Vec<&str> = line.split_whitespace().collect();
                if cols.len() > 3 && cols[1].ends_with(&needle) && cols[3] == "0A" {
                    return true;
                }
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A child process of a real peer (nginx, socat, iperf3, python3) that is killed by its
/// PID and reaped on drop. Its stdout and stderr go to a log file.
#[derive(Debug)]
pub struct Peer {
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl Peer {
    /// Spawns `cmd` with output to `log`.
    pub fn spawn(name: &str, cmd: &mut Command, log: PathBuf) -> Peer {
        let out = File::create(&log).expect("create peer log");
        let err = out.try_clone().expect("clone log handle");
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        Peer {
            name: name.to_owned(),
            child,
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails the test with the peer's log unless `ready` turns true in time and the peer
    /// is still running.
    pub fn wait_ready(&mut self, what: &str, ready: impl FnOnce() -> bool) {
        let ok = ready();
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited ({status}) while starting; log:\n{}",
                self.name,
                self.log()
            );
        }
        assert!(
            ok,
            "{} is not ready ({what}) within the timeout; log:\n{}",
            self.name,
            self.log()
        );
    }

    /// SIGKILL now and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the peer to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_timeout(&mut self.child, timeout)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// mosn
// ---------------------------------------------------------------------------------------

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

impl Mosn {
    /// Writes the config to a temp dir and spawns `mosn start -c` without waiting.
    pub fn spawn(config: &Value) -> Mosn {
        let dir = TempDir::new("mosn");
        let config_path = dir.write(
            "mosn.json",
            serde_json::to_vec_pretty(config).expect("serialize config"),
        );
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
        let (listeners, admin) = config_addresses(config);
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
        mosn
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
        config["admin"] = json!({ "address": { "socket_address": { "address": "127.0.0.1", "port_value": port } } });
    }
    config
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

// ---------------------------------------------------------------------------------------
// Raw HTTP/1.1 client
// ---------------------------------------------------------------------------------------

/// One parsed HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// First value of a header (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut line = Vec::new();
    let n = r.read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before a full line",
        ));
    }
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|e| invalid(format!("non-UTF-8 line: {e}")))
}

/// Reads one response (skipping nothing: a 1xx is returned as is) from `r`. `head`: the
/// request was HEAD, so there is no body whatever the headers say.
pub fn read_response(r: &mut impl BufRead, head: bool) -> io::Result<HttpResponse> {
    let status_line = read_line(r)?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(invalid(format!("bad status line {status_line:?}")));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(r)?;
        if line.is_empty() {
            break;
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("bad header line {line:?}")))?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let mut resp = HttpResponse {
        status,
        headers,
        body: Vec::new(),
    };
    if head || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(resp);
    }
    let chunked = resp
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            let line = read_line(r)?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| invalid(format!("bad chunk size line {line:?}")))?;
            if size == 0 {
                // Trailers, then the empty line.
                while !read_line(r)?.is_empty() {}
                break;
            }
            let start = resp.body.len();
            resp.body.resize(start + size, 0);
            r.read_exact(&mut resp.body[start..])?;
            let crlf = read_line(r)?;
            if !crlf.is_empty() {
                return Err(invalid(format!("chunk not followed by CRLF: {crlf:?}")));
            }
        }
    } else if let Some(len) = resp.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| invalid(format!("bad content-length {len:?}")))?;
        resp.body.resize(len, 0);
        r.read_exact(&mut resp.body)?;
    } else {
        r.read_to_end(&mut resp.body)?;
    }
    Ok(resp)
}

/// Connects with the test timeouts set.
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// One connection, one raw request, one response.
pub fn http_exchange(addr: SocketAddr, raw: &[u8]) -> io::Result<HttpResponse> {
    let mut stream = connect(addr)?;
    stream.write_all(raw)?;
    let head = raw.starts_with(b"HEAD ");
    read_response(&mut BufReader::new(stream), head)
}

/// `GET path` with `Host` and `Connection: close`.
pub fn http_get(addr: SocketAddr, path: &str, host: &str) -> HttpResponse {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    http_exchange(addr, req.as_bytes()).unwrap_or_else(|e| panic!("GET {path} via {addr}: {e}"))
}

/// A keep-alive client connection for sequential requests.
pub struct Client {
    pub reader: BufReader<TcpStream>,
    pub writer: TcpStream,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        let writer = stream.try_clone().expect("clone stream");
        Client {
            reader: BufReader::new(stream),
            writer,
        }
    }

    pub fn send(&mut self, raw: &[u8]) -> io::Result<()> {
        self.writer.write_all(raw)
    }

    pub fn read(&mut self, head: bool) -> io::Result<HttpResponse> {
        read_response(&mut self.reader, head)
    }

    /// `GET path` on this connection (keep-alive).
    pub fn get(&mut self, path: &str, host: &str) -> HttpResponse {
        let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
        self.send(req.as_bytes())
            .unwrap_or_else(|e| panic!("write GET {path}: {e}"));
        self.read(false)
            .unwrap_or_else(|e| panic!("read response to GET {path}: {e}"))
    }

    pub fn shutdown_write(&self) {
        let _ = self.writer.shutdown(Shutdown::Write);
    }
}

/// Parses `key=value` lines (the nginx echo format) into a map.
pub fn echo_fields(body: &str) -> HashMap<String, String> {
    body.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// nginx
// ---------------------------------------------------------------------------------------

/// The 100-byte body of nginx's `/small`.
pub const SMALL_BODY: &str =
    "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqr";

/// Size of nginx's static `/large.bin`.
pub const LARGE_LEN: usize = 16 * 1024;

/// The standard nginx server block: `/small` (100 bytes), `/large.bin` (16 KiB static
/// file), `/echo...` (request facts as `key=value` lines), anything else: `uri=$uri`.
/// Every response carries `X-Upstream-Drop: drop` for the response-header tests.
pub fn echo_server_block() -> String {
    let echo = [
        "uri=$request_uri",
        "host=$host",
        "http_host=$http_host",
        "xff=$http_x_forwarded_for",
        "xfp=$http_x_forwarded_proto",
        "rid=$http_x_request_id",
        "secret=$http_x_secret",
        "keepalive=$http_keep_alive",
        "proxyconn=$http_proxy_connection",
        "connection=$http_connection",
        "upgrade=$http_upgrade",
        "added=$http_x_added",
        "removeme=$http_x_remove_me",
        "method=$request_method",
        "",
    ]
    .join("\\n");
    format!(
        r#"
        add_header X-Upstream-Drop drop always;
        location = /small {{ return 200 "{SMALL_BODY}"; }}
        location = /large.bin {{ }}
        location /echo {{ return 200 "{echo}"; }}
        location / {{ return 200 "uri=$uri\n"; }}
"#
    )
}

/// nginx serving `servers` (port, server-block body) in the foreground, one process, all
/// paths in a temp dir. Killed by PID on drop.
pub struct Nginx {
    peer: Peer,
    dir: TempDir,
    pub ports: Vec<u16>,
}

impl Nginx {
    /// nginx with the standard echo server on `port`.
    pub fn echo(port: u16) -> Nginx {
        Nginx::start(&[(port, echo_server_block())])
    }

    pub fn start(servers: &[(u16, String)]) -> Nginx {
        let nginx = tool("nginx");
        let dir = TempDir::new("nginx");
        let d = dir.path().display().to_string();
        dir.write("www/large.bin", random_bytes(LARGE_LEN, 0x5eed));
        let mut server_blocks = String::new();
        for (port, body) in servers {
            server_blocks.push_str(&format!(
                "    server {{\n        listen 127.0.0.1:{port};\n        server_name _;\n        root {d}/www;\n{body}\n    }}\n"
            ));
        }
        let conf = format!(
            r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    default_type text/plain;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{server_blocks}}}
"#
        );
        let conf_path = dir.write("nginx.conf", conf);
        let mut peer = Peer::spawn(
            "nginx",
            Command::new(nginx)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(dir.file("error.log")),
            dir.file("nginx.out"),
        );
        let ports: Vec<u16> = servers.iter().map(|(p, _)| *p).collect();
        peer.wait_ready("listening", || {
            ports
                .iter()
                .all(|p| wait_for_port(local(*p), START_TIMEOUT))
        });
        Nginx { peer, dir, ports }
    }

    pub fn error_log(&self) -> String {
        fs::read_to_string(self.dir.file("error.log")).unwrap_or_default() + &self.peer.log()
    }
}

// ---------------------------------------------------------------------------------------
// python3 upstreams
// ---------------------------------------------------------------------------------------

/// A scriptable upstream in python3 (a mock): it exists only for behaviours no real server
/// here offers on demand — hashing a request body, answering slowly, dying in the middle
/// of a response, close-delimited responses, echoing every request header. Where a real
/// peer can do the job (nginx, `python3 -m http.server`, socat, iperf3) the tests use it.
pub const PY_MOCK: &str = r#"
import hashlib, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
MARK_DIR = sys.argv[2]

def close_body(n):
    return bytes((i * 7 + i // 251) % 256 for i in range(n))

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        h = hashlib.sha256()
        n = 0
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    data = self.rfile.read(min(65536, left))
                    if not data:
                        raise EOFError("body cut")
                    h.update(data)
                    n += len(data)
                    left -= len(data)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left:
                data = self.rfile.read(min(65536, left))
                if not data:
                    raise EOFError("body cut")
                h.update(data)
                n += len(data)
                left -= len(data)
        return n, h.hexdigest(), te

    def reply(self, status, body, extra=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def route(self):
        p = self.path
        if p.startswith("/sha"):
            n, hx, te = self.read_body()
            self.reply(200, "len=%d sha256=%s te=%s expect=%s\n" % (n, hx, te, self.headers.get("Expect", "")))
        elif p.startswith("/sleep/"):
            self.read_body()
            ms = int(p.split("/")[2])
            time.sleep(ms / 1000.0)
            self.reply(200, "slept %d\n" % ms)
        elif p == "/partial":
            self.read_body()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.wfile.write(b"x" * 1000)
            self.wfile.flush()
            with open(os.path.join(MARK_DIR, "partial-sent"), "w") as f:
                f.write("sent")
            time.sleep(60)
        elif p.startswith("/close-delimited/"):
            self.read_body()
            n = int(p.split("/")[2])
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n")
            self.wfile.write(close_body(n))
            self.wfile.flush()
            self.close_connection = True
        elif p.startswith("/headers"):
            self.read_body()
            lines = "".join("%s: %s\n" % (k.lower(), v) for k, v in self.headers.items())
            self.reply(200, lines)
        else:
            self.read_body()
            self.reply(200, "ok %s\n" % p)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = route

class S(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

S(("127.0.0.1", PORT), H).serve_forever()
"#;

/// The bytes the mock sends for `/close-delimited/<n>`.
pub fn close_delimited_body(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 7 + i / 251) % 256) as u8).collect()
}

/// The python3 mock upstream on `port`; `dir` receives its script, log and marker files.
pub fn python_mock(port: u16, dir: &TempDir) -> Peer {
    let script = dir.write("mock_upstream.py", PY_MOCK);
    let mut peer = Peer::spawn(
        "python3 mock upstream",
        Command::new(tool("python3"))
            .arg(&script)
            .arg(port.to_string())
            .arg(dir.path()),
        dir.file(&format!("mock-{port}.log")),
    );
    peer.wait_ready("listening", || wait_for_port(local(port), START_TIMEOUT));
    peer
}

/// `python3 -m http.server` (a real HTTP/1.0 server) serving `root` on `port`.
pub fn python_http_server(port: u16, root: &Path, log: PathBuf) -> Peer {
    let mut peer = Peer::spawn(
        "python3 -m http.server",
        Command::new(tool("python3"))
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg("--directory")
            .arg(root)
            .arg(port.to_string()),
        log,
    );
    peer.wait_ready("listening", || wait_for_port(local(port), START_TIMEOUT));
    peer
}

// ---------------------------------------------------------------------------------------
// socat, iperf3
// ---------------------------------------------------------------------------------------

/// `socat TCP-LISTEN:port,fork <target>`: an echo server with `PIPE`, or a fixed reply with
/// `SYSTEM:echo ...`. Waits for the listening socket without connecting to it.
pub fn socat_server(port: u16, target: &str, dir: &TempDir) -> Peer {
    let mut peer = Peer::spawn(
        "socat",
        Command::new(tool("socat"))
            .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork"))
            .arg(target),
        dir.file(&format!("socat-{port}.log")),
    );
    peer.wait_ready("listening", || wait_listening(port, START_TIMEOUT));
    peer
}

/// `iperf3 -s -1` on `port` (one test, then exit).
pub fn iperf3_server(port: u16, dir: &TempDir) -> Peer {
    let mut peer = Peer::spawn(
        "iperf3 server",
        Command::new(tool("iperf3")).args(["-s", "-1", "-B", "127.0.0.1", "-p", &port.to_string()]),
        dir.file(&format!("iperf3-{port}.log")),
    );
    peer.wait_ready("listening", || wait_listening(port, START_TIMEOUT));
    peer
}

// ---------------------------------------------------------------------------------------
// curl
// ---------------------------------------------------------------------------------------

/// What one curl run produced.
#[derive(Debug)]
pub struct Curl {
    /// curl's exit code.
    pub exit: i32,
    /// Status of the final response (0 when none).
    pub status: u16,
    /// Status codes of every response head received (1xx included), in order.
    pub statuses: Vec<u16>,
    /// Headers of the final response.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub time_total: f64,
    pub stderr: String,
}

impl Curl {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Runs `curl -sS` with a 20 s max time plus `args`; captures status, headers and body.
pub fn curl(args: &[&str]) -> Curl {
    let dir = TempDir::new("curl");
    let headers_path = dir.file("headers");
    let body_path = dir.file("body");
    let out = run_bounded(
        Command::new(tool("curl"))
            .args(["-sS", "--max-time", "20", "--connect-timeout", "5"])
            .arg("-D")
            .arg(&headers_path)
            .arg("-o")
            .arg(&body_path)
            .args(["-w", "%{http_code} %{time_total}"])
            .args(args),
        Duration::from_secs(40),
    );
    let exit = out.status.code().unwrap_or(-1);
    let write_out = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut parts = write_out.split_whitespace();
    let status = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let time_total = parts.next().and_then(|s| s.parse().ok()).unwrap_or(-1.0);
    let head_text = fs::read_to_string(&headers_path).unwrap_or_default();
    let mut statuses = Vec::new();
    let mut headers = Vec::new();
    for line in head_text.lines() {
        let line = line.trim_end();
        if line.starts_with("HTTP/") {
            if let Some(code) = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
                statuses.push(code);
            }
            headers.clear();
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    Curl {
        exit,
        status,
        statuses,
        headers,
        body: fs::read(&body_path).unwrap_or_default(),
        time_total,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

// ---------------------------------------------------------------------------------------
// wrk
// ---------------------------------------------------------------------------------------

/// wrk's summary.
#[derive(Debug)]
pub struct Wrk {
    pub requests: u64,
    pub requests_per_sec: f64,
    pub non_2xx_3xx: u64,
    pub socket_errors: u64,
    pub output: String,
}

/// `wrk -t1 -c<conns> -d<secs>s --timeout 5s` on `url` with extra `-H` headers.
pub fn wrk(url: &str, conns: u32, secs: u32, headers: &[&str]) -> Wrk {
    assert!(secs <= 10, "wrk runs are bounded to 10 s");
    let mut cmd = Command::new(tool("wrk"));
    cmd.args([
        "-t1",
        &format!("-c{conns}"),
        &format!("-d{secs}s"),
        "--timeout",
        "5s",
    ]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    cmd.arg(url);
    let out = run_bounded(&mut cmd, Duration::from_secs(u64::from(secs) + 30));
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "wrk failed: {output}");
    parse_wrk(&output)
}

/// Parses wrk's text summary.
pub fn parse_wrk(output: &str) -> Wrk {
    let mut result = Wrk {
        requests: 0,
        requests_per_sec: 0.0,
        non_2xx_3xx: 0,
        socket_errors: 0,
        output: output.to_owned(),
    };
    let mut saw_requests = false;
    for line in output.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            result.requests_per_sec = rest.trim().parse().unwrap_or(0.0);
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            result.non_2xx_3xx = rest.trim().parse().unwrap_or(u64::MAX);
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            result.socket_errors = rest
                .split(',')
                .filter_map(|part| part.split_whitespace().nth(1))
                .map(|n| n.parse::<u64>().unwrap_or(u64::MAX))
                .fold(0u64, u64::saturating_add);
        } else if line.contains(" requests in ") {
            result.requests = line
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            saw_requests = true;
        }
    }
    assert!(saw_requests, "cannot parse wrk output:\n{output}");
    result
}

// ---------------------------------------------------------------------------------------
// misc
// ---------------------------------------------------------------------------------------

/// Resolves `host:port` text to the first address.
pub fn addr(text: &str) -> SocketAddr {
    text.to_socket_addrs()
        .expect("address")
        .next()
        .expect("one address")
}

/// Runs `f` on a thread and fails the test if it does not finish within `timeout`.
pub fn with_deadline<T: Send + 'static>(
    what: &str,
    timeout: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(timeout) {
        Ok(v) => v,
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            // The closure panicked: re-raise its panic.
            match handle.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => unreachable!("sender dropped without sending"),
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what} did not finish within {timeout:?}")
        }
    }
}

/// mosn with one listener forwarding everything to nginx's echo server (cluster
/// `nginx`); `proxy_extra` keys go into the `proxy` filter config.
pub struct NginxSetup {
    pub _nginx: Nginx,
    pub mosn: Mosn,
    pub listen: u16,
}

/// Starts nginx's echo server and mosn in front of it; see [`NginxSetup`].
pub fn mosn_before_nginx(proxy_extra: Value) -> NginxSetup {
    let (listen, upstream, admin) = (free_port(), free_port(), free_port());
    let nginx = Nginx::echo(upstream);
    let mosn = Mosn::start(&http_config(
        local(listen),
        Some(admin),
        forward_all("nginx"),
        json!([cluster("nginx", &[local(upstream)])]),
        proxy_extra,
        json!({}),
    ));
    NginxSetup {
        _nginx: nginx,
        mosn,
        listen,
    }
}
