//! MOSN's JSON configuration, converted once into the validated internal model.
//!
//! MOSN parses its config with Go's `encoding/json`, so keys match case-insensitively,
//! durations are strings such as `"30s"`, and unknown keys are tolerated. This crate keeps
//! those semantics, names the JSON path of every error, and refuses features that would
//! change behaviour but are not built yet instead of silently ignoring them.
#![forbid(unsafe_code)]

mod address;
mod certificates;
mod circuit_breakers;
mod cluster;
mod dns;
mod duration;
mod error;
mod filter_chain_match;
mod hash_policy;
mod headers;
mod health_check;
mod json;
mod lb_config;
mod lb_subset;
mod listener;
pub mod model;
mod outlier_detection;
mod proxy;
mod redact;
pub mod resources;
mod retry_policy;
mod root;
mod route;
mod router;
mod server;
mod slow_start;
mod stream_filter;
mod tcp_proxy;
mod tls;
mod tree;
mod unique;
pub mod validate;

use std::path::Path;

pub use dns::{DnsConfig, DnsLookupFamily, DnsTarget};
pub use duration::parse_duration;
pub use error::{ConfigError, ConfigWarning};
pub use model::*;
pub use redact::REDACTED;

use error::{Diag, ROOT_PATH};
use json::Field;

/// A successfully parsed configuration and what was accepted with reservations.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The validated model.
    pub config: Config,
    /// Unknown keys, ignored features, clamped values.
    pub warnings: Vec<ConfigWarning>,
}

/// Parses MOSN JSON text. On failure returns every error found (not just the first).
pub fn parse_str(text: &str) -> Result<Parsed, Vec<ConfigError>> {
    parse_in(text, None)
}

/// Parses MOSN JSON text whose relative certificate paths may also be found in `base_dir`.
fn parse_in(text: &str, base_dir: Option<&Path>) -> Result<Parsed, Vec<ConfigError>> {
    let json = tree::parse(text).map_err(|e| vec![syntax_error(&e)])?;
    let diag = Diag::in_dir(base_dir.map(Path::to_path_buf));
    let config = root::parse_root(&Field::root(&json, &diag));
    let (errors, warnings) = diag.into_parts();
    match config {
        Some(config) if errors.is_empty() => {
            // The rules every source shares, over the model the file became.
            let problems: Vec<ConfigError> = resources::Batch::from_config(&config)
                .upserts
                .iter()
                .flat_map(validate::validate)
                .map(|r| ConfigError {
                    path: format!("{} {:?}", r.kind.as_str(), r.name),
                    message: match r.path.as_str() {
                        "" => r.reason,
                        path => format!("{path}: {}", r.reason),
                    },
                })
                .collect();
            if problems.is_empty() {
                Ok(Parsed { config, warnings })
            } else {
                Err(problems)
            }
        }
        _ if errors.is_empty() => Err(vec![ConfigError {
            path: ROOT_PATH.to_owned(),
            message: "invalid configuration".to_owned(),
        }]),
        _ => Err(errors),
    }
}

/// Reads and parses a file. A relative certificate path inside the config is looked up in
/// the process CWD (as MOSN does) and, when no file is there, in the config file's
/// directory.
pub fn load_file(path: &Path) -> Result<Parsed, Vec<ConfigError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigError {
            path: ROOT_PATH.to_owned(),
            message: format!("cannot read {}: {e}", path.display()),
        }]
    })?;
    parse_in(&text, path.parent())
}

/// A JSON syntax error, with serde_json's line and column.
fn syntax_error(e: &serde_json::Error) -> ConfigError {
    let text = e.to_string();
    let location = format!(" at line {} column {}", e.line(), e.column());
    let reason = text.strip_suffix(&location).unwrap_or(&text);
    ConfigError {
        path: ROOT_PATH.to_owned(),
        message: format!(
            "invalid JSON at line {} column {}: {reason}",
            e.line(),
            e.column()
        ),
    }
}
