//! NET/IO layer: listeners, accepted connections, socket options, network filter chain.
#![forbid(unsafe_code)]
