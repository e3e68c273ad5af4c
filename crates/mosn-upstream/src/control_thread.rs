//! A named background thread with its own single-threaded runtime, for the control work
//! that must never run on workers (health checks, outlier sweeps, DNS resolution).
//!
//! Its work comes in named groups (one per cluster): a group's tasks run in a `LocalSet`
//! of their own, so replacing or removing the group (the cluster changed or left the
//! configuration) cancels every task it started, however many it spawned since.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::thread::JoinHandle;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{AbortHandle, LocalSet};

/// What starts a group on the control thread: it runs there and returns the group's main
/// future, which may `spawn_local` more tasks; all of them end when the group is replaced.
pub type GroupStart = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>> + Send>;

/// A change to the groups: start (or restart) `key` with `start`, or stop it (`None`).
struct GroupChange {
    key: String,
    start: Option<GroupStart>,
}

/// A running control thread; stopping it (or dropping it) cancels every task it runs and
/// joins it.
#[derive(Debug)]
pub struct ControlThread {
    name: &'static str,
    changes: mpsc::UnboundedSender<GroupChange>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ControlThread {
    /// Starts thread `name`; `start` runs first on it, inside a `LocalSet`, and spawns the
    /// thread's tasks (`tokio::spawn` or `spawn_local`).
    pub fn spawn(name: &'static str, start: impl FnOnce() + Send + 'static) -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (changes, mut changed) = mpsc::unbounded_channel::<GroupChange>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let local = LocalSet::new();
                local.block_on(&runtime, async move {
                    start();
                    let mut groups: HashMap<String, AbortHandle> = HashMap::new();
                    let apply = async {
                        while let Some(change) = changed.recv().await {
                            if let Some(old) = groups.remove(&change.key) {
                                old.abort();
                            }
                            if let Some(start) = change.start {
                                let task = tokio::task::spawn_local(run_group(start));
                                groups.insert(change.key, task.abort_handle());
                            }
                        }
                    };
                    // Until a stop is sent or the handle is dropped.
                    tokio::select! {
                        _ = stop_rx => {}
                        () = apply => {}
                    }
                });
                // Dropping the LocalSet and the runtime cancels every task in flight.
                drop(local);
                drop(runtime);
                tracing::debug!(thread = name, "control thread stopped");
            })?;
        Ok(Self {
            name,
            changes,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Starts group `key` with `start`, first cancelling the group of that key if one
    /// runs; `None` only cancels it.
    pub fn set_group(&self, key: &str, start: Option<GroupStart>) {
        let _ = self.changes.send(GroupChange {
            key: key.to_owned(),
            start,
        });
    }

    /// Stops every task and joins the thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!(thread = self.name, "control thread panicked");
            }
        }
    }
}

/// Runs one group in a `LocalSet` of its own: aborting this task drops the set, and with
/// it every task the group spawned.
async fn run_group(start: GroupStart) {
    let tasks = LocalSet::new();
    tasks
        .run_until(async move {
            start().await;
            std::future::pending::<()>().await;
        })
        .await;
}

impl Drop for ControlThread {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::time::Duration;

    /// A group whose spawned task counts ticks every 5 ms.
    fn ticking(count: Arc<AtomicUsize>) -> GroupStart {
        Box::new(move || {
            Box::pin(async move {
                tokio::task::spawn_local(async move {
                    loop {
                        count.fetch_add(1, SeqCst);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                });
            })
        })
    }

    #[test]
    fn replacing_a_group_cancels_the_tasks_it_spawned() {
        let thread = ControlThread::spawn("test-control", || {}).unwrap();
        let first = Arc::new(AtomicUsize::new(0));
        let second = Arc::new(AtomicUsize::new(0));
        thread.set_group("c", Some(ticking(first.clone())));
        std::thread::sleep(Duration::from_millis(50));
        assert!(first.load(SeqCst) > 0);
        thread.set_group("c", Some(ticking(second.clone())));
        assert_stopped(&first, "the replaced group's task ended");
        assert!(second.load(SeqCst) > 0);
        thread.set_group("c", None);
        assert_stopped(&second, "a removed group's task ended");
        thread.shutdown();
    }

    /// Asserts `count` no longer moves once a change had 30 ms to take effect.
    fn assert_stopped(count: &AtomicUsize, what: &str) {
        std::thread::sleep(Duration::from_millis(30));
        let at = count.load(SeqCst);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(count.load(SeqCst), at, "{what}");
    }
}
