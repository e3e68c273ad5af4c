//! TLS peers: a throw-away CA and leaf certificates made with the openssl CLI at test
//! time, and `openssl s_client` runs.

use super::*;

/// A test CA in a temp dir; leaves signed by it carry the SANs asked for.
pub struct TestPki {
    dir: TempDir,
}

fn openssl(args: &[&str], cwd: &Path) {
    let out = run_bounded(
        Command::new(tool("openssl")).args(args).current_dir(cwd),
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A certificate and its key.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestPki {
    /// A new P-256 CA, valid 30 days.
    pub fn new() -> TestPki {
        let dir = TempDir::new("pki");
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=mosn-rs test CA",
                "-days",
                "30",
            ],
            dir.path(),
        );
        TestPki { dir }
    }

    /// The CA certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.file("ca.pem")
    }

    /// A leaf named `name` (its CN) with `sans` (`DNS:x`, `IP:127.0.0.1`, `URI:spiffe://...`),
    /// valid `days` days.
    pub fn leaf(&self, name: &str, sans: &[&str], days: u32) -> Leaf {
        let ext = self.dir.write(
            &format!("{name}.ext"),
            format!(
                "subjectAltName={}\nextendedKeyUsage=serverAuth,clientAuth\n",
                sans.join(",")
            ),
        );
        let (key, csr, cert) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        openssl(
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={name}"),
            ],
            self.dir.path(),
        );
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &cert,
                "-days",
                &days.to_string(),
                "-extfile",
                ext.to_str().expect("utf-8 path"),
            ],
            self.dir.path(),
        );
        Leaf {
            cert: self.dir.file(&cert),
            key: self.dir.file(&key),
        }
    }
}

/// A listener `tls_context` for `leaf` (extra keys merged in).
pub fn server_tls(leaf: &Leaf, extra: Value) -> Value {
    let mut ctx = json!({
        "status": true,
        "cert_chain": leaf.cert.to_str().unwrap(),
        "private_key": leaf.key.to_str().unwrap(),
    });
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            ctx[k] = v;
        }
    }
    ctx
}

/// What `openssl s_client` saw of a handshake.
#[derive(Debug)]
pub struct SClient {
    /// The handshake completed and the certificate verified.
    pub verified: bool,
    /// The server certificate's subject line (`subject=CN = ...`).
    pub subject: String,
    /// The negotiated ALPN protocol, if any.
    pub alpn: Option<String>,
    /// Everything it printed.
    pub output: String,
}

/// Runs `openssl s_client -brief`-like probing against 127.0.0.1:`port` with `args`
/// (`-servername`, `-alpn`, `-cert`...), sending `input` then closing.
pub fn s_client(port: u16, ca: &Path, args: &[&str], input: &str) -> SClient {
    s_client_of(Command::new(tool("openssl")), port, ca, args, input)
}

/// [`s_client`] run by another OpenSSL-style binary (`openssl` is `cmd`), e.g. Tongsuo.
pub fn s_client_of(mut cmd: Command, port: u16, ca: &Path, args: &[&str], input: &str) -> SClient {
    let mut child = cmd
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-CAfile",
        ])
        .arg(ca)
        .arg("-verify_return_error")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn openssl s_client");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = wait_output(child, Duration::from_secs(20));
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let subject = output
        .lines()
        .find(|l| l.starts_with("subject="))
        .unwrap_or("")
        .to_owned();
    let alpn = output
        .lines()
        .find_map(|l| l.strip_prefix("ALPN protocol: "))
        .map(str::to_owned);
    SClient {
        verified: output.contains("Verify return code: 0 (ok)"),
        subject,
        alpn,
        output,
    }
}

/// Waits for a child with piped output, killing it (by its PID) after `timeout`.
fn wait_output(mut child: Child, timeout: Duration) -> Output {
    if wait_timeout(&mut child, timeout).is_none() {
        let _ = child.kill();
    }
    child.wait_with_output().expect("collect output")
}

/// Points a MOSN sample's `tls_context` at the shared sample certificates
/// (`shared/testdata/mosn-certs`; the samples name them `../mosn-certs/...`).
pub fn use_sample_certs(ctx: &mut Value) {
    let certs = samples_dir().join("../mosn-certs");
    for key in ["ca_cert", "cert_chain", "private_key"] {
        let rel = ctx[key]
            .as_str()
            .expect("a path")
            .replace("../mosn-certs/", "");
        ctx[key] = json!(certs.join(rel).to_str().unwrap());
    }
}
