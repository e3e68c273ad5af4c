//! Active health checking (MOSN's `pkg/upstream/healthcheck`).
//!
//! Every cluster with a `health_check` gets a [`ClusterHealthCheck`]; all of them run on
//! one dedicated thread (`mosn-health`, see [`spawn`]) with its own single-threaded tokio
//! runtime, so checks never compete with request handling on the workers.
//!
//! Per host, as in MOSN's `sessionChecker`: wait `initial_delay`, then repeatedly run
//! one check bounded by `timeout`, record the result, and sleep `interval` plus a random
//! jitter in `[0, interval_jitter)` (the interval counts from the end of a check).
//! Hosts start healthy, as in MOSN. [`HostHealth`] is the threshold state machine:
//! `unhealthy_threshold` consecutive failures set [`HealthFlag::FailedActiveHealthCheck`],
//! `healthy_threshold` consecutive successes clear it; each change of healthiness
//! rebuilds the cluster's rotation ([`Cluster::refresh_rotation`]).
//!
//! What a check does is a [`HealthChecker`]: a TCP connect ([`TcpChecker`]), one
//! HTTP/1.1 request ([`HttpChecker`]), one `grpc.health.v1` call ([`GrpcChecker`]) or
//! one RPC heartbeat ([`HeartbeatChecker`]).

mod event_log;
mod grpc;
mod heartbeat;
mod http;
mod runner;
mod state;
mod tcp;

pub use event_log::EventLog;
pub use grpc::GrpcChecker;
pub use heartbeat::HeartbeatChecker;
pub use http::HttpChecker;
pub use runner::{cluster_group, spawn, ClusterHealthCheck, HealthCheckHandle};
pub use state::{HostHealth, Transition};
pub use tcp::TcpChecker;

use crate::host::Host;
use mosn_config::Address;
use std::future::Future;
use std::pin::Pin;

#[cfg(doc)]
use crate::{host::HealthFlag, Cluster};

/// Why one check failed, in words for logs and the event log.
pub type CheckResult = Result<(), String>;

/// The future of one check; it runs on the health check thread only, so it need not be
/// `Send`.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = CheckResult> + 'a>>;

/// One kind of active check. The runner bounds every check by the configured `timeout`
/// (a check still running then has failed) and does the bookkeeping; an implementation
/// only talks to the host.
pub trait HealthChecker: Send + Sync {
    /// Checks `host` once: `Ok` when it is healthy, otherwise the reason.
    fn check<'a>(&'a self, host: &'a Host) -> CheckFuture<'a>;
}

/// A host's address as MOSN prints it: `ip:port` or `unix:/path`.
pub(crate) fn address_text(address: &Address) -> String {
    match address {
        Address::Tcp(addr) => addr.to_string(),
        Address::Unix(path) => format!("unix:{}", path.display()),
    }
}
