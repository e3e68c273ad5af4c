//! The process runtime: builds runtime state from the validated config, binds listeners,
//! runs one single-threaded worker per core, serves the admin API on its own thread, and
//! turns signals into graceful or immediate shutdown.
#![deny(unsafe_code)]

mod envoy_admin;
mod listeners;
mod plane;
mod server;
#[allow(unsafe_code)]
mod sys;
mod tls_watch;
mod worker;

pub use plane::{ApplyReport, ConfigPlane, FileError, FileSource};
pub use server::{run, RunOptions, ServerError, XdsStart};
