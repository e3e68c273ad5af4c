//! Stream layer: upstream connections and per-worker connection pools.
#![forbid(unsafe_code)]
