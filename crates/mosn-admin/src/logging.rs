//! The process's log output and its runtime-adjustable level.
//!
//! MOSN writes its default error log to `default_log_path` (`"stdout"`, `"stderr"` or a file)
//! at `default_log_level`, and lets operators change the level (or silence the logger)
//! through the admin API. Here that is one global `tracing` subscriber whose level filter
//! sits behind a [`reload`] layer; [`LogHandle`] is the knob the admin API turns.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use mosn_config::LogLevel;
use tracing::Dispatch;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{reload, Registry};

/// The `default_log_path` value that sends logs to standard output (also the default).
pub const STDOUT: &str = "stdout";
/// The `default_log_path` value that sends logs to standard error.
pub const STDERR: &str = "stderr";

/// Installs the global tracing subscriber: writes to `"stdout"`, `"stderr"` or a file path
/// (appended, created with its parent directories if missing) as MOSN's `default_log_path`;
/// `None` or `""` means stdout. The level comes from MOSN's level and can be changed at
/// runtime through the returned handle.
///
/// May be called once per process: a second call (or any call after another global
/// subscriber was installed) returns an `AlreadyExists` error instead of panicking.
pub fn init(log_path: Option<&str>, level: LogLevel) -> io::Result<LogHandle> {
    if tracing::dispatcher::has_been_set() {
        return Err(already_set());
    }
    let (handle, dispatch) = build(log_path, level)?;
    tracing::dispatcher::set_global_default(dispatch).map_err(|_| already_set())?;
    Ok(handle)
}

fn already_set() -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        "a global log subscriber is already installed",
    )
}

/// Builds the subscriber and its handle without installing either, so tests (and callers
/// that want a scoped logger) can use `tracing::dispatcher::with_default`. The handle keeps
/// working for as long as some clone of the returned [`Dispatch`] is alive.
pub fn build(log_path: Option<&str>, level: LogLevel) -> io::Result<(LogHandle, Dispatch)> {
    let path = log_path.filter(|p| !p.is_empty()).unwrap_or(STDOUT);
    let (writer, ansi) = match path {
        STDOUT => (BoxMakeWriter::new(io::stdout), io::stdout().is_terminal()),
        STDERR => (BoxMakeWriter::new(io::stderr), io::stderr().is_terminal()),
        file => (BoxMakeWriter::new(Arc::new(open_append(file)?)), false),
    };
    let (filter, reload) = reload::Layer::new(to_filter(level, true));
    let fmt_layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi)
        .with_target(true);
    let subscriber = Registry::default().with(filter).with(fmt_layer);
    let handle = LogHandle {
        inner: Arc::new(Inner {
            path: path.to_string(),
            reload,
            state: Mutex::new(State {
                level,
                enabled: true,
            }),
        }),
    };
    Ok((handle, Dispatch::new(subscriber)))
}

/// Opens `path` for appending, creating it and its parent directories as MOSN does.
fn open_append(path: &str) -> io::Result<File> {
    if let Some(dir) = Path::new(path).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    OpenOptions::new().create(true).append(true).open(path)
}

/// Controls the level of the logger built by [`init`] or [`build`]; cheap to clone and
/// shared between the server (which created it) and the admin API (which changes it).
#[derive(Clone)]
pub struct LogHandle {
    inner: Arc<Inner>,
}

struct Inner {
    path: String,
    reload: reload::Handle<LevelFilter, Registry>,
    state: Mutex<State>,
}

struct State {
    level: LogLevel,
    enabled: bool,
}

impl LogHandle {
    /// The current level (also reported while the logger is disabled, as MOSN does).
    pub fn level(&self) -> LogLevel {
        self.state().level
    }

    /// Changes the level from now on; fails only if the subscriber has been dropped.
    pub fn set_level(&self, level: LogLevel) -> Result<(), String> {
        let mut state = self.state();
        self.apply(level, state.enabled)?;
        state.level = level;
        Ok(())
    }

    /// Whether the logger writes at all (MOSN's `enable_log` / `disable_log`).
    pub fn is_enabled(&self) -> bool {
        self.state().enabled
    }

    /// Turns all output off (`false`) or back on at the current level (`true`).
    pub fn set_enabled(&self, enabled: bool) -> Result<(), String> {
        let mut state = self.state();
        self.apply(state.level, enabled)?;
        state.enabled = enabled;
        Ok(())
    }

    /// The log path as configured (`"stdout"`, `"stderr"` or the file path); the admin API
    /// names the logger by it.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn apply(&self, level: LogLevel, enabled: bool) -> Result<(), String> {
        self.inner
            .reload
            .modify(|f| *f = to_filter(level, enabled))
            .map_err(|e| format!("cannot change log level: {e}"))
    }
}

impl fmt::Debug for LogHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("LogHandle")
            .field("path", &self.inner.path)
            .field("level", &state.level)
            .field("enabled", &state.enabled)
            .finish()
    }
}

fn to_filter(level: LogLevel, enabled: bool) -> LevelFilter {
    if !enabled {
        return LevelFilter::OFF;
    }
    match level {
        LogLevel::Trace => LevelFilter::TRACE,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Error => LevelFilter::ERROR,
    }
}

