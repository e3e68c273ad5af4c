//! Route tables and matching: virtual hosts by domain, routes by path and headers, and the
//! actions a match leads to (forward, direct response, redirect) with their header edits.
//!
//! Built once from the validated config model and shared read-only by every worker.
#![forbid(unsafe_code)]

mod domain;
mod hash_policy;
mod headers;
mod table;

pub use hash_policy::{hash_key, source_ip_hash};
pub use headers::apply_header_edits;
pub use headers::{CompiledEdits, LevelEdits};
pub use table::{pick_cluster, HeaderView, Matched, Route, RouteTable, VirtualHost};
