//! Active health checks against real sockets: TCP listeners that close and come back, a
//! Unix socket, and a real nginx answering 200 or 503. Every wait is bounded; only
//! 127.0.0.1 is used.

use mosn_upstream::health::{self, ClusterHealthCheck, HealthCheckHandle};
use mosn_upstream::{Cluster, Host, LbContext};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Upper bound for anything a test waits for.
const WAIT: Duration = Duration::from_secs(10);

/// Polls `cond` every 10 ms until it holds; fails the test after [`WAIT`].
fn wait_for(what: &str, cond: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < WAIT, "{what}: not within {WAIT:?}");
        thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

fn host_text(h: &Host) -> String {
    match &h.address {
        mosn_config::Address::Tcp(a) => a.to_string(),
        mosn_config::Address::Unix(p) => format!("unix:{}", p.display()),
    }
}

/// Picks 200 hosts and returns whether `address` was among them.
fn chosen(cluster: &Cluster, address: &str) -> bool {
    let mut seen = false;
    for _ in 0..200 {
        let host = cluster.choose_host(&LbContext::default()).expect("a host");
        seen |= host_text(&host) == address;
    }
    seen
}

/// A TCP listener on 127.0.0.1 that accepts and drops connections on its own thread,
/// until closed.
struct Upstream {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Upstream {
    fn bind(addr: SocketAddr) -> Upstream {
        let listener = TcpListener::bind(addr).expect("bind a loopback port");
        let addr = listener.local_addr().expect("local_addr");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                drop(conn);
            }
        });
        Upstream {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    fn any() -> Upstream {
        Upstream::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Stops accepting and closes the listening socket.
    fn close(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.stop.store(true, Ordering::Relaxed);
            // Wake the blocked accept.
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
            thread.join().expect("accept thread");
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.close();
    }
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("local_addr").port()
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A temp directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!(
            "mosn-hc-{tag}-{}-{}-{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A real nginx in the foreground on a free 127.0.0.1 port: `/ok` answers 200,
/// `/fail` 503. Killed and reaped on drop.
struct Nginx {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl Nginx {
    fn start() -> Nginx {
        let nginx = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .expect("nginx is not installed (scripts/install-test-peers.sh installs it)");
        let dir = TempDir::new("nginx");
        let d = dir.path().display();
        let port = closed_port();
        let conf = format!(
            r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /ok {{ return 200 "ok\n"; }}
        location = /fail {{ return 503 "down\n"; }}
        location / {{ return 404; }}
    }}
}}
"#
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("write nginx.conf");
        let child = Command::new(nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let mut nginx = Nginx {
            child,
            port,
            _dir: dir,
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                panic!("nginx exited while starting: {status}");
            }
            assert!(start.elapsed() < WAIT, "nginx does not listen on {addr}");
            thread::sleep(Duration::from_millis(20));
        }
        nginx
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `checks` on the health check thread; returns the clusters and the handle.
fn run(checks: Vec<(Arc<Cluster>, ClusterHealthCheck)>) -> (Vec<Arc<Cluster>>, HealthCheckHandle) {
    let clusters = checks.iter().map(|(c, _)| c.clone()).collect();
    let handle = health::spawn(checks.into_iter().map(|(_, check)| check).collect())
        .expect("spawn the health check thread");
    (clusters, handle)
}

/// A cluster named `name` with `hosts` (addresses as MOSN writes them) and its health
/// check from JSON, built through the config parser as mosn does.
fn checked(name: &str, hosts: &[&str], health_check: &str) -> (Arc<Cluster>, ClusterHealthCheck) {
    let hosts_json: Vec<String> = hosts
        .iter()
        .map(|h| format!(r#"{{"address": "{h}"}}"#))
        .collect();
    let json = format!(
        r#"{{"cluster_manager": {{"clusters": [{{"name": "{name}", "hosts": [{}],
            "health_check": {health_check}}}]}}}}"#,
        hosts_json.join(",")
    );
    let parsed = mosn_config::parse_str(&json)
        .unwrap_or_else(|e| panic!("invalid test config {json}: {e:?}"));
    let cfg = &parsed.config.clusters[0];
    let hc = cfg.health_check.as_ref().expect("a health check");
    let cluster = Arc::new(Cluster::from_config(cfg, Arc::default()));
    (
        cluster.clone(),
        ClusterHealthCheck::from_config(cluster, hc),
    )
}

#[test]
fn a_closed_listener_leaves_rotation_and_returns() {
    let a = Upstream::any();
    let mut b = Upstream::any();
    let (a_addr, b_addr) = (a.addr.to_string(), b.addr.to_string());
    let (clusters, handle) = run(vec![checked(
        "tcp",
        &[&a_addr, &b_addr],
        r#"{"service_name": "tcp", "interval": "100ms", "timeout": "500ms",
            "initial_delay_seconds": "50ms", "unhealthy_threshold": 3,
            "healthy_threshold": 2}"#,
    )]);
    let c = &clusters[0];
    // Both up: checks succeed and nothing changes.
    wait_for("3 rounds of checks", || {
        c.stats.health_check_success.get() >= 6
    });
    assert_eq!(c.stats.health_check_failure.get(), 0);
    assert_eq!(c.stats.membership_healthy.get(), 2);
    assert!(chosen(c, &b_addr));

    let failures_before = c.stats.health_check_failure.get();
    let closed_at = Instant::now();
    b.close();
    // The flag flips first; the rotation (and its membership gauge) is rebuilt after.
    wait_for("b leaves rotation", || {
        !c.hosts()[1].is_healthy() && c.stats.membership_healthy.get() == 1
    });
    let took = closed_at.elapsed();
    // unhealthy_threshold 3: at least 3 failed checks, 2 intervals apart at least.
    assert!(c.stats.health_check_failure.get() - failures_before >= 3);
    assert!(took >= Duration::from_millis(190), "out after {took:?}");
    assert!(c.hosts()[0].is_healthy());
    assert_eq!(c.stats.membership_healthy.get(), 1);
    assert!(!chosen(c, &b_addr), "an unhealthy host was chosen");
    assert!(chosen(c, &a_addr));

    // Back on the same port: in rotation again after 2 successes.
    let b = Upstream::bind(b.addr);
    let successes_before = c.stats.health_check_success.get();
    wait_for("b returns", || {
        c.hosts()[1].is_healthy() && c.stats.membership_healthy.get() == 2
    });
    assert!(c.stats.health_check_success.get() - successes_before >= 2);
    assert_eq!(c.stats.membership_healthy.get(), 2);
    assert!(chosen(c, &b.addr.to_string()));
    handle.shutdown();
}

