//! The one call into the C library this crate makes: handing freed heap memory back to
//! the kernel after a large configuration change.
//!
//! glibc's allocator keeps what a thread freed in that thread's arena: after the ADS
//! thread decoded and converted a push of 10,000 clusters, the response buffers and
//! converter temporaries (tens of MiB) stay resident although nothing uses them.
//! `malloc_trim` returns every free page of every arena. It locks each arena while it
//! walks it, so it runs only after large batches, on its own short-lived thread, a moment
//! after the batch (when the caller has dropped the response it came from), and at most
//! one at a time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Set while a trim is scheduled or running, so a burst of large batches makes one.
static SCHEDULED: AtomicBool = AtomicBool::new(false);

/// How long after a large batch the trim runs: long enough for the ADS thread to drop
/// the response the batch came from.
const DELAY: Duration = Duration::from_millis(200);

/// Schedules one trim of the heap shortly (a no-op off glibc).
pub(crate) fn release_free_memory_soon() {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) || SCHEDULED.swap(true, Ordering::AcqRel)
    {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("mosn-trim".into())
        .spawn(|| {
            std::thread::sleep(DELAY);
            SCHEDULED.store(false, Ordering::Release);
            trim();
        });
    if spawned.is_err() {
        SCHEDULED.store(false, Ordering::Release);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: `malloc_trim` takes a byte count to keep at the top of the main heap and
    // only reads and changes the allocator's own state under its own locks; it is safe to
    // call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
