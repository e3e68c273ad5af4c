//! Ports and temp dirs.

use super::*;

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