#[test]
fn unix_socket_hosts_are_checked_by_connecting() {
    let dir = TempDir::new("uds");
    let path = dir.path().join("up.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind unix socket");
    let up = format!("unix:{}", path.display());
    let gone = format!("unix:{}", dir.path().join("gone.sock").display());
    let (clusters, handle) = run(vec![checked(
        "uds",
        &[&up, &gone],
        r#"{"service_name": "uds", "interval": "100ms", "initial_delay_seconds": "10ms"}"#,
    )]);
    let c = &clusters[0];
    wait_for("the missing socket is unhealthy", || {
        !c.hosts()[1].is_healthy()
    });
    wait_for("checks of the live socket", || {
        c.stats.health_check_success.get() >= 3
    });
    assert!(c.hosts()[0].is_healthy());
    handle.shutdown();
    drop(listener);
}

#[test]
fn http_checks_against_nginx() {
    let nginx = Nginx::start();
    let port = nginx.port;
    let up = format!("127.0.0.1:{port}");
    let closed = format!("127.0.0.1:{}", closed_port());
    let http = |path: &str, extra: &str| {
        format!(
            r#"{{"protocol": "Http1", "service_name": "s", "interval": "100ms",
                "timeout": "1s", "initial_delay_seconds": "10ms",
                "check_config": {{"http_check_config": {{"path": "{path}"{extra}}}}}}}"#
        )
    };
    let (clusters, handle) = run(vec![
        checked("ok", &[&up], &http("/ok", "")),
        checked("fail", &[&up], &http("/fail", "")),
        checked("closed", &[&closed], &http("/ok", "")),
        // 503 accepted through codes.
        checked(
            "fail-accepted",
            &[&up],
            &http("/fail", r#", "codes": [{"start": 500, "end": 503}]"#),
        ),
        // The host's own port is closed; the check goes to `port`.
        checked(
            "port",
            &[&closed],
            &http(
                "/ok",
                &format!(r#", "port": {port}, "domain": "health.example""#),
            ),
        ),
        // 404 is not in MOSN's default codes (200 only).
        checked("missing", &[&up], &http("/missing", "")),
    ]);
    let [ok, fail, closed_c, accepted, by_port, missing] = &clusters[..] else {
        unreachable!()
    };
    for c in [fail, closed_c, missing] {
        wait_for(&format!("{} unhealthy", c.name), || {
            !c.hosts()[0].is_healthy()
        });
        assert_eq!(c.stats.membership_healthy.get(), 0);
    }
    for c in [ok, accepted, by_port] {
        wait_for(&format!("{} checked 3 times", c.name), || {
            c.stats.health_check_success.get() >= 3
        });
        assert_eq!(c.stats.health_check_failure.get(), 0, "{}", c.name);
        assert!(c.hosts()[0].is_healthy(), "{}", c.name);
        assert_eq!(c.stats.membership_healthy.get(), 1);
    }
    handle.shutdown();
    drop(nginx);
}

#[test]
fn transitions_go_to_the_event_log() {
    let dir = TempDir::new("events");
    let log = dir.path().join("hc.log");
    let mut b = Upstream::any();
    let addr = b.addr.to_string();
    let (clusters, handle) = run(vec![checked(
        "events",
        &[&addr],
        &format!(
            r#"{{"service_name": "events", "interval": "50ms", "initial_delay_seconds": "10ms",
                "event_log_path": "{}"}}"#,
            log.display()
        ),
    )]);
    let c = &clusters[0];
    wait_for("a success", || c.stats.health_check_success.get() >= 1);
    b.close();
    wait_for("unhealthy", || !c.hosts()[0].is_healthy());
    let b = Upstream::bind(b.addr);
    wait_for("healthy again", || c.hosts()[0].is_healthy());
    handle.shutdown();
    let text = std::fs::read_to_string(&log).expect("the event log exists");
    let lines: Vec<&str> = text.lines().collect();
    let changes: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains(",status_changed:1,"))
        .collect();
    assert_eq!(changes.len(), 2, "{text}");
    let down = format!(
        "host:{addr},health_status:0,current_result:0,status_changed:1,cluster:events,reason:"
    );
    let up = format!(
        "host:{addr},health_status:1,current_result:1,status_changed:1,cluster:events,reason:ok"
    );
    assert!(
        changes[0].starts_with("time:") && changes[0].contains(&down),
        "{text}"
    );
    assert!(changes[1].contains(&up), "{text}");
    assert!(
        lines.iter().any(|l| l.contains(
            "health_status:1,current_result:1,status_changed:0,cluster:events,reason:ok"
        )),
        "{text}"
    );
    // Every finished check is one line (one may have been cut short by the shutdown).
    let checks = c.stats.health_check_attempt.get();
    let logged = lines.len() as u64;
    assert!(
        logged == checks || logged + 1 == checks,
        "{checks} checks:\n{text}"
    );
    drop(b);
}
