//! Stream layer: upstream connections and the per-worker pools they come from — one
//! request at a time for HTTP/1 (`pool`), many at once for HTTP/2 (`h2_pool`) and for the
//! RPC protocols (`mux`), all keyed by [`PoolKey`] (address and TLS identity) — and the
//! body type streamed through the HTTP pools.
#![forbid(unsafe_code)]

mod activity;
mod body;
mod h2_pool;
mod key;
mod mux;
mod pool;

pub use activity::LastActivity;
pub use body::{
    boxed_body, channel_body, empty_body, full_body, guarded_body, observed_body, BodyError,
    BodyObserver, BodySender, ProxyBody,
};
pub use h2_pool::{H2Pool, H2Stream, StreamSlot, MAX_STREAMS_PER_CONNECTION};
pub use key::PoolKey;
pub use mux::{MuxConn, MuxError, MuxPool, MuxSettings, Responder, DEFAULT_HEARTBEAT_INTERVAL};
pub use pool::{open, ConnPool, ConnTracker, UpstreamConn};
