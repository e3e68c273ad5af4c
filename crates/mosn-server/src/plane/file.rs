//! The MOSN file as a source: read at start, and again on `mosn reload` or
//! `POST /api/v1/reload`, when only the differences are applied. A file that fails to
//! parse or validate is refused whole and the running configuration stays.

use super::{ApplyReport, ConfigPlane};
use arc_swap::ArcSwap;
use mosn_config::resources::Batch;
use mosn_config::Config;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a reload changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file did not parse or validate: one line per error, with its JSON path.
    #[error("configuration refused: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// The config file the process was started with, and what a reload may not change.
pub struct FileSource {
    path: PathBuf,
    plane: Arc<ConfigPlane>,
    /// The redacted JSON the admin API dumps, replaced on each applied reload.
    config_json: Arc<ArcSwap<serde_json::Value>>,
    /// The process settings at start, to warn about changes that need a restart.
    process: String,
}

impl FileSource {
    /// The source for `path`, whose start-up content was `config`.
    pub(crate) fn new(
        path: PathBuf,
        config: &Config,
        plane: Arc<ConfigPlane>,
        config_json: Arc<ArcSwap<serde_json::Value>>,
    ) -> Self {
        Self {
            path,
            plane,
            config_json,
            process: process_settings(config),
        }
    }

    /// Reads the file again and applies what changed: every resource it has (unchanged
    /// ones are left alone) and the removal of every resource it no longer has.
    pub fn reload(&self) -> Result<ApplyReport, FileError> {
        let parsed = mosn_config::load_file(&self.path).map_err(|errors| {
            self.plane.count_refused();
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            for line in &lines {
                tracing::warn!(error = %line, path = %self.path.display(), "reload refused");
            }
            FileError::Invalid(lines)
        })?;
        for w in &parsed.warnings {
            tracing::warn!(warning = %w, "reload");
        }
        let config = parsed.config;
        if process_settings(&config) != self.process {
            tracing::warn!(
                "reload: process settings (admin, processor, io_model, graceful_timeout, logs, pid) changed; they take effect at the next start"
            );
        }
        let mut batch = Batch::from_config(&config);
        let kept: HashSet<_> = batch
            .upserts
            .iter()
            .map(|r| (r.kind(), r.name().to_owned()))
            .collect();
        batch.removals = self
            .plane
            .names()
            .into_iter()
            .filter(|key| !kept.contains(key))
            .collect();
        let report = self.plane.apply(batch);
        self.config_json.store(Arc::new(config.redacted_json));
        Ok(report)
    }
}

/// The settings of `config` that only a restart applies, as comparable text.
fn process_settings(config: &Config) -> String {
    let server = config.servers.first();
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        config.admin,
        config.pid_file,
        server.map(|s| s.processor),
        server.map(|s| s.io_model),
        server.map(|s| s.graceful_timeout),
        server.map(|s| &s.default_log_path),
        server.map(|s| s.default_log_level),
    )
}
