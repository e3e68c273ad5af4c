//! Listener sockets: one per worker for TCP (SO_REUSEPORT spreads connections), one shared
//! for Unix paths.

use crate::socket::Socket;
use mosn_config::Address;
use socket2::{Domain, Protocol, Type};
use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpListener, UnixListener};

/// A bound, listening socket as a worker's runtime sees it.
#[derive(Debug)]
pub enum BoundListener {
    /// TCP.
    Tcp(TcpListener),
    /// Unix domain.
    Unix(UnixListener),
}

/// A listening socket not yet registered with a runtime, so it can be created on the main
/// thread (reporting bind errors before workers start) and moved to its worker.
#[derive(Debug)]
pub enum StdListener {
    /// TCP.
    Tcp(std::net::TcpListener),
    /// Unix domain.
    Unix(std::os::unix::net::UnixListener),
}

/// Binds `addr` for one worker. TCP sockets get SO_REUSEADDR and SO_REUSEPORT so every
/// worker owns its own accept queue; a stale Unix socket file is replaced.
pub fn bind_listener(addr: &Address, backlog: i32) -> io::Result<StdListener> {
    match addr {
        Address::Tcp(sa) => bind_tcp(*sa, backlog).map(StdListener::Tcp),
        Address::Unix(path) => {
            if std::fs::symlink_metadata(path).is_ok_and(|m| {
                use std::os::unix::fs::FileTypeExt;
                m.file_type().is_socket()
            }) {
                std::fs::remove_file(path)?;
            }
            let l = std::os::unix::net::UnixListener::bind(path)?;
            l.set_nonblocking(true)?;
            Ok(StdListener::Unix(l))
        }
    }
}

fn bind_tcp(addr: SocketAddr, backlog: i32) -> io::Result<std::net::TcpListener> {
    let socket =
        socket2::Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

impl StdListener {
    /// A second handle on the same socket, for another worker (Unix listeners are shared).
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(match self {
            StdListener::Tcp(l) => StdListener::Tcp(l.try_clone()?),
            StdListener::Unix(l) => StdListener::Unix(l.try_clone()?),
        })
    }

    /// The bound TCP address (useful when port 0 was asked for).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            StdListener::Tcp(l) => l.local_addr().ok(),
            StdListener::Unix(_) => None,
        }
    }

    /// Registers the socket with the current runtime.
    pub fn into_tokio(self) -> io::Result<BoundListener> {
        Ok(match self {
            StdListener::Tcp(l) => BoundListener::Tcp(TcpListener::from_std(l)?),
            StdListener::Unix(l) => BoundListener::Unix(UnixListener::from_std(l)?),
        })
    }
}

impl BoundListener {
    /// Accepts one connection with TCP_NODELAY set; returns the socket and its addresses.
    pub async fn accept(&self) -> io::Result<(Socket, Option<SocketAddr>, Option<SocketAddr>)> {
        match self {
            BoundListener::Tcp(l) => {
                let (s, remote) = l.accept().await?;
                s.set_nodelay(true)?;
                let local = s.local_addr().ok();
                Ok((Socket::Tcp(s), Some(remote), local))
            }
            BoundListener::Unix(l) => {
                let (s, _) = l.accept().await?;
                Ok((Socket::Unix(s), None, None))
            }
        }
    }
}
