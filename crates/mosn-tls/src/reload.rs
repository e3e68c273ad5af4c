//! Hot swap: a value built from certificate files, rebuilt when one of them changes, so
//! new handshakes use the new certificates while open connections keep theirs. One
//! `mosn-tls-watch` thread polls modification times; a rebuild that fails (a key written
//! before its certificate, a bad file) keeps the last good value and is retried.

use crate::keys::TlsError;
use arc_swap::ArcSwap;
use std::num::NonZeroU64;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

type Build<T> = Box<dyn Fn() -> Result<T, TlsError> + Send + Sync>;

/// The id the next context built gets; 0 is never handed out.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A value rebuilt from its files on change; readers [`Reloadable::load`] it lock-free.
pub struct Reloadable<T> {
    name: String,
    id: NonZeroU64,
    current: ArcSwap<T>,
    build: Build<T>,
    files: Vec<PathBuf>,
    stamps: Mutex<Vec<Option<(SystemTime, u64)>>>,
}

impl<T> std::fmt::Debug for Reloadable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloadable")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

fn stamp(path: &PathBuf) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl<T: Send + Sync + 'static> Reloadable<T> {
    /// Builds the first value now (its error is a config error); `name` labels logs.
    pub fn new(
        name: impl Into<String>,
        files: Vec<PathBuf>,
        build: impl Fn() -> Result<T, TlsError> + Send + Sync + 'static,
    ) -> Result<Arc<Self>, TlsError> {
        let stamps = files.iter().map(stamp).collect();
        let first = build()?;
        let id = NonZeroU64::new(NEXT_ID.fetch_add(1, Ordering::Relaxed))
            .expect("a u64 counter starting at 1 does not wrap");
        Ok(Arc::new(Reloadable {
            name: name.into(),
            id,
            current: ArcSwap::from_pointee(first),
            build: Box::new(build),
            files,
            stamps: Mutex::new(stamps),
        }))
    }

    /// The current value.
    pub fn load(&self) -> Arc<T> {
        self.current.load_full()
    }

    /// This context's identity, unique in the process and kept across certificate hot
    /// swaps (the configured identity is the same): upstream pools key connections on it,
    /// so connections made under two contexts (another SNI, client certificate, roots,
    /// ALPN...) are never handed to each other, while one context shared by rebuilt
    /// clusters keeps its connections.
    pub fn id(&self) -> NonZeroU64 {
        self.id
    }
}

/// What the watcher thread polls.
pub trait Watched: Send + Sync {
    /// Rebuilds if a file changed since the last successful build; true when swapped.
    fn poll(&self) -> bool;
}

impl<T: Send + Sync + 'static> Watched for Reloadable<T> {
    fn poll(&self) -> bool {
        let now: Vec<_> = self.files.iter().map(stamp).collect();
        let mut stamps = self.stamps.lock().unwrap_or_else(|e| e.into_inner());
        if *stamps == now {
            return false;
        }
        match (self.build)() {
            Ok(value) => {
                self.current.store(Arc::new(value));
                *stamps = now;
                tracing::info!(context = %self.name, "TLS certificates reloaded");
                true
            }
            Err(e) => {
                tracing::warn!(context = %self.name, key = e.key, error = %e, "TLS reload failed; keeping the previous certificates");
                false
            }
        }
    }
}

/// The running watcher thread; stops when dropped.
#[derive(Debug)]
pub struct CertWatcher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl CertWatcher {
    /// Polls every `interval`; `None` when nothing is file-backed.
    pub fn spawn(
        items: Vec<Arc<dyn Watched>>,
        interval: Duration,
    ) -> std::io::Result<Option<Self>> {
        if items.is_empty() {
            return Ok(None);
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("mosn-tls-watch".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    for item in &items {
                        item.poll();
                    }
                }
            })?;
        Ok(Some(CertWatcher {
            stop: Some(stop),
            thread: Some(thread),
        }))
    }
}

impl Drop for CertWatcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
