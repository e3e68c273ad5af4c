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

/// h2load's summary of one run.
#[derive(Debug)]
pub struct H2load {
    pub done: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub errored: u64,
    pub timeout: u64,
    pub status_2xx: u64,
    pub output: String,
}

/// `h2load` (h2c with prior knowledge) with `args`, bounded in time.
pub fn h2load(args: &[&str]) -> H2load {
    let out = run_bounded(
        Command::new(tool("h2load")).args(args),
        Duration::from_secs(60),
    );
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let number_before = |line: &str, word: &str| -> u64 {
        let words: Vec<&str> = line.split_whitespace().collect();
        words
            .windows(2)
            .find(|w| w[1].trim_end_matches(',') == word)
            .and_then(|w| w[0].parse().ok())
            .unwrap_or(0)
    };
    let requests = output
        .lines()
        .find(|l| l.starts_with("requests:"))
        .unwrap_or_else(|| panic!("cannot parse h2load output:\n{output}"));
    let statuses = output
        .lines()
        .find(|l| l.starts_with("status codes:"))
        .unwrap_or("");
    H2load {
        done: number_before(requests, "done"),
        succeeded: number_before(requests, "succeeded"),
        failed: number_before(requests, "failed"),
        errored: number_before(requests, "errored"),
        timeout: number_before(requests, "timeout"),
        status_2xx: number_before(statuses, "2xx"),
        output,
    }
}
