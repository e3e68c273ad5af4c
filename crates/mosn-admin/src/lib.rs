//! Admin API: version, config dump, stats, log levels.
#![forbid(unsafe_code)]
