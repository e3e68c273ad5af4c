//! A worker driven by listener commands, over real sockets on 127.0.0.1: listeners added,
//! changed and removed while connections are open, and the process drain.

use super::*;
use crate::plane::ConfigPlane;
use mosn_config::resources::{Batch, Resource};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;

/// Every test is bounded by this, whatever happens.
const BOUND: Duration = Duration::from_secs(10);

/// An HTTP/1.1 upstream answering `GET /sleep/N` after N ms with `slept`, keep-alive;
/// each request head it reads is announced on the returned channel.
fn slow_upstream() -> (SocketAddr, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut conn = conn;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 {
                            return;
                        }
                        if header == "\r\n" {
                            break;
                        }
                    }
                    let _ = tx.send(path.clone());
                    let ms = path
                        .strip_prefix("/sleep/")
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    std::thread::sleep(Duration::from_millis(ms));
                    let reply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nslept";
                    if conn.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, rx)
}

/// Listeners `v1`, `v2` (HTTP/1; `/sleep/` goes to the slow upstream, anything else is
/// answered `v1` or `v2`) and `h2` (HTTP/2 answering `h2`), and the state they route with.
fn config(upstream: SocketAddr) -> mosn_config::Config {
    let routes = |body: &str| {
        serde_json::json!([{
            "name": "all",
            "domains": ["*"],
            "routers": [
                { "match": { "prefix": "/sleep/" }, "route": { "cluster_name": "slow" } },
                { "match": { "prefix": "/" }, "direct_response": { "status": 200, "body": body } }
            ]
        }])
    };
    // Port 0 on distinct loopback addresses (the config refuses duplicates); `add` binds
    // each on 127.0.0.1.
    let listener = |name: &str, protocol: &str, host: u8| {
        serde_json::json!({
            "name": name,
            "address": format!("127.0.0.{host}:0"),
            "bind_port": true,
            "filter_chains": [{ "filters": [{ "type": "proxy", "config": {
                "downstream_protocol": protocol,
                "upstream_protocol": "Http1",
                "router_config_name": name
            } }] }]
        })
    };
    let json = serde_json::json!({
        "servers": [{
            "default_log_level": "ERROR",
            "routers": [
                { "router_config_name": "v1", "virtual_hosts": routes("v1") },
                { "router_config_name": "v2", "virtual_hosts": routes("v2") },
                { "router_config_name": "h2", "virtual_hosts": routes("h2") }
            ],
            "listeners": [
                listener("v1", "Http1", 1),
                listener("v2", "Http1", 2),
                listener("h2", "Http2", 3)
            ]
        }],
        "cluster_manager": { "clusters": [{
            "name": "slow",
            "type": "SIMPLE",
            "lb_type": "LB_ROUNDROBIN",
            "hosts": [{ "address": upstream.to_string() }]
        }] }
    });
    mosn_config::parse_str(&json.to_string())
        .expect("test config parses")
        .config
}

/// One worker thread and the means to drive it.
struct Harness {
    config: mosn_config::Config,
    commands: UnboundedSender<ListenerCommand>,
    drain: tokio::sync::watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
    upstream_requests: mpsc::Receiver<String>,
}

impl Harness {
    fn start(graceful_timeout: Duration) -> Self {
        let (upstream, upstream_requests) = slow_upstream();
        let config = config(upstream);
        let stats = Arc::new(StatsRegistry::default());
        let state: mosn_proxy::SharedState = Arc::default();
        // Routes and clusters through the plane; the listeners are this test's commands.
        let mut batch = Batch::from_config(&config);
        batch
            .upserts
            .retain(|r| !matches!(r, Resource::Listener(_)));
        let report = ConfigPlane::detached(state.clone(), stats.clone()).apply(batch);
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        let (commands, rx) = tokio::sync::mpsc::unbounded_channel();
        let (drain, drain_rx) = Drain::new();
        let thread = spawn(WorkerSpec {
            id: 0,
            commands: rx,
            state,
            stats,
            drain: drain_rx,
            graceful_timeout,
            io_model: IoModel::ThreadPerCore,
            threads: 1,
        })
        .unwrap();
        Self {
            config,
            commands,
            drain,
            thread: Some(thread),
            upstream_requests,
        }
    }

    /// Listener `template` of the config, named `name`.
    fn listener(&self, template: &str, name: &str) -> Arc<ListenerConfig> {
        let mut l = self.config.servers[0]
            .listeners
            .iter()
            .find(|l| l.name == template)
            .expect("template listener")
            .clone();
        l.name = name.to_owned();
        l.address = mosn_config::Address::Tcp("127.0.0.1:0".parse().unwrap());
        Arc::new(l)
    }

