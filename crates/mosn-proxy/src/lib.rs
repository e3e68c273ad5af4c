//! Proxy layer: the network filters that own a connection and forward its traffic —
//! `proxy` (HTTP/1.1, and the RPC protocols in `xprotocol`) and `tcp_proxy` — plus the state they read: route tables and
//! clusters published as one lock-free snapshot, each worker's pools, and the scope each
//! listener generation's connections are drained in.
#![forbid(unsafe_code)]

pub mod http;
mod idle_clock;
mod original_dst;
mod relay;
mod state;
pub mod tcp;
pub mod xprotocol;

pub use idle_clock::{IdleClock, IdleWait, IDLE_CLOCK_RESOLUTION};
pub use state::{ConnectionScope, Drain, ProxyState, SharedState, WorkerContext, WorkerDrain};
