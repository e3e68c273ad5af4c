//! Shared helpers for the end-to-end tests: free ports, temp dirs, process guards for
//! `mosn` and for the real peers (nginx, socat, iperf3, python3), and runners for curl and
//! wrk.
//!
//! Every test is bounded: each wait has a deadline, each child process is owned by a guard
//! that stops it (by its PID) and reaps it on drop, and every socket has read/write
//! timeouts. Only loopback addresses are used. A missing peer is a test failure with a
//! message naming it (CI installs them with `scripts/install-test-peers.sh`).

// Each test file uses only part of this module.
#![allow(dead_code, unused_imports)]

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// The binary under test.
pub const MOSN: &str = env!("CARGO_BIN_EXE_mosn");

/// Socket read/write timeout of the raw test clients.
pub const IO_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a process may take to start listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// MOSN's sample configs (shared test data next to the workspace).
pub fn samples_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/mosn-configs"
    ))
}

/// The workspace root (for `examples/`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Value {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

mod curl;
mod envoy;
mod http_client;
mod misc;
mod mosn;
mod nginx;
mod node;
mod peers;
mod ports;
mod python;
mod rpc;
mod tls;
mod tongsuo;
mod tools;
mod wrk;
mod xds;

pub use curl::*;
pub use envoy::*;
pub use http_client::*;
pub use misc::*;
pub use mosn::*;
pub use nginx::*;
pub use node::*;
pub use peers::*;
pub use ports::*;
pub use python::*;
pub use rpc::*;
pub use tls::*;
pub use tongsuo::*;
pub use tools::*;
pub use wrk::*;
pub use xds::*;
