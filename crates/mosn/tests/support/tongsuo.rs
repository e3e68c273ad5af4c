//! Tongsuo (Ant's OpenSSL fork), the reference peer for the ShangMi suites: found where
//! `scripts/build-tongsuo.sh` caches it, with its `openssl.cnf`, and the shared SM2
//! certificates it made.

use super::*;

/// The Tongsuo version `scripts/build-tongsuo.sh` builds.
const TONGSUO_VERSION: &str = "8.5.0";

/// A built Tongsuo `openssl` app.
pub struct Tongsuo {
    bin: PathBuf,
    conf: PathBuf,
}

/// A non-empty environment variable (the script's `${VAR:-...}` treats empty as unset).
fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

impl Tongsuo {
    /// `$TONGSUO`, else the build script's cache
    /// (`${MOSN_RS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mosn-rs}/tongsuo-8.5.0`);
    /// fails the test, naming where it looked, when it has not been built (CI builds it
    /// in `scripts/install-test-peers.sh`).
    pub fn find() -> Tongsuo {
        let bin = env_path("TONGSUO").unwrap_or_else(|| {
            let cache = env_path("MOSN_RS_CACHE").unwrap_or_else(|| {
                env_path("XDG_CACHE_HOME")
                    .unwrap_or_else(|| env_path("HOME").unwrap_or_default().join(".cache"))
                    .join("mosn-rs")
            });
            cache.join(format!("tongsuo-{TONGSUO_VERSION}/bin/tongsuo"))
        });
        assert!(
            bin.is_file(),
            "Tongsuo is not built (run scripts/build-tongsuo.sh); looked for {}",
            bin.display()
        );
        let conf = bin
            .parent()
            .and_then(Path::parent)
            .map(|d| d.join("openssl.cnf"))
            .unwrap_or_default();
        Tongsuo { bin, conf }
    }

    /// A command running the Tongsuo `openssl` app with its own config.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        if self.conf.is_file() {
            cmd.env("OPENSSL_CONF", &self.conf);
        }
        cmd
    }

    /// `s_server` on 127.0.0.1:`port` with `args`, its log in `dir`, once it listens.
    pub fn s_server(&self, port: u16, args: &[&str], dir: &TempDir) -> Peer {
        let mut cmd = self.command();
        cmd.args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
            .args(args);
        let mut peer = Peer::spawn(
            "tongsuo s_server",
            &mut cmd,
            dir.file(&format!("s_server-{port}.log")),
        );
        peer.wait_ready("listening", || wait_listening(port, START_TIMEOUT));
        peer
    }

    /// `s_client` against 127.0.0.1:`port` trusting `ca`; see [`s_client`].
    pub fn s_client(&self, port: u16, ca: &Path, args: &[&str], input: &str) -> SClient {
        s_client_of(self.command(), port, ca, args, input)
    }
}

/// The shared SM2 test certificates (a CA, TLCP sign/enc pairs for server and client),
/// made with Tongsuo by `shared/interop/gmtls/mkcerts.sh`.
pub fn gm_cert(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/gmtls/certs"
    ))
    .join(name)
}

/// A captured Tongsuo ↔ Tongsuo connection from `shared/testdata/gmtls/`.
pub fn gm_capture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/gmtls"
    ))
    .join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}
