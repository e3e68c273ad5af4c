//! Coarse deadlines for a worker's idle connections.
//!
//! A keep-alive connection waiting for its next request needs a deadline (its idle
//! timeout) and the drain signal. A tokio timer plus a drain registration is ~180 B that
//! every idle connection would carry; here deadlines fall into 100 ms slots, each slot
//! one shared `Notify`, and a connection waits on its slot's alone (~70 B). One sweeper
//! task per clock fires the slots as they pass, and all of them when draining starts.

use crate::state::WorkerDrain;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::runtime::{Handle, RuntimeMetrics};
use tokio::sync::futures::OwnedNotified;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How late past its deadline a wait may end.
pub const IDLE_CLOCK_RESOLUTION: Duration = Duration::from_millis(100);

const RESOLUTION_NANOS: u64 = IDLE_CLOCK_RESOLUTION.as_nanos() as u64;

/// Slot number meaning "every slot has fired" (set when draining starts).
const ALL_FIRED: u64 = u64::MAX;

/// One worker's idle deadlines (cheap to clone, shared by its connections).
#[derive(Debug, Clone)]
pub struct IdleClock(Arc<ClockState>);

#[derive(Debug)]
struct ClockState {
    /// Slot `n` ends at `epoch + n × resolution`.
    epoch: Instant,
    /// Slots with waiters, by number.
    slots: Mutex<BTreeMap<u64, Arc<Notify>>>,
    /// Every slot up to this number has fired.
    fired: AtomicU64,
    /// Tells the sweeper an earlier slot was added.
    rearm: Notify,
    /// The runtime the sweeper was started on (with the first wait), for its task count.
    runtime: OnceLock<RuntimeMetrics>,
    drain: WorkerDrain,
}

impl IdleClock {
    /// A clock whose waits also end when `drain` starts.
    pub fn new(drain: WorkerDrain) -> Self {
        Self(Arc::new(ClockState {
            epoch: Instant::now(),
            slots: Mutex::default(),
            fired: AtomicU64::new(0),
            rearm: Notify::new(),
            runtime: OnceLock::new(),
            drain,
        }))
    }

    /// A future that resolves at `deadline` (at most one resolution late) or when
    /// draining starts.
    pub fn wait_until(&self, deadline: Instant) -> IdleWait {
        let slot = self.slot_of(deadline);
        if self.fired(slot) {
            return IdleWait::Done;
        }
        let notify = {
            let mut slots = self.0.slots.lock();
            let earliest = slots.keys().next().is_none_or(|&first| slot < first);
            let notify = slots.entry(slot).or_default().clone();
            if earliest {
                self.0.rearm.notify_one();
            }
            notify
        };
        self.start_sweeper();
        // A `Notified` sees every `notify_waiters` from its creation on, so a slot fired
        // after this line wakes it, and one fired before shows in `fired`.
        let notified = notify.notified_owned();
        if self.fired(slot) {
            return IdleWait::Done;
        }
        IdleWait::Waiting { notified }
    }

    /// True once `deadline` has passed by this clock (its slot fired), or draining has
    /// started.
    pub fn passed(&self, deadline: Instant) -> bool {
        self.fired(self.slot_of(deadline))
    }

    fn fired(&self, slot: u64) -> bool {
        self.0.fired.load(SeqCst) >= slot
    }

    /// The first slot ending at or after `deadline`.
    fn slot_of(&self, deadline: Instant) -> u64 {
        self.nanos_since_epoch(deadline).div_ceil(RESOLUTION_NANOS)
    }

    /// The last slot that has ended by `now`.
    fn passed_by(&self, now: Instant) -> u64 {
        self.nanos_since_epoch(now) / RESOLUTION_NANOS
    }

