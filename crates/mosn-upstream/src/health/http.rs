//! The HTTP check: MOSN's `HTTPDialSession`. One HTTP/1.1 request per check on a new
//! connection (`Connection: close`, over TLS with the cluster's `tls_context` when the
//! scheme is `https`); healthy when the response status is in `codes`. Only the response
//! head is read.

use super::{address_text, CheckFuture, CheckResult, HealthChecker};
use crate::host::Host;
use mosn_config::{Address, HttpHealthCheck, StatusRange};
use mosn_protocol::http1::{parse_response_head, Limits};
use mosn_tls::ClusterTls;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Read buffer growth step while waiting for the response head.
const READ_CHUNK: usize = 4096;

/// Sends `{method} {path} HTTP/1.1` with `Host: {domain or the checked address}`.
#[derive(Debug, Clone)]
pub struct HttpChecker {
    config: HttpHealthCheck,
    /// The cluster's TLS context, used when `config.tls` (scheme `https`).
    tls: Option<Arc<ClusterTls>>,
}

impl HttpChecker {
    /// A checker for one `http_check_config` of a cluster with TLS context `tls`.
    pub fn new(config: HttpHealthCheck, tls: Option<Arc<ClusterTls>>) -> Self {
        let tls = tls.filter(|_| config.tls);
        Self { config, tls }
    }

    /// Where a host is checked: its own address, or its IP with the configured `port`.
    /// A Unix socket host is checked on its socket (`port` does not apply); MOSN cannot
    /// check those at all.
    fn target(&self, host: &Host) -> Address {
        match (&host.address, self.config.port) {
            (Address::Tcp(addr), Some(port)) => Address::Tcp(SocketAddr::new(addr.ip(), port)),
            (address, _) => address.clone(),
        }
    }

    fn request(&self, target: &Address) -> Vec<u8> {
        let host = match (&self.config.domain, target) {
            (Some(domain), _) => domain.clone(),
            (None, Address::Tcp(addr)) => addr.to_string(),
            (None, Address::Unix(_)) => "localhost".to_owned(),
        };
        format!(
            "{} {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: mosn-health-check\r\n\
             Accept: */*\r\nConnection: close\r\n\r\n",
            self.config.method, self.config.target
        )
        .into_bytes()
    }

    async fn exchange(&self, host: &Host, target: &Address) -> CheckResult {
        let what = address_text(target);
        let tls = self.tls.as_ref().map(|t| t.load());
        let sni = host.hostname.clone().unwrap_or_else(|| match target {
            Address::Tcp(addr) => addr.ip().to_string(),
            Address::Unix(_) => String::new(),
        });
        let tls_with_name = tls.as_deref().map(|t| (t, sni.as_str()));
        let mut socket = mosn_net::connect_with(target, self.config.timeout, tls_with_name)
            .await
            .map_err(|e| format!("connect to {what}: {e}"))?;
        socket
            .write_all(&self.request(target))
            .await
            .map_err(|e| format!("send to {what}: {e}"))?;
        let status = read_status(&mut socket)
            .await
            .map_err(|e| format!("response from {what}: {e}"))?;
        if status_matches(&self.config.codes, status) {
            Ok(())
        } else {
            Err(format!("{what} answered status {status}"))
        }
    }
}

impl HealthChecker for HttpChecker {
    fn check<'a>(&'a self, host: &'a Host) -> CheckFuture<'a> {
        Box::pin(async move {
            let target = self.target(host);
            match tokio::time::timeout(self.config.timeout, self.exchange(host, &target)).await {
                Ok(result) => result,
                Err(_) => Err(format!(
                    "no response from {} within {:?}",
                    address_text(&target),
                    self.config.timeout
                )),
            }
        })
    }
}

/// True when `status` is in one of the inclusive ranges.
pub(crate) fn status_matches(codes: &[StatusRange], status: u16) -> bool {
    codes.iter().any(|r| (r.start..=r.end).contains(&status))
}

/// Reads response heads until a final one (1xx interim responses are skipped, as Go's
/// client does, except 101) and returns its status.
async fn read_status(socket: &mut mosn_net::Socket) -> Result<u16, String> {
    let limits = Limits::default();
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    loop {
        match parse_response_head(&buf, &limits) {
            Ok(Some((head, consumed))) => {
                let status = head.status.as_u16();
                if (100..200).contains(&status) && status != 101 {
                    buf.drain(..consumed);
                    continue;
                }
                return Ok(status);
            }
            Ok(None) => {}
            Err(e) => return Err(format!("invalid response head: {e}")),
        }
        let len = buf.len();
        buf.resize(len + READ_CHUNK, 0);
        let n = socket
            .read(&mut buf[len..])
            .await
            .map_err(|e| e.to_string())?;
        buf.truncate(len + n);
        if n == 0 {
            return Err("connection closed before a complete response head".to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn codes_are_inclusive_ranges() {
        let codes = [
            StatusRange {
                start: 200,
                end: 204,
            },
            StatusRange {
                start: 404,
                end: 404,
            },
        ];
        assert!(status_matches(&codes, 200));
        assert!(status_matches(&codes, 204));
        assert!(status_matches(&codes, 404));
        assert!(!status_matches(&codes, 205));
        assert!(!status_matches(&codes, 503));
        assert!(!status_matches(&[], 200));
    }

    #[test]
    fn the_request_names_the_checked_address_or_the_domain() {
        let mut config = HttpHealthCheck {
            port: Some(9000),
            method: "HEAD".into(),
            target: "/health?x=1".into(),
            domain: None,
            timeout: Duration::from_secs(1),
            codes: vec![],
            tls: false,
        };
        let host = Host::new(Address::Tcp("127.0.0.1:8080".parse().unwrap()), None, 1);
        let checker = HttpChecker::new(config.clone(), None);
        let target = checker.target(&host);
        assert_eq!(target, Address::Tcp("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(
            String::from_utf8(checker.request(&target)).unwrap(),
            "HEAD /health?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n\
             User-Agent: mosn-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        config.domain = Some("svc.example".into());
        config.port = None;
        let checker = HttpChecker::new(config, None);
        let target = checker.target(&host);
        assert_eq!(target, host.address);
        assert!(String::from_utf8(checker.request(&target))
            .unwrap()
            .contains("\r\nHost: svc.example\r\n"));
    }
}
