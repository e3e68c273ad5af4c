//! Stream layer: upstream connections and the per-worker pools they come from — the
//! ping-pong pool for HTTP/1 and the multiplexed pool for HTTP/2 — and the body type
//! streamed through both.
#![forbid(unsafe_code)]

mod body;
mod exec;
mod h2_pool;
mod pool;

pub use body::{
    boxed_body, channel_body, empty_body, full_body, guarded_body, observed_body, BodyError,
    BodyObserver, BodySender, ProxyBody,
};
pub use exec::LocalExec;
pub use h2_pool::{H2Pool, H2Stream, StreamSlot, MAX_STREAMS_PER_CONNECTION};
pub use pool::{ConnPool, CountedConn, UpstreamConn};
