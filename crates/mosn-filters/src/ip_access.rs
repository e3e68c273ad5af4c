//! MOSN's `ip_access` filter: allow or deny requests by client IP, answering 403.

use http::HeaderMap;
use mosn_api::filter::{FilterStatus, RequestInfo, StreamFilter};
use mosn_config::IpAccessConfig;
use std::net::IpAddr;

/// Allows or denies each request by the client IP: the first rule whose addresses contain
/// it decides, otherwise `default_action` does (MOSN's semantics).
#[derive(Debug)]
pub struct IpAccessFilter {
    cfg: IpAccessConfig,
}

impl IpAccessFilter {
    /// A filter for one listener.
    pub fn new(cfg: IpAccessConfig) -> Self {
        Self { cfg }
    }

    /// The client IP: from the configured header when it holds one, else the peer address.
    fn client_ip(&self, headers: &HeaderMap, info: &RequestInfo<'_>) -> Option<IpAddr> {
        let from_header = self
            .cfg
            .header
            .as_deref()
            .and_then(|h| headers.get(h))
            .and_then(|v| v.to_str().ok())
            .and_then(parse_ip);
        from_header.or(info.remote.map(|a| a.ip()))
    }

    fn allows(&self, ip: Option<IpAddr>) -> bool {
        let Some(ip) = ip else {
            return self.cfg.default_allow;
        };
        self.cfg
            .rules
            .iter()
            .find(|r| r.addrs.iter().any(|c| c.contains(ip)))
            .map_or(self.cfg.default_allow, |r| r.allow)
    }
}

/// An IP, or the IP of an `ip:port` / `[v6]:port` value.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse()
        .ok()
        .or_else(|| text.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

impl StreamFilter for IpAccessFilter {
    fn name(&self) -> &'static str {
        "ip_access"
    }

    fn on_request_headers(&self, headers: &mut HeaderMap, info: &RequestInfo<'_>) -> FilterStatus {
        if self.allows(self.client_ip(headers, info)) {
            FilterStatus::Continue
        } else {
            FilterStatus::LocalReply {
                status: 403,
                reason: "access denied by ip_access".to_owned(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosn_config::{CidrRange, IpAccessRule};

    fn rule(allow: bool, addrs: &[(&str, u8)]) -> IpAccessRule {
        IpAccessRule {
            allow,
            addrs: addrs
                .iter()
                .map(|(a, l)| CidrRange {
                    address: a.parse().unwrap(),
                    prefix_len: *l,
                })
                .collect(),
        }
    }

    fn verdict(f: &IpAccessFilter, remote: &str, header: Option<&str>) -> FilterStatus {
        let mut headers = HeaderMap::new();
        if let Some(h) = header {
            headers.insert("x-real-ip", h.parse().unwrap());
        }
        let method = http::Method::GET;
        let info = RequestInfo {
            remote: Some(remote.parse().unwrap()),
            method: &method,
            path: "/",
        };
        f.on_request_headers(&mut headers, &info)
    }

    #[test]
    fn first_matching_rule_decides_then_the_default() {
        let f = IpAccessFilter::new(IpAccessConfig {
            header: None,
            default_allow: true,
            rules: vec![
                rule(true, &[("127.0.0.2", 32)]),
                rule(false, &[("127.0.0.0", 8)]),
            ],
        });
        assert_eq!(verdict(&f, "127.0.0.2:1", None), FilterStatus::Continue);
        assert!(matches!(
            verdict(&f, "127.0.0.1:1", None),
            FilterStatus::LocalReply { status: 403, .. }
        ));
        assert_eq!(verdict(&f, "10.0.0.1:1", None), FilterStatus::Continue);
    }

    #[test]
    fn header_overrides_the_peer_address_and_default_deny_applies() {
        let f = IpAccessFilter::new(IpAccessConfig {
            header: Some("x-real-ip".into()),
            default_allow: false,
            rules: vec![rule(true, &[("192.168.0.0", 16)])],
        });
        assert_eq!(
            verdict(&f, "127.0.0.1:1", Some("192.168.1.1")),
            FilterStatus::Continue
        );
        assert_eq!(
            verdict(&f, "127.0.0.1:1", Some("192.168.1.1:80")),
            FilterStatus::Continue
        );
        assert!(matches!(
            verdict(&f, "192.168.1.1:1", Some("10.0.0.1")),
            FilterStatus::LocalReply { status: 403, .. }
        ));
        assert!(matches!(
            verdict(&f, "127.0.0.1:1", None),
            FilterStatus::LocalReply { status: 403, .. }
        ));
    }
}
