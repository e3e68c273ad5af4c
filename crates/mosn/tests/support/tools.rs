//! socat, iperf3.

use super::*;

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
