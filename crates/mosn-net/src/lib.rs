//! NET/IO layer: listener sockets (one per worker with SO_REUSEPORT), accepted and
//! outgoing connections as one socket type (TCP, Unix, TLS), filter-chain selection with
//! the TLS handshake, and the network filter that owns a connection.
#![forbid(unsafe_code)]

mod chains;
mod filter;
mod listener;
mod original_dst;
mod rewind;
mod socket;
mod splice;

pub use chains::{Chain, EstablishError, FilterChains, Settled};
pub use filter::{
    spawn_guarded, ConnectionGuard, ConnectionInfo, NetworkFilter, OpenConnections, TaskSlot,
    TlsInfo,
};
pub use listener::{bind_listener, BoundListener, StdListener};
pub use original_dst::original_dst;
pub use rewind::Rewind;
pub use socket::{connect, connect_with, connect_with_keepalive, ConnectError, Socket};
pub use splice::splice_one_way;
