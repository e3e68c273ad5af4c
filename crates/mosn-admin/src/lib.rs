//! Admin API: version, config dump, stats, log levels.
//!
//! Serves MOSN's admin paths (`/api/v1/...`) on their own thread, and owns the process's
//! logger so the API can change its level at runtime.
#![forbid(unsafe_code)]

mod handlers;
pub mod logging;
pub mod server;

pub use logging::LogHandle;
pub use server::{spawn, AdminHandle, AdminState, HostStatsFn, JsonFn, ReloadFn};