    /// In `u64` (584 years), not `Duration::as_nanos`'s `u128`: this runs for every
    /// request, and 128-bit division is a library call.
    fn nanos_since_epoch(&self, at: Instant) -> u64 {
        let since = at.saturating_duration_since(self.0.epoch);
        since
            .as_secs()
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(since.subsec_nanos()))
            .min(ALL_FIRED - 1)
    }

    fn end_of(&self, slot: u64) -> Instant {
        self.0.epoch + Duration::from_nanos(slot.saturating_mul(RESOLUTION_NANOS))
    }

    /// The live tasks of the clock's runtime, once a connection has waited on it: read
    /// without cloning a runtime handle on every request.
    pub fn runtime_tasks(&self) -> Option<usize> {
        self.0.runtime.get().map(RuntimeMetrics::num_alive_tasks)
    }

    /// Starts the sweeper on the current runtime the first time a connection waits.
    fn start_sweeper(&self) {
        self.0.runtime.get_or_init(|| {
            tokio::spawn(self.clone().sweep());
            Handle::current().metrics()
        });
    }

    /// Fires slots as they pass; all of them, for good, when draining starts.
    async fn sweep(self) {
        let drain = self.0.drain.clone();
        loop {
            let next = self.0.slots.lock().keys().next().copied();
            let rearmed = self.0.rearm.notified();
            tokio::select! {
                () = drain.wait() => break,
                () = rearmed => continue,
                () = sleep_until_opt(next.map(|slot| self.end_of(slot))) => {}
            }
            self.fire_through(self.passed_by(Instant::now()));
        }
        self.fire_through(ALL_FIRED);
    }

    /// Marks every slot up to `last` fired, then wakes its waiters.
    fn fire_through(&self, last: u64) {
        self.0.fired.fetch_max(last, SeqCst);
        let due = {
            let mut slots = self.0.slots.lock();
            let later = match last.checked_add(1) {
                Some(first_later) => slots.split_off(&first_later),
                None => BTreeMap::new(),
            };
            std::mem::replace(&mut *slots, later)
        };
        for notify in due.values() {
            notify.notify_waiters();
        }
    }
}

pin_project_lite::pin_project! {
    /// One connection's wait on its slot: a `Notify` registration and nothing else.
    #[project = IdleWaitProj]
    pub enum IdleWait {
        /// The slot has not fired yet.
        Waiting { #[pin] notified: OwnedNotified },
        /// The deadline had passed (or draining had started) when the wait began.
        Done,
    }
}

impl Future for IdleWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.project() {
            IdleWaitProj::Waiting { notified } => notified.poll(cx),
            IdleWaitProj::Done => Poll::Ready(()),
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_wait_ends_within_one_resolution_after_its_deadline() {
        let clock = IdleClock::new(WorkerDrain::default());
        let start = Instant::now();
        let deadline = start + Duration::from_millis(750);
        clock.wait_until(deadline).await;
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(750), "{waited:?}");
        assert!(waited <= Duration::from_millis(850), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_deadline_added_later_still_fires_on_time() {
        let clock = IdleClock::new(WorkerDrain::default());
        let late = tokio::spawn(clock.wait_until(Instant::now() + Duration::from_secs(60)));
        tokio::task::yield_now().await;
        let start = Instant::now();
        clock.wait_until(start + Duration::from_millis(200)).await;
        assert!(start.elapsed() <= Duration::from_millis(300));
        assert!(!late.is_finished());
    }

    #[tokio::test(start_paused = true)]
    async fn draining_ends_every_wait_and_every_later_one() {
        let drain = WorkerDrain::default();
        let clock = IdleClock::new(drain.clone());
        let waiter = tokio::spawn(clock.wait_until(Instant::now() + Duration::from_secs(3600)));
        tokio::task::yield_now().await;
        drain.start();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("drain ends the wait")
            .unwrap();
        let after = clock.wait_until(Instant::now() + Duration::from_secs(3600));
        tokio::time::timeout(Duration::from_millis(1), after)
            .await
            .expect("a wait after draining ends at once");
    }
}
