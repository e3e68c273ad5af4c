//! DNS cluster settings (`STRICT_DNS`, `LOGICAL_DNS`): MOSN's `dns_*` cluster keys and the
//! `hostname:port` host entries such clusters resolve.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use crate::json::{Field, Obj};
use crate::model::ClusterType;

/// MOSN's `DefaultRefreshInterval`.
const DEFAULT_REFRESH_RATE: Duration = Duration::from_secs(5);
/// A host entry without a port resolves to port 80, as in MOSN.
const DEFAULT_HOST_PORT: u16 = 80;
/// Nameservers listed without a port use `dns_resolvers.port`, else 53.
const DEFAULT_DNS_PORT: u16 = 53;
const DNS_KEYS: [&str; 6] = [
    "dns_refresh_rate",
    "respect_dns_ttl",
    "dns_lookup_family",
    "dns_resolvers",
    "dns_resolver_file",
    "dns_resolver_port",
];

/// How a DNS cluster finds its hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfig {
    /// `hosts[]`: the names to resolve, in config order.
    pub targets: Vec<DnsTarget>,
    /// `dns_refresh_rate` (default 5s): how often every name is resolved again.
    pub refresh_rate: Duration,
    /// `respect_dns_ttl`: re-resolve when the records expire instead (at least 1s apart).
    pub respect_dns_ttl: bool,
    /// `dns_lookup_family` (default `V4_ONLY`).
    pub lookup_family: DnsLookupFamily,
    /// Nameservers from `dns_resolvers.servers` (or `dns_resolver_file`); empty means the
    /// system's (`/etc/resolv.conf`).
    pub nameservers: Vec<SocketAddr>,
}

/// One `hosts[]` entry of a DNS cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsTarget {
    /// The name (or IP literal) to resolve.
    pub name: String,
    /// The port every resolved address gets (default 80).
    pub port: u16,
    /// `hostname`, informational; defaults to `name`.
    pub hostname: Option<String>,
    /// `weight`, given to every host resolved from this entry.
    pub weight: u32,
}

/// `dns_lookup_family`: MOSN's `V4_ONLY`/`V6_ONLY` and Envoy's other values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsLookupFamily {
    /// `V4_ONLY` (the default): A records.
    V4Only,
    /// `V6_ONLY`: AAAA records.
    V6Only,
    /// `V4_PREFERRED`: A records, AAAA when there are none.
    V4Preferred,
    /// `AUTO`: AAAA records, A when there are none (Envoy's meaning).
    Auto,
    /// `ALL`: both.
    All,
}

/// True for the cluster types whose hosts come from DNS.
pub(crate) fn is_dns(cluster_type: Option<ClusterType>) -> bool {
    matches!(
        cluster_type,
        Some(ClusterType::StrictDns | ClusterType::LogicalDns)
    )
}

/// The DNS settings of a cluster: `Some(None)` for static clusters (whose `dns_*` keys
/// MOSN ignores; warned), `None` after an error.
pub(crate) fn parse_dns(
    obj: &Obj<'_>,
    cluster_type: Option<ClusterType>,
) -> Option<Option<DnsConfig>> {
    if !is_dns(cluster_type) {
        for key in DNS_KEYS {
            if obj.is_set(key) {
                obj.key_warn(
                    key,
                    "ignored: only STRICT_DNS and LOGICAL_DNS clusters resolve names",
                );
            }
        }
        return Some(None);
    }
    let targets: Vec<Option<DnsTarget>> = obj.items("hosts").iter().map(parse_target).collect();
    let refresh_rate = obj
        .nonzero_duration("dns_refresh_rate", "resolve continuously")
        .unwrap_or(DEFAULT_REFRESH_RATE);
    let respect_dns_ttl = obj.bool("respect_dns_ttl").unwrap_or(false);
    let lookup_family = lookup_family(obj);
    let nameservers = nameservers(obj);
    Some(Some(DnsConfig {
        targets: targets.into_iter().collect::<Option<_>>()?,
        refresh_rate,
        respect_dns_ttl,
        lookup_family: lookup_family?,
        nameservers: nameservers?,
    }))
}

fn lookup_family(obj: &Obj<'_>) -> Option<DnsLookupFamily> {
    let v4 = DnsLookupFamily::V4Only;
    obj.get("dns_lookup_family").map_or(Some(v4), |f| {
        f.one_of(
            &[
                ("", v4),
                ("V4_ONLY", v4),
                ("V6_ONLY", DnsLookupFamily::V6Only),
                ("V4_PREFERRED", DnsLookupFamily::V4Preferred),
                ("AUTO", DnsLookupFamily::Auto),
                ("ALL", DnsLookupFamily::All),
            ],
            false,
            |t| format!("unknown dns_lookup_family {t:?}"),
        )
    })
}

