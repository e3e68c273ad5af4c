//! Idle HTTP/1 connections without a task.
//!
//! A keep-alive connection quiet for longer than [`PARK_AFTER`] gives up its task: its
//! state moves into a [`Parked`] cell whose waker sits in the socket's readiness and in
//! the connection's idle-clock slot. Whichever fires first takes the connection out and
//! spawns its task again: to serve the next request, or to close it when the idle
//! timeout passed or the process drains. A task with its state is ~512 B of 128-byte
//! aligned memory (and the allocator's alignment gap beside it); a parked connection is
//! its ~200 B state and a clock registration.

use super::connection::Http1Connection;
use crate::{IdleClock, IdleWait};
use parking_lot::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::time::Instant;

/// How long a keep-alive connection waits for its next request in its own task before
/// it parks. Short enough that idle connections soon cost little; long enough that a
/// connection serving more than a few requests a second never parks, so parking and
/// waking (a few allocations, one spawn) stay off the request path.
pub(super) const PARK_AFTER: Duration = Duration::from_millis(200);

/// Above this many live tasks on the worker's runtime, a quiet keep-alive connection parks
/// at the next idle-clock slot (within 100 ms) instead of after [`PARK_AFTER`]. A burst of
/// new connections otherwise keeps a 512 B task cell each for 200–300 ms, and the cells
/// freed as they park leave holes in the heap that the allocator keeps: ~100 B more per
/// idle connection after 9,800 connections opened in half a second. With few tasks the
/// holes are few, so ordinary traffic keeps the longer wait.
const CROWDED_TASKS: usize = 1024;

/// Whether the runtime of `clock` (the worker's) holds more than [`CROWDED_TASKS`] tasks.
pub(super) fn crowded(clock: &IdleClock) -> bool {
    clock
        .runtime_tasks()
        .is_some_and(|tasks| tasks > CROWDED_TASKS)
}

/// A parked connection, and the waker that resumes it.
struct Parked {
    state: Mutex<ParkedState>,
}

/// One enum rather than the sleeper and a flag: the two states without a sleeper fit in
/// the sleeper's niche, which keeps the cell in glibc's 256 B size class.
#[derive(Default)]
#[allow(clippy::large_enum_variant)] // boxing the sleeper would cost an allocation each
enum ParkedState {
    /// Being parked: the sleeper is not stored yet.
    #[default]
    Parking,
    /// A wake-up came while the connection was still being parked, or after it resumed.
    Woken,
    /// Parked, waiting for a wake-up.
    Asleep(Sleeper),
}

/// What a parked connection keeps: the connection and its idle-clock registration.
struct Sleeper {
    conn: Http1Connection,
    /// Registered in the slot of the idle deadline; dropping it deregisters.
    idle: Pin<Box<IdleWait>>,
}

/// Parks `conn`, idle until `idle_deadline`: no task until its socket is readable, the
/// deadline passes or its scope drains.
pub(super) fn park(conn: Http1Connection, idle_deadline: Instant) {
    let parked = Arc::new(Parked {
        state: Mutex::default(),
    });
    let waker = Waker::from(parked.clone());
    let mut cx = Context::from_waker(&waker);
    // The task ends here: its handle is released so its memory is freed, and the task
    // that resumes the connection is recorded in its place.
    conn.guard.untrack();
    let mut sleeper = Sleeper {
        idle: Box::pin(conn.filter.scope.idle.wait_until(idle_deadline)),
        conn,
    };
    // Both registrations happen before the sleeper is stored: a wake-up meanwhile (even
    // from inside these polls) only marks the state `Woken`.
    let ready = sleeper.idle.as_mut().poll(&mut cx).is_ready()
        || sleeper.conn.io.poll_readable(&mut cx).is_ready();
    let mut state = parked.state.lock();
    if ready || matches!(*state, ParkedState::Woken) {
        drop(state);
        resume(sleeper);
    } else {
        *state = ParkedState::Asleep(sleeper);
    }
}

impl Parked {
    fn take_and_resume(&self) {
        let state = std::mem::replace(&mut *self.state.lock(), ParkedState::Woken);
        if let ParkedState::Asleep(sleeper) = state {
            resume(sleeper);
        }
    }
}

impl Wake for Parked {
    fn wake(self: Arc<Self>) {
        self.take_and_resume();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.take_and_resume();
    }
}

/// Gives the connection a task again on the current runtime (wake-ups come from its I/O
/// driver or its idle-clock sweeper): closing it when its idle time is up or the process
/// drains (its clock registration has fired), serving it otherwise.
fn resume(sleeper: Sleeper) {
    let Sleeper { conn, mut idle } = sleeper;
    let expired = idle
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_ready();
    drop(idle);
    if Handle::try_current().is_err() {
        // Only while the runtime shuts down; dropping the connection closes it.
        tracing::debug!("idle connection woken outside its runtime; closing it");
        return;
    }
    // On the current runtime, recorded in the connection's scope (a forced close of the
    // scope aborts it).
    let task = conn.guard.task_slot();
    if expired {
        task.spawn(conn.close());
    } else {
        task.spawn(conn.run());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::WorkerDrain;

    #[tokio::test(flavor = "current_thread")]
    async fn crowded_once_the_runtime_holds_more_than_the_limit_of_tasks() {
        let clock = IdleClock::new(WorkerDrain::default());
        assert!(!crowded(&clock), "no runtime known before the first wait");
        // The first wait starts the clock's sweeper: one task.
        let _wait = clock.wait_until(Instant::now() + Duration::from_secs(60));
        assert!(!crowded(&clock));
        let tasks: Vec<_> = (1..CROWDED_TASKS)
            .map(|_| tokio::spawn(std::future::pending::<()>()))
            .collect();
        // The test body is not a task: exactly the limit is not crowded.
        assert!(!crowded(&clock));
        let one_more = tokio::spawn(std::future::pending::<()>());
        assert!(crowded(&clock));
        one_more.abort();
        let _ = one_more.await;
        assert!(!crowded(&clock));
        for task in tasks {
            task.abort();
        }
    }
}