/// Parses MOSN's level names, case-insensitively: `TRACE`, `DEBUG`, `INFO`, `WARN`,
/// `WARNING`, `ERROR`, and `FATAL` (mapped to `Error`, the most severe level we have).
pub fn parse_level(s: &str) -> Option<LogLevel> {
    let s = s.trim();
    [
        ("TRACE", LogLevel::Trace),
        ("DEBUG", LogLevel::Debug),
        ("INFO", LogLevel::Info),
        ("WARN", LogLevel::Warn),
        ("WARNING", LogLevel::Warn),
        ("ERROR", LogLevel::Error),
        ("FATAL", LogLevel::Error),
    ]
    .into_iter()
    .find(|(name, _)| s.eq_ignore_ascii_case(name))
    .map(|(_, level)| level)
}

/// MOSN's name for a level, as `get_loglevel` reports it.
pub fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Trace => "TRACE",
        LogLevel::Debug => "DEBUG",
        LogLevel::Info => "INFO",
        LogLevel::Warn => "WARN",
        LogLevel::Error => "ERROR",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_log(name: &str) -> String {
        let dir =
            std::env::temp_dir().join(format!("mosn-admin-logging-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("sub")
            .join("mosn.log")
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn parses_mosn_level_names() {
        assert_eq!(parse_level("TRACE"), Some(LogLevel::Trace));
        assert_eq!(parse_level("debug"), Some(LogLevel::Debug));
        assert_eq!(parse_level("Info"), Some(LogLevel::Info));
        assert_eq!(parse_level("WARN"), Some(LogLevel::Warn));
        assert_eq!(parse_level("warning"), Some(LogLevel::Warn));
        assert_eq!(parse_level("ERROR"), Some(LogLevel::Error));
        assert_eq!(parse_level("FATAL"), Some(LogLevel::Error));
        assert_eq!(parse_level("verbose"), None);
        assert_eq!(parse_level(""), None);
        for level in [
            LogLevel::Trace,
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warn,
            LogLevel::Error,
        ] {
            assert_eq!(parse_level(level_name(level)), Some(level));
        }
    }

    #[test]
    fn empty_or_missing_path_means_stdout() {
        let (h, _d) = build(None, LogLevel::Info).unwrap();
        assert_eq!(h.path(), STDOUT);
        let (h, _d) = build(Some(""), LogLevel::Info).unwrap();
        assert_eq!(h.path(), STDOUT);
        let (h, _d) = build(Some("stderr"), LogLevel::Warn).unwrap();
        assert_eq!(h.path(), STDERR);
        assert_eq!(h.level(), LogLevel::Warn);
    }

    #[test]
    fn level_changes_take_effect_on_the_file() {
        let path = temp_log("reload");
        let (handle, dispatch) = build(Some(&path), LogLevel::Info).unwrap();
        assert_eq!(handle.path(), path);
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::debug!("hidden-debug-1");
            tracing::info!("shown-info-1");
            handle.set_level(LogLevel::Debug).unwrap();
            assert_eq!(handle.level(), LogLevel::Debug);
            tracing::debug!("shown-debug-2");
            handle.set_level(LogLevel::Error).unwrap();
            tracing::warn!("hidden-warn-3");
            tracing::error!("shown-error-3");
            handle.set_enabled(false).unwrap();
            assert!(!handle.is_enabled());
            assert_eq!(handle.level(), LogLevel::Error);
            tracing::error!("hidden-error-4");
            handle.set_level(LogLevel::Trace).unwrap();
            tracing::error!("hidden-error-5");
            handle.set_enabled(true).unwrap();
            tracing::trace!("shown-trace-6");
        });
        let text = std::fs::read_to_string(&path).unwrap();
        for shown in [
            "shown-info-1",
            "shown-debug-2",
            "shown-error-3",
            "shown-trace-6",
        ] {
            assert!(text.contains(shown), "{shown} missing from {text}");
        }
        for hidden in [
            "hidden-debug-1",
            "hidden-warn-3",
            "hidden-error-4",
            "hidden-error-5",
        ] {
            assert!(!text.contains(hidden), "{hidden} present in {text}");
        }
        // One line per event: timestamp, level, target, message; no colour codes in files.
        let line = text.lines().find(|l| l.contains("shown-info-1")).unwrap();
        assert!(line.contains("INFO"), "{line}");
        assert!(line.contains("mosn_admin::logging::tests"), "{line}");
        assert!(!text.contains('\u{1b}'), "{text}");
    }

    #[test]
    fn file_is_appended_not_truncated() {
        let path = temp_log("append");
        for msg in ["first-run", "second-run"] {
            let (_h, dispatch) = build(Some(&path), LogLevel::Info).unwrap();
            tracing::dispatcher::with_default(&dispatch, || tracing::info!("{msg}"));
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("first-run") && text.contains("second-run"),
            "{text}"
        );
    }

    #[test]
    fn set_level_fails_once_the_subscriber_is_gone() {
        let (handle, dispatch) = build(Some("stderr"), LogLevel::Info).unwrap();
        drop(dispatch);
        assert!(handle.set_level(LogLevel::Debug).is_err());
        assert_eq!(handle.level(), LogLevel::Info);
    }

    #[test]
    fn unopenable_file_is_an_error() {
        // A directory cannot be opened for appending.
        let dir = std::env::temp_dir();
        assert!(build(Some(dir.to_str().unwrap()), LogLevel::Info).is_err());
    }
}
