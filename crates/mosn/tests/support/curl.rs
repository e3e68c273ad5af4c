//! curl.

use super::*;

/// What one curl run produced.
#[derive(Debug)]
pub struct Curl {
    /// curl's exit code.
    pub exit: i32,
    /// Status of the final response (0 when none).
    pub status: u16,
    /// Status codes of every response head received (1xx included), in order.
    pub statuses: Vec<u16>,
    /// Headers of the final response (trailers, which curl reports after them, included).
    pub headers: Vec<(String, String)>,
    /// Protocol of the final response as curl names it (`HTTP/1.1`, `HTTP/2`).
    pub version: String,
    pub body: Vec<u8>,
    pub time_total: f64,
    pub stderr: String,
}

impl Curl {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Runs `curl -sS` with a 20 s max time plus `args`; captures status, headers and body.
pub fn curl(args: &[&str]) -> Curl {
    let dir = TempDir::new("curl");
    let headers_path = dir.file("headers");
    let body_path = dir.file("body");
    let out = run_bounded(
        Command::new(tool("curl"))
            .args(["-sS", "--max-time", "20", "--connect-timeout", "5"])
            .arg("-D")
            .arg(&headers_path)
            .arg("-o")
            .arg(&body_path)
            .args(["-w", "%{http_code} %{time_total}"])
            .args(args),
        Duration::from_secs(40),
    );
    let exit = out.status.code().unwrap_or(-1);
    let write_out = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut parts = write_out.split_whitespace();
    let status = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let time_total = parts.next().and_then(|s| s.parse().ok()).unwrap_or(-1.0);
    let head_text = fs::read_to_string(&headers_path).unwrap_or_default();
    let mut statuses = Vec::new();
    let mut headers = Vec::new();
    let mut version = String::new();
    for line in head_text.lines() {
        let line = line.trim_end();
        if line.starts_with("HTTP/") {
            version = line.split_whitespace().next().unwrap_or("").to_owned();
            if let Some(code) = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
                statuses.push(code);
            }
            headers.clear();
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    Curl {
        exit,
        status,
        statuses,
        headers,
        version,
        body: fs::read(&body_path).unwrap_or_default(),
        time_total,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
