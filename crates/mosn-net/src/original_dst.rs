//! A redirected connection's original destination: where the client connected before an
//! iptables `REDIRECT` (or nftables `redirect`) rule brought it to this listener, read
//! back with `SO_ORIGINAL_DST` (`IP6T_SO_ORIGINAL_DST` for IPv6) from conntrack.

use crate::socket::Socket;
use nix::sys::socket::{getsockopt, sockopt};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// The original destination of an accepted TCP connection; `None` when it was not
/// redirected (conntrack knows no NAT for it) or is not TCP.
pub fn original_dst(socket: &Socket) -> Option<SocketAddr> {
    let Socket::Tcp(tcp) = socket else {
        return None;
    };
    let local = tcp.local_addr().ok()?;
    let dst = if local.is_ipv4() {
        let sin = getsockopt(tcp, sockopt::OriginalDst).ok()?;
        SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
            u16::from_be(sin.sin_port),
        ))
    } else {
        let sin6 = getsockopt(tcp, sockopt::Ip6tOriginalDst).ok()?;
        SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::from(sin6.sin6_addr.s6_addr),
            u16::from_be(sin6.sin6_port),
            0,
            0,
        ))
    };
    // Without NAT, conntrack may answer with the connection's own destination.
    (dst != local).then_some(dst)
}
