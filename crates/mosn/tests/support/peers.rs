//! Peers and processes.

use super::*;

/// The path of a required test peer; panics (fails the test) with a clear message when it
/// is not installed.
pub fn tool(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for extra in ["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin", "/bin"] {
        dirs.push(PathBuf::from(extra));
    }
    // Peers from PyPI/npm (envoy...) live in the repo's gitignored peers/ venv.
    dirs.push(workspace_root().join("peers/venv/bin"));
    for dir in dirs {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "required test peer `{name}` is not installed: the end-to-end tests drive real \
         peers (curl, wrk, socat, iperf3, nginx, python3, dnsmasq, openssl, envoy); install them with \
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
