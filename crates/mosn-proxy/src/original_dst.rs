//! Where an `ORIGINAL_DST` cluster sends a request or connection: a header's address when
//! `use_header` asks for it (HTTP), else the connection's destination before an iptables
//! REDIRECT (`use_original_dst` listeners); `replace_local` keeps only the port (the
//! sidecar's own application on 127.0.0.1), as MOSN's `OriginalDstLoadBalancer` does.

use http::HeaderMap;
use mosn_net::ConnectionInfo;
use mosn_upstream::Cluster;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The destination, or `None` for clusters of other types (and when none is known, which
/// the cluster then counts as having no host).
pub(crate) fn destination(
    cluster: &Cluster,
    headers: Option<&HeaderMap>,
    info: &ConnectionInfo,
) -> Option<SocketAddr> {
    let cfg = cluster.original_dst()?;
    let from_header = cfg
        .use_header
        .then(|| {
            headers?
                .get(cfg.header_name.as_str())?
                .to_str()
                .ok()
                .and_then(parse)
        })
        .flatten();
    let dst = from_header.or(info.original_dst.as_deref().copied())?;
    Some(if cfg.replace_local {
        SocketAddr::new(Ipv4Addr::LOCALHOST.into(), dst.port())
    } else {
        dst
    })
}

/// `ip:port`, `[v6]:port`, or a bare IP meaning port 80 (MOSN's default).
fn parse(value: &str) -> Option<SocketAddr> {
    let value = value.trim();
    value.parse().ok().or_else(|| {
        value
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, 80))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_parse_with_mosns_default_port() {
        assert_eq!(
            parse("10.1.2.3:8080"),
            Some("10.1.2.3:8080".parse().unwrap())
        );
        assert_eq!(parse(" 10.1.2.3 "), Some("10.1.2.3:80".parse().unwrap()));
        assert_eq!(parse("[::1]:9"), Some("[::1]:9".parse().unwrap()));
        assert_eq!(parse("svc.example:80"), None, "names are not resolved here");
    }
}
