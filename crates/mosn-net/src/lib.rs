//! NET/IO layer: listener sockets (one per worker with SO_REUSEPORT), accepted and
//! outgoing connections as one socket type, and the network filter that owns a connection.
#![forbid(unsafe_code)]

mod filter;
mod listener;
mod rewind;
mod socket;

pub use filter::{ConnectionInfo, NetworkFilter};
pub use listener::{bind_listener, BoundListener, StdListener};
pub use rewind::Rewind;
pub use socket::{connect, ConnectError, Socket};
