//! `event_log_path`: one line per check result, in MOSN's format
//! (`healthchecklog.go`), with the cluster and the failure reason appended:
//!
//! ```text
//! time:1700000000,host:127.0.0.1:8080,health_status:0,current_result:0,status_changed:1,cluster:c,reason:connect to 127.0.0.1:8080: connect failed: Connection refused (os error 111)
//! ```
//!
//! `health_status` is the host's verdict after the check (1 healthy), `current_result`
//! this check's result, `status_changed` 1 on a transition. Commas and line breaks in
//! the reason are replaced so every line keeps MOSN's `key:value,` shape.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the lines go.
#[derive(Debug)]
enum Sink {
    Stdout,
    Stderr,
    File(File),
}

/// An open health check event log.
#[derive(Debug)]
pub struct EventLog {
    sink: Sink,
}

impl EventLog {
    /// Opens `path` for appending (created if missing); `stdout` and `stderr` name the
    /// standard streams, as in MOSN's logger.
    pub fn open(path: &str) -> io::Result<Self> {
        let sink = match path {
            "stdout" => Sink::Stdout,
            "stderr" => Sink::Stderr,
            _ => Sink::File(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(Path::new(path))?,
            ),
        };
        Ok(Self { sink })
    }

    /// Appends one line for one check result.
    pub fn record(
        &mut self,
        cluster: &str,
        host: &str,
        healthy: bool,
        result: &Result<(), String>,
        changed: bool,
    ) -> io::Result<()> {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let reason = match result {
            Ok(()) => "ok".to_owned(),
            Err(reason) => reason.replace([',', '\n', '\r'], ";"),
        };
        let line = format!(
            "time:{time},host:{host},health_status:{},current_result:{},status_changed:{},\
             cluster:{cluster},reason:{reason}\n",
            u8::from(healthy),
            u8::from(result.is_ok()),
            u8::from(changed),
        );
        // One write per line: appends from several clusters never interleave.
        match &mut self.sink {
            Sink::Stdout => io::stdout().lock().write_all(line.as_bytes()),
            Sink::Stderr => io::stderr().lock().write_all(line.as_bytes()),
            Sink::File(file) => file.write_all(line.as_bytes()),
        }
    }
}
