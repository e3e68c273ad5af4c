//! `servers[]`: the process settings of the model.

use super::{ListenerConfig, RouterConfig};
use std::time::Duration;

/// One entry of `servers[]`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `default_log_path`: `"stdout"`, `"stderr"` or a file path.
    pub default_log_path: Option<String>,
    /// `default_log_level`: MOSN's level names (`DEBUG`, `INFO`, `WARN`, `ERROR`, ...).
    pub default_log_level: Option<LogLevel>,
    /// `processor`: number of worker threads; `None` means one per core.
    pub processor: Option<usize>,
    /// `io_model` (a mosn-rs extension): how connections are scheduled on the workers.
    pub io_model: IoModel,
    /// `graceful_timeout`: how long SIGTERM waits for in-flight requests (default 30s).
    pub graceful_timeout: Duration,
    /// `listeners[]`.
    pub listeners: Vec<ListenerConfig>,
    /// `routers[]`: route tables referenced by name from `proxy` filters.
    pub routers: Vec<RouterConfig>,
}

/// How worker threads share connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoModel {
    /// `"thread_per_core"` (the default): each worker thread has its own runtime, listener
    /// sockets (SO_REUSEPORT: the kernel spreads connections) and upstream pools; a
    /// connection stays on the thread that accepted it. No cross-thread traffic at all.
    #[default]
    ThreadPerCore,
    /// `"work_stealing"`: one tokio multi-threaded runtime of `processor` threads, one
    /// socket per listener and one set of upstream pools; an idle thread steals ready
    /// connection tasks from busy ones, which evens out uneven connections at the cost of
    /// shared (locked) pools and cross-thread wake-ups.
    WorkStealing,
}

/// Log levels in MOSN's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Most verbose.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something odd but handled.
    Warn,
    /// Something failed (MOSN's `ERROR`, also used for its `FATAL`).
    Error,
}
