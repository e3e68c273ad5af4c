//! When a connection last moved bytes, requests or frames: written by every task (or
//! future) that moves them, read by its idle or heartbeat timer, so it is one atomic
//! rather than a lock.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;
use tokio::time::Instant;

/// The last activity of one connection, to the nanosecond since it was created.
#[derive(Debug)]
pub struct LastActivity {
    base: Instant,
    since_base: AtomicU64,
}

impl Default for LastActivity {
    /// Active now.
    fn default() -> Self {
        Self::new()
    }
}

impl LastActivity {
    /// Active now.
    pub fn new() -> Self {
        Self {
            base: Instant::now(),
            since_base: AtomicU64::new(0),
        }
    }

    /// Marks activity now.
    pub fn touch(&self) {
        let nanos = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.since_base.store(nanos, Relaxed);
    }

    /// When the last activity was.
    pub fn get(&self) -> Instant {
        self.base + Duration::from_nanos(self.since_base.load(Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_moves_the_last_activity_forward() {
        let last = LastActivity::new();
        let created = last.get();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(last.get(), created, "untouched: still the creation time");
        last.touch();
        assert!(last.get() >= created + Duration::from_millis(5));
    }
}
