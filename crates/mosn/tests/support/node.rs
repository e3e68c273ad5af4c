//! Node.js peers (sofa-rpc-node, dubbo-remoting, dubbo2.js): the scripts in
//! `tests/peers/`, the packages in the repo's `peers/node_modules` (installed from
//! `peers/package.json` by `scripts/install-test-peers.sh`).

use super::*;

/// The directory of the test peer scripts.
pub fn peer_scripts() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers"))
}

/// `node` with the peers' packages on its module path; fails the test with a clear
/// message when they are not installed.
pub fn node(script: &str) -> Command {
    let modules = workspace_root().join("peers/node_modules");
    assert!(
        modules.join("sofa-rpc-node").is_dir(),
        "the Node.js test peers are not installed in {}: run scripts/install-test-peers.sh",
        modules.display()
    );
    let mut cmd = Command::new(tool("node"));
    cmd.arg(peer_scripts().join(script))
        .env("NODE_PATH", modules);
    cmd
}

/// Starts a Node.js server script on `port` (its first argument; `args` follow) and
/// waits until it listens.
pub fn node_server(script: &str, port: u16, args: &[&str]) -> Peer {
    let mut cmd = node(script);
    cmd.arg(port.to_string())
        .args(args)
        .env("MAX_SECONDS", "120");
    let log = std::env::temp_dir().join(format!("mosn-e2e-node-{}-{port}.log", std::process::id()));
    let mut peer = Peer::spawn(script, &mut cmd, log);
    peer.wait_ready("listening", || wait_listening(port, START_TIMEOUT));
    peer
}

/// Runs a Node.js client script to its end (at most 60 s); returns the JSON lines it
/// printed as `what -> value`, failing the test with its output when it failed.
pub fn node_client(script: &str, args: &[&str]) -> HashMap<String, Value> {
    let out = run_bounded(node(script).args(args), Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| {
            (
                v["what"].as_str().unwrap_or_default().to_owned(),
                v["value"].clone(),
            )
        })
        .collect()
}
