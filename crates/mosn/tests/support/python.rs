//! python3 upstreams.

use super::*;

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
    listening_peer(
        "python3 mock upstream",
        Command::new(tool("python3"))
            .arg(&script)
            .arg(port.to_string())
            .arg(dir.path()),
        port,
        dir,
    )
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

/// The Python of the project's peer environment (`peers/venv`, made by
/// `scripts/install-test-peers.sh`), which has grpcio, hypercorn and websockets.
pub fn peer_python() -> PathBuf {
    let python = workspace_root().join("peers/venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: the HTTP/2 and gRPC tests drive real peers (grpcio, hypercorn) from \
         the peer environment; create it with scripts/install-test-peers.sh",
        python.display()
    );
    python
}

/// A peer script shipped with the tests (`tests/peers/`).
pub fn peer_script(name: &str) -> PathBuf {
    peer_scripts().join(name)
}

/// The grpcio echo server (`tests/peers/grpc_echo_server.py`) on `port`, naming itself
/// `name` in its replies' trailers.
pub fn grpc_echo_server(port: u16, name: &str, dir: &TempDir) -> Peer {
    grpc_echo_server_reporting(port, name, "SERVING", dir)
}

/// The grpcio echo server whose health service reports `echo_health` (`SERVING`,
/// `NOT_SERVING`) for `test.Echo`.
pub fn grpc_echo_server_reporting(port: u16, name: &str, echo_health: &str, dir: &TempDir) -> Peer {
    listening_peer(
        "grpcio echo server",
        Command::new(peer_python())
            .arg(peer_script("grpc_echo_server.py"))
            .arg(port.to_string())
            .arg(name)
            .arg("300")
            .arg(echo_health),
        port,
        dir,
    )
}

/// hypercorn serving `tests/peers/asgi_echo.py` on `port`: HTTP/1.1 and h2c (prior
/// knowledge) on one port.
pub fn hypercorn_echo(port: u16, dir: &TempDir) -> Peer {
    listening_peer(
        "hypercorn",
        Command::new(peer_python())
            .args(["-m", "hypercorn", "--workers", "1", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("asgi_echo:app")
            .current_dir(peer_script("")),
        port,
        dir,
    )
}

/// The `websockets` echo server (`tests/peers/ws_echo_server.py`) on `port`.
pub fn websocket_echo_server(port: u16, dir: &TempDir) -> Peer {
    listening_peer(
        "websockets echo server",
        Command::new(peer_python())
            .arg(peer_script("ws_echo_server.py"))
            .arg(port.to_string())
            .arg("300"),
        port,
        dir,
    )
}

/// The @grpc/grpc-js echo server (`tests/peers/grpc_echo_server.js`) on `port`.
pub fn grpc_js_echo_server(port: u16, name: &str, dir: &TempDir) -> Peer {
    listening_peer(
        "grpc-js echo server",
        node("grpc_echo_server.js")
            .arg(port.to_string())
            .arg(name)
            .arg("300"),
        port,
        dir,
    )
}

/// Runs a peer client that prints one JSON object with what it saw (bounded to 90 s) and
/// returns it; a failed run fails the test with the client's stderr.
pub fn run_json_peer(cmd: &mut Command) -> Value {
    let out = run_bounded(cmd, Duration::from_secs(90));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "peer client failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("client output {stdout:?}: {e}"))
}

/// Spawns a peer server (its log in `dir`) and waits until it listens on `port`.
fn listening_peer(what: &str, cmd: &mut Command, port: u16, dir: &TempDir) -> Peer {
    let log = dir.file(&format!("{}-{port}.log", what.replace(' ', "-")));
    let mut peer = Peer::spawn(what, cmd, log);
    peer.wait_ready("listening", || wait_for_port(local(port), START_TIMEOUT));
    peer
}
