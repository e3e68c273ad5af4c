//! Host membership as seen by the holders of an `Arc<Host>` (connection pools, health
//! checks) after [`crate::Cluster::update_hosts`] replaced a cluster's host list.

use crate::host::Host;
use std::sync::atomic::Ordering;

impl Host {
    /// True once the host left its cluster's host list (DNS re-resolution, later EDS).
    /// Connection pools close idle connections to such hosts at their next checkout or
    /// sweep instead of waiting for the idle timeout.
    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Relaxed)
    }

    /// Marks the host as no longer in its cluster.
    pub(crate) fn mark_removed(&self) {
        self.removed.store(true, Ordering::Relaxed);
    }
}
