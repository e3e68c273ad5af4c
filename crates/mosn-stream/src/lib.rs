//! Stream layer: upstream connections for request/response ("ping-pong") protocols and the
//! per-worker pool they are reused from. Multiplexed pools (HTTP/2, RPC) join here later.
#![forbid(unsafe_code)]

mod pool;

pub use pool::{ConnPool, UpstreamConn};
