//! The TCP connect check: MOSN's `TCPDialSession`, the default for every protocol but
//! `Http1`. Unix socket hosts are checked by connecting to their socket.

use super::{address_text, CheckFuture, HealthChecker};
use crate::host::Host;
use std::time::Duration;

/// Healthy when a connection to the host can be made; it is closed at once.
#[derive(Debug, Clone)]
pub struct TcpChecker {
    connect_timeout: Duration,
}

impl TcpChecker {
    /// A checker whose connects give up after `connect_timeout` (the runner's check
    /// timeout bounds them too).
    pub fn new(connect_timeout: Duration) -> Self {
        Self { connect_timeout }
    }
}

impl HealthChecker for TcpChecker {
    fn check<'a>(&'a self, host: &'a Host) -> CheckFuture<'a> {
        Box::pin(async move {
            match mosn_net::connect(&host.address, self.connect_timeout).await {
                Ok(socket) => {
                    drop(socket);
                    Ok(())
                }
                Err(e) => Err(format!("connect to {}: {e}", address_text(&host.address))),
            }
        })
    }
}
