//! Types and traits shared by every layer of mosn-rs.
//!
//! Small and free of I/O: counters, the error taxonomy, and the traits that let filters
//! plug into the layers without knowing each other.
#![forbid(unsafe_code)]

pub mod error;
mod fast_map;
pub mod filter;
pub mod stats;

pub use fast_map::FastMap;
