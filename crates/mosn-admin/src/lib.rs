//! Admin API: version, config dump, stats, log levels.
//!
//! Serves MOSN's admin paths (`/api/v1/...`) on their own thread, and owns the process's
//! logger so the API can change its level at runtime. A process started from an Envoy
//! bootstrap also serves Envoy's admin paths (`/config_dump`, `/stats`, `/ready`, ...;
//! see [`envoy`]).
#![forbid(unsafe_code)]

pub mod envoy;
mod handlers;
pub mod logging;
pub mod server;

pub use envoy::{DrainRequest, EnvoyAdmin, EnvoyListener, ServerState};
pub use logging::LogHandle;
pub use server::{spawn, AdminHandle, AdminState, HostStatsFn, JsonFn, ReloadFn};
