//! Protocol layer: codecs that turn bytes into frames and back (HTTP/1.1 and the xprotocol RPC codecs).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod http1;
pub mod xprotocol;
