//! Stream layer: upstream connections and the per-worker pools they come from — one
//! request at a time for HTTP/1 (`pool`), many at once for the RPC protocols (`mux`).
#![forbid(unsafe_code)]

mod mux;
mod pool;

pub use mux::{MuxConn, MuxError, MuxPool, MuxSettings, Responder, DEFAULT_HEARTBEAT_INTERVAL};
pub use pool::{open, ConnPool, ConnTracker, UpstreamConn};
