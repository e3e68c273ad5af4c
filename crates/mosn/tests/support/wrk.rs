//! wrk.

use super::*;

/// wrk's summary.
#[derive(Debug)]
pub struct Wrk {
    pub requests: u64,
    pub requests_per_sec: f64,
    pub non_2xx_3xx: u64,
    pub socket_errors: u64,
    pub output: String,
}

/// `wrk -t1 -c<conns> -d<secs>s --timeout 5s` on `url` with extra `-H` headers.
pub fn wrk(url: &str, conns: u32, secs: u32, headers: &[&str]) -> Wrk {
    assert!(secs <= 10, "wrk runs are bounded to 10 s");
    let mut cmd = Command::new(tool("wrk"));
    cmd.args([
        "-t1",
        &format!("-c{conns}"),
        &format!("-d{secs}s"),
        "--timeout",
        "5s",
    ]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    cmd.arg(url);
    let out = run_bounded(&mut cmd, Duration::from_secs(u64::from(secs) + 30));
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "wrk failed: {output}");
    parse_wrk(&output)
}

/// Parses wrk's text summary.
pub fn parse_wrk(output: &str) -> Wrk {
    let mut result = Wrk {
        requests: 0,
        requests_per_sec: 0.0,
        non_2xx_3xx: 0,
        socket_errors: 0,
        output: output.to_owned(),
    };
    let mut saw_requests = false;
    for line in output.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            result.requests_per_sec = rest.trim().parse().unwrap_or(0.0);
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            result.non_2xx_3xx = rest.trim().parse().unwrap_or(u64::MAX);
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            result.socket_errors = rest
                .split(',')
                .filter_map(|part| part.split_whitespace().nth(1))
                .map(|n| n.parse::<u64>().unwrap_or(u64::MAX))
                .fold(0u64, u64::saturating_add);
        } else if line.contains(" requests in ") {
            result.requests = line
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            saw_requests = true;
        }
    }
    assert!(saw_requests, "cannot parse wrk output:\n{output}");
    result
}
