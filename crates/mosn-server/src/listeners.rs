//! Binding every configured listener once per worker before the workers start, so bind
//! errors are reported with the listener's name and the process exits non-zero.

use mosn_config::{Address, ListenerConfig};
use mosn_net::{bind_listener, StdListener};
use std::io;

/// Accept backlog for every listener.
const BACKLOG: i32 = 1024;

/// Binds `listener` for `workers` workers. TCP gets one SO_REUSEPORT socket per worker
/// (port 0 is resolved by the first so all share one port); Unix shares one socket.
pub(crate) fn bind(listener: &ListenerConfig, workers: usize) -> io::Result<Vec<StdListener>> {
    let first = bind_listener(&listener.address, BACKLOG)?;
    let mut sockets = Vec::with_capacity(workers);
    let actual = match (&listener.address, first.local_addr()) {
        (Address::Tcp(_), Some(addr)) => Some(Address::Tcp(addr)),
        _ => None,
    };
    for _ in 1..workers {
        let next = match &actual {
            Some(addr) => bind_listener(addr, BACKLOG)?,
            None => first.try_clone()?,
        };
        sockets.push(next);
    }
    sockets.insert(0, first);
    Ok(sockets)
}
