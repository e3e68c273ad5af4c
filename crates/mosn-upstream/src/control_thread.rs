//! A named background thread with its own single-threaded runtime, for the control work
//! that must never run on workers (health checks, outlier sweeps, DNS resolution).

use std::io;
use std::thread::JoinHandle;
use tokio::sync::oneshot;
use tokio::task::LocalSet;

/// A running control thread; stopping it (or dropping it) cancels every task it runs and
/// joins it.
#[derive(Debug)]
pub struct ControlThread {
    name: &'static str,
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
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let local = LocalSet::new();
                local.block_on(&runtime, async move {
                    start();
                    // Until a stop is sent or the handle is dropped.
                    let _ = stop_rx.await;
                });
                // Dropping the LocalSet and the runtime cancels every task in flight.
                drop(local);
                drop(runtime);
                tracing::debug!(thread = name, "control thread stopped");
            })?;
        Ok(Self {
            name,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
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

impl Drop for ControlThread {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