    /// Serves listener `template` as `name` on a new socket; returns its address.
    fn add(&self, template: &str, name: &str) -> SocketAddr {
        let config = self.listener(template, name);
        let socket = crate::listeners::bind(&config, 1).unwrap().pop().unwrap();
        let addr = socket.local_addr().unwrap();
        self.send(ListenerCommand::Upsert {
            config,
            socket: Some(socket),
            tls: vec![None],
        });
        if template != "h2" {
            wait_until("the listener answers", || get_once(addr, "/").is_some());
        }
        addr
    }

    /// Gives listener `name` the chains of `template`, keeping its socket.
    fn change(&self, template: &str, name: &str) {
        self.send(ListenerCommand::Upsert {
            config: self.listener(template, name),
            socket: None,
            tls: vec![None],
        });
    }

    fn send(&self, command: ListenerCommand) {
        assert!(self.commands.send(command).is_ok(), "the worker runs");
    }

    /// Waits until the upstream has read a request for `path`.
    fn upstream_got(&self, path: &str) {
        loop {
            let got = self
                .upstream_requests
                .recv_timeout(BOUND)
                .expect("the request reaches the upstream");
            if got == path {
                return;
            }
        }
    }

    /// SIGTERM for this worker; returns how long the worker took to stop.
    fn terminate(&mut self) -> Duration {
        let start = Instant::now();
        let _ = self.drain.send(true);
        let thread = self.thread.take().unwrap();
        while !thread.is_finished() {
            assert!(start.elapsed() < BOUND, "the worker did not stop");
            std::thread::sleep(Duration::from_millis(10));
        }
        thread.join().unwrap();
        start.elapsed()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if self.thread.is_some() && !std::thread::panicking() {
            self.terminate();
        } else {
            let _ = self.drain.send(true);
        }
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < BOUND, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A client connection (blocking, bounded by [`BOUND`]).
struct Client(BufReader<TcpStream>);

/// One response: status, head (lower-case), body.
struct Response {
    status: u16,
    head: String,
    body: String,
}

impl Client {
    fn connect(addr: SocketAddr) -> Self {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(BOUND)).unwrap();
        Self(BufReader::new(s))
    }

    fn send(&mut self, path: &str) {
        let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
        self.0.get_mut().write_all(req.as_bytes()).unwrap();
    }

    /// The next response, or `None` when the proxy closed the connection.
    fn response(&mut self) -> Option<Response> {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match self.0.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line.to_ascii_lowercase());
        }
        let status = head.split(' ').nth(1)?.parse().ok()?;
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        self.0.read_exact(&mut body).ok()?;
        Some(Response {
            status,
            head,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    fn get(&mut self, path: &str) -> Option<Response> {
        self.send(path);
        self.response()
    }

    /// True once the proxy has closed the connection (EOF or reset), within [`BOUND`].
    fn closed_by_proxy(&mut self) -> bool {
        use std::io::ErrorKind::{TimedOut, WouldBlock};
        let mut byte = [0; 1];
        match self.0.read(&mut byte) {
            Ok(n) => n == 0,
            Err(e) => !matches!(e.kind(), WouldBlock | TimedOut),
        }
    }
}

/// The body of `GET path` on a new connection, `None` when that failed.
fn get_once(addr: SocketAddr, path: &str) -> Option<String> {
    let s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(BOUND)).ok()?;
    Client(BufReader::new(s)).get(path).map(|r| r.body)
}

fn refused(addr: SocketAddr) -> bool {
    matches!(TcpStream::connect(addr), Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)
}

#[test]
fn an_added_listener_accepts_and_a_removed_one_refuses_while_its_request_in_flight_finishes() {
    let h = Harness::start(Duration::from_secs(5));
    let addr = h.add("v1", "web");
    assert_eq!(get_once(addr, "/").as_deref(), Some("v1"));

    let mut slow = Client::connect(addr);
    slow.send("/sleep/700");
    h.upstream_got("/sleep/700");
    h.send(ListenerCommand::Remove { name: "web".into() });
    wait_until("connecting is refused", || refused(addr));

    let r = slow.response().expect("the in-flight request completes");
    assert_eq!((r.status, r.body.as_str()), (200, "slept"));
    assert!(slow.closed_by_proxy(), "closed after its response");
}

#[test]
fn a_removed_listener_closes_what_outlives_the_graceful_timeout_and_others_serve_on() {
    let h = Harness::start(Duration::from_millis(300));
    let gone = h.add("v1", "gone");
    let stays = h.add("v2", "stays");
    let mut stuck = Client::connect(gone);
    stuck.send("/sleep/5000");
    h.upstream_got("/sleep/5000");

    let removed = Instant::now();
    h.send(ListenerCommand::Remove {
        name: "gone".into(),
    });
    assert!(
        stuck.response().is_none(),
        "closed without a response, not answered"
    );
    let took = removed.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "closed forcibly after the graceful timeout, not before: {took:?}"
    );
    assert_eq!(get_once(stays, "/").as_deref(), Some("v2"));
}