/// `dns_resolvers` (`servers`, `port`; `search`, `ndots`, `timeout`, `attempts` are
/// tolerated, names are resolved as written) or `dns_resolver_file` (a resolv.conf) with
/// `dns_resolver_port`.
fn nameservers(obj: &Obj<'_>) -> Option<Vec<SocketAddr>> {
    if let Some(resolvers) = obj.object("dns_resolvers") {
        resolvers.tolerate(&["search", "ndots", "timeout", "attempts"]);
        let port = port_field(resolvers.get("port"))?;
        let mut out = Vec::new();
        let mut ok = true;
        for (field, text) in resolvers.strings("servers") {
            match nameserver(text, port) {
                Some(addr) => out.push(addr),
                None => {
                    field.error(format!(
                        "invalid DNS server {text:?}, expected ip or ip:port"
                    ));
                    ok = false;
                }
            }
        }
        if !out.is_empty() || !ok {
            return ok.then_some(out);
        }
    }
    let Some((path, field)) = obj.non_empty_str_field("dns_resolver_file") else {
        return Some(Vec::new());
    };
    let port = port_field(obj.get("dns_resolver_port"))?;
    match resolv_conf(Path::new(path), port) {
        Ok(servers) => Some(servers),
        Err(e) => {
            field.error(format!("cannot read DNS resolver file {path:?}: {e}"));
            None
        }
    }
}

/// A port written as a string (MOSN's type) or a number; `None` after an error.
fn port_field(field: Option<Field<'_>>) -> Option<u16> {
    let Some(field) = field else {
        return Some(DEFAULT_DNS_PORT);
    };
    let port = match field.as_str() {
        Some("") => return Some(DEFAULT_DNS_PORT),
        Some(text) => text.parse::<u16>().ok(),
        None => return field.as_uint::<u16>(),
    };
    if port.is_none() {
        field.error("expected a port number");
    }
    port
}

fn nameserver(text: &str, port: u16) -> Option<SocketAddr> {
    text.parse::<SocketAddr>().ok().or_else(|| {
        text.parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, port))
    })
}

/// The `nameserver` lines of a resolv.conf file.
fn resolv_conf(path: &Path, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter_map(|line| line.trim().strip_prefix("nameserver"))
        .filter_map(|rest| nameserver(rest.trim(), port))
        .collect())
}

fn parse_target(field: &Field<'_>) -> Option<DnsTarget> {
    let obj = field.as_object()?;
    let target = obj.required_str_field("address").and_then(|(text, field)| {
        let parsed = split_host_port(text);
        if parsed.is_none() {
            field.error(format!(
                "invalid DNS host address {text:?}, expected hostname:port"
            ));
        }
        parsed
    });
    let hostname = obj.str("hostname").map(str::to_owned);
    let weight = crate::cluster::host_weight(&obj);
    obj.tolerate(&["metadata", "tls_disable"]);
    let (name, port) = target?;
    Some(DnsTarget {
        hostname: hostname.or_else(|| Some(name.clone())),
        name,
        port,
        weight,
    })
}

/// `name:port`, `name` (port 80), `[v6]:port` or an IP literal.
fn split_host_port(text: &str) -> Option<(String, u16)> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some((addr.ip().to_string(), addr.port()));
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some((ip.to_string(), DEFAULT_HOST_PORT));
    }
    let (name, port) = match text.rsplit_once(':') {
        Some((name, port)) => (name, port.parse::<u16>().ok()?),
        None => (text, DEFAULT_HOST_PORT),
    };
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    valid.then(|| (name.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        assert_eq!(
            split_host_port("a.test:8080"),
            Some(("a.test".into(), 8080))
        );
        assert_eq!(split_host_port("a.test"), Some(("a.test".into(), 80)));
        assert_eq!(
            split_host_port("127.0.0.1:9"),
            Some(("127.0.0.1".into(), 9))
        );
        assert_eq!(split_host_port("[::1]:9"), Some(("::1".into(), 9)));
        assert_eq!(split_host_port("a.test:x"), None);
        assert_eq!(split_host_port(":80"), None);
        assert_eq!(split_host_port("a b:80"), None);
    }

    #[test]
    fn nameserver_forms() {
        assert_eq!(
            nameserver("127.0.0.1:5353", 53),
            "127.0.0.1:5353".parse().ok()
        );
        assert_eq!(nameserver("10.0.0.1", 54), "10.0.0.1:54".parse().ok());
        assert_eq!(nameserver("dns.test", 53), None);
    }
}
