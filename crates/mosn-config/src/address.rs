//! Address syntaxes: socket addresses, Unix socket paths, CIDR ranges and port ranges.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use crate::model::{Address, CidrRange, PortRange};

/// MOSN's prefix for a Unix socket path in an address string.
const UNIX_PREFIX: &str = "unix:";

/// `"ip:port"`, `"[v6]:port"` or `"unix:/path"`. Host names are refused: MOSN resolves
/// them with DNS at start-up, which mosn-rs does not do.
pub(crate) fn parse_address(text: &str) -> Option<Address> {
    if let Some(path) = text.strip_prefix(UNIX_PREFIX) {
        return unix_path(path);
    }
    text.parse::<SocketAddr>().ok().map(Address::Tcp)
}

/// A listener address for MOSN's `network`: `"tcp"` accepts what [`parse_address`] does
/// plus Go's `":port"` (all interfaces; mosn-rs binds IPv4 `0.0.0.0` for it); `"unix"`
/// takes the whole string as the socket path, as Go's `ResolveUnixAddr` does, except
/// that a leading `unix:` is stripped so both spellings work.
pub(crate) fn parse_listener_address(text: &str, unix: bool) -> Option<Address> {
    if unix {
        return unix_path(text.strip_prefix(UNIX_PREFIX).unwrap_or(text));
    }
    if let Some(port) = text.strip_prefix(':') {
        let port = port.parse::<u16>().ok()?;
        return Some(Address::Tcp(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port,
        )));
    }
    parse_address(text)
}

fn unix_path(path: &str) -> Option<Address> {
    (!path.is_empty()).then(|| Address::Unix(PathBuf::from(path)))
}

/// A CIDR range from `"10.0.0.0/8"` or a bare IP (a /32 or /128). The address is
/// reduced to its network address, as Go's `net.ParseCIDR` does.
pub(crate) fn parse_cidr(text: &str) -> Option<CidrRange> {
    match text.split_once('/') {
        Some((ip, len)) if !len.starts_with('+') => cidr(ip.parse().ok()?, len.parse().ok()?),
        Some(_) => None,
        None => {
            let ip: IpAddr = text.parse().ok()?;
            cidr(ip, max_prefix(ip))
        }
    }
}

/// A CIDR range from an address and a prefix length; `None` if the length is too long.
pub(crate) fn cidr(ip: IpAddr, prefix_len: u8) -> Option<CidrRange> {
    if prefix_len > max_prefix(ip) {
        return None;
    }
    let address = match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix_len))
                .unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix_len))
                .unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    };
    Some(CidrRange {
        address,
        prefix_len,
    })
}

/// The prefix length of a single address: 32 for IPv4, 128 for IPv6.
pub(crate) fn max_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// Why a port string was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PortError {
    /// Not `"port"` or `"first-last"` with `1 <= first <= last <= 65535`.
    Invalid,
    /// MOSN's comma-separated list (`"80,443"`), which the model cannot hold yet.
    List,
}

/// MOSN's port syntax for `tcp_proxy` routes: `"8080"` or `"8000-9000"`.
pub(crate) fn parse_port_range(text: &str) -> Result<PortRange, PortError> {
    if text.contains(',') {
        return Err(PortError::List);
    }
    let port = |s: &str| match s.parse::<u16>() {
        Ok(p) if p > 0 && !s.starts_with('+') => Ok(p),
        _ => Err(PortError::Invalid),
    };
    let (start, end) = match text.split_once('-') {
        Some((start, end)) => (port(start)?, port(end)?),
        None => {
            let p = port(text)?;
            (p, p)
        }
    };
    if start > end {
        return Err(PortError::Invalid);
    }
    Ok(PortRange { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses() {
        assert_eq!(
            parse_address("127.0.0.1:2045"),
            Some(Address::Tcp("127.0.0.1:2045".parse().expect("addr")))
        );
        assert_eq!(
            parse_address("[::1]:80"),
            Some(Address::Tcp("[::1]:80".parse().expect("addr")))
        );
        assert_eq!(
            parse_address("unix:/tmp/a.sock"),
            Some(Address::Unix("/tmp/a.sock".into()))
        );
        for bad in [
            "127.0.0.1:99999",
            "localhost:80",
            "127.0.0.1",
            "::1:80",
            "unix:",
            "",
        ] {
            assert_eq!(parse_address(bad), None, "{bad}");
        }
    }

    #[test]
    fn listener_addresses_follow_network() {
        assert_eq!(
            parse_listener_address(":8080", false),
            Some(Address::Tcp("0.0.0.0:8080".parse().expect("addr")))
        );
        assert_eq!(
            parse_listener_address("/tmp/x.sock", true),
            Some(Address::Unix("/tmp/x.sock".into()))
        );
        assert_eq!(
            parse_listener_address("unix:/tmp/x.sock", true),
            Some(Address::Unix("/tmp/x.sock".into()))
        );
        assert_eq!(parse_listener_address("/tmp/x.sock", false), None);
    }

    #[test]
    fn cidr_ranges() {
        let c = parse_cidr("10.1.2.3/8").expect("cidr");
        assert_eq!(c.address, "10.0.0.0".parse::<IpAddr>().expect("ip"));
        assert_eq!(c.prefix_len, 8);
        assert_eq!(parse_cidr("10.1.2.3").map(|c| c.prefix_len), Some(32));
        assert_eq!(parse_cidr("::1").map(|c| c.prefix_len), Some(128));
        assert_eq!(parse_cidr("0.0.0.0/0").map(|c| c.prefix_len), Some(0));
        assert_eq!(
            parse_cidr("fd00::1/8").map(|c| c.address),
            Some("fd00::".parse().expect("ip"))
        );
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "x/8",
            "",
        ] {
            assert_eq!(parse_cidr(bad), None, "{bad}");
        }
    }

    #[test]
    fn port_ranges() {
        assert_eq!(
            parse_port_range("8080"),
            Ok(PortRange {
                start: 8080,
                end: 8080
            })
        );
        assert_eq!(
            parse_port_range("8000-9000"),
            Ok(PortRange {
                start: 8000,
                end: 9000
            })
        );
        assert_eq!(parse_port_range("80,443"), Err(PortError::List));
        for bad in ["0", "9000-8000", "x", "", "-", "1-", "65536", "+80"] {
            assert_eq!(parse_port_range(bad), Err(PortError::Invalid), "{bad}");
        }
    }
}
