//! MOSN's JSON configuration, converted once into the validated internal model.
//!
//! MOSN parses its config with Go's `encoding/json`, so keys match case-insensitively,
//! durations are strings such as `"30s"`, and unknown keys are tolerated. This crate keeps
//! those semantics, names the JSON path of every error, and refuses features that would
//! change behaviour but are not built yet instead of silently ignoring them.
#![forbid(unsafe_code)]

pub mod model;

pub use model::*;