#[test]
fn a_changed_listener_keeps_its_socket_drains_the_old_generation_and_serves_new_connections_with_the_new_chains(
) {
    let h = Harness::start(Duration::from_secs(5));
    let addr = h.add("v1", "web");

    // An idle keep-alive connection, quiet long enough to have parked.
    let mut idle = Client::connect(addr);
    assert_eq!(idle.get("/").unwrap().body, "v1");
    // A request in flight during the change, and one pipelined behind it.
    let mut busy = Client::connect(addr);
    busy.send("/sleep/1500");
    busy.send("/");
    h.upstream_got("/sleep/1500");
    std::thread::sleep(Duration::from_millis(400));

    // Connections attempted all through the change: none refused.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let prober = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut ok, mut failed) = (0, 0);
            while !stop.load(Relaxed) {
                match get_once(addr, "/") {
                    Some(_) => ok += 1,
                    None => failed += 1,
                }
            }
            (ok, failed)
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    h.change("v2", "web");
    wait_until("new connections get the new chains", || {
        get_once(addr, "/").as_deref() == Some("v2")
    });
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Relaxed);
    let (ok, failed) = prober.join().unwrap();
    assert!(ok > 0);
    assert_eq!(failed, 0, "connections failed during the change");

    // The parked connection of the old generation was closed.
    assert!(idle.closed_by_proxy(), "the idle connection is closed");
    // The request in flight finished; the one after it was answered by the old chains
    // with `Connection: close`, then the connection closed.
    let first = busy.response().expect("the in-flight request completes");
    assert_eq!(first.body, "slept");
    let second = busy.response().expect("the pipelined request is answered");
    assert_eq!(second.body, "v1");
    assert!(
        second.head.contains("connection: close"),
        "old generation says close: {}",
        second.head
    );
    assert!(busy.closed_by_proxy());
    // A new keep-alive connection stays open with the new chains.
    let mut fresh = Client::connect(addr);
    assert_eq!(fresh.get("/").unwrap().body, "v2");
    let again = fresh.get("/").unwrap();
    assert_eq!(again.body, "v2");
    assert!(!again.head.contains("connection: close"));
}

#[test]
fn an_http2_connection_of_a_changed_listener_gets_goaway() {
    let h = Harness::start(Duration::from_secs(5));
    let addr = h.add("h2", "h2");
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(BOUND)).unwrap();
    // The client preface and an empty SETTINGS frame.
    conn.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .unwrap();
    let frame = |conn: &mut TcpStream| -> Option<u8> {
        let mut head = [0u8; 9];
        conn.read_exact(&mut head).ok()?;
        let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
        let mut payload = vec![0; len];
        conn.read_exact(&mut payload).ok()?;
        Some(head[3])
    };
    assert_eq!(frame(&mut conn), Some(0x4), "the server's SETTINGS first");
    h.change("h2", "h2");
    const GOAWAY: u8 = 0x7;
    loop {
        match frame(&mut conn) {
            Some(GOAWAY) => break,
            Some(_) => {}
            None => panic!("connection closed without GOAWAY"),
        }
    }
}

#[test]
fn sigterm_drains_every_generation_and_closes_what_outlives_the_graceful_timeout() {
    let mut h = Harness::start(Duration::from_secs(1));
    let addr = h.add("v1", "web");
    let mut old = Client::connect(addr);
    old.send("/sleep/5000");
    h.upstream_got("/sleep/5000");
    h.change("v2", "web");
    wait_until("the new generation serves", || {
        get_once(addr, "/").as_deref() == Some("v2")
    });
    let mut new = Client::connect(addr);
    new.send("/sleep/5000");
    h.upstream_got("/sleep/5000");
    let mut idle = Client::connect(addr);
    assert_eq!(idle.get("/").unwrap().body, "v2");

    let took = h.terminate();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "stopped after the graceful timeout: {took:?}"
    );
    assert!(refused(addr), "the socket is closed");
    assert!(
        old.response().is_none(),
        "the old generation's request was cut"
    );
    assert!(
        new.response().is_none(),
        "the new generation's request was cut"
    );
    assert!(idle.closed_by_proxy());
}

#[test]
fn sigterm_with_only_idle_connections_stops_at_once() {
    let mut h = Harness::start(Duration::from_secs(5));
    let addr = h.add("v1", "web");
    h.change("v2", "web");
    let mut idle = Client::connect(addr);
    assert_eq!(idle.get("/").unwrap().body, "v2");
    let took = h.terminate();
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(idle.closed_by_proxy());
}
