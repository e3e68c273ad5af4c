//! The network filter: what a listener hands each accepted connection to.

use crate::socket::Socket;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use tokio::task::AbortHandle;

/// Facts about an accepted connection that filters, routing and logs read.
#[derive(Debug, Clone, Default)]
pub struct ConnectionInfo {
    /// The listener's `name`. An `Arc<String>` rather than `Arc<str>`: a thin pointer,
    /// 8 bytes less in the state every connection keeps.
    pub listener: Arc<String>,
    /// The client's address (`None` for Unix sockets).
    pub remote: Option<SocketAddr>,
    /// The address the client connected to (`None` for Unix sockets).
    pub local: Option<SocketAddr>,
    /// Where the client meant to connect before an iptables REDIRECT brought it here
    /// (`SO_ORIGINAL_DST`), on `use_original_dst` listeners only. Boxed: 8 bytes
    /// instead of 32 in every connection's state, for a fact few listeners have.
    pub original_dst: Option<Box<SocketAddr>>,
    /// The TLS facts, `None` for plaintext connections (the handshake is done when a
    /// filter sees it). Behind one pointer: every connection carries this struct, most of
    /// them without TLS.
    pub tls: Option<Arc<TlsInfo>>,
}

/// What the TLS handshake of a connection settled.
#[derive(Debug, Clone, Default)]
pub struct TlsInfo {
    /// The SNI the client sent in its ClientHello, lower-case.
    pub sni: Option<Arc<str>>,
    /// The negotiated ALPN protocol (`b"h2"`, `b"http/1.1"`), `None` when the client
    /// offered none or the listener accepts none. The HTTP layer picks its codec by it:
    /// `h2` means HTTP/2.
    pub alpn: Option<Arc<[u8]>>,
    /// The verified client certificate's identity: its first `spiffe://` URI SAN (else
    /// its first URI SAN); `None` without a client certificate.
    pub peer_identity: Option<Arc<str>>,
}

impl ConnectionInfo {
    /// True when the connection is TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The ALPN protocol the TLS handshake agreed on, if any.
    pub fn alpn(&self) -> Option<&[u8]> {
        self.tls.as_ref().and_then(|t| t.alpn.as_deref())
    }
}

/// A network filter that takes ownership of an accepted connection and serves it to the
/// end (`proxy`, `tcp_proxy`). One filter instance serves every connection of a listener
/// on a worker; under the work-stealing I/O model a connection's task may move between
/// threads, so filters and what they serve with are `Send`.
pub trait NetworkFilter: Send + Sync {
    /// Serves one connection until it closes, on a task of its own spawned on the current
    /// runtime (see [`spawn_guarded`]) that holds `guard` until then.
    ///
    /// The filter spawns rather than returning a boxed future so that the connection's
    /// state sits inline in its task: one allocation per connection instead of a task
    /// plus a box, which is most of what an idle keep-alive connection costs.
    fn spawn(self: Arc<Self>, socket: Socket, info: ConnectionInfo, guard: ConnectionGuard);
}

/// The open connections of one listener generation on a worker: how many there are, so
/// draining knows when it is done, and the task serving each, so that a drain outliving its
/// graceful timeout can end them (a task waiting on a slow upstream never looks at the
/// drain signal).
#[derive(Debug, Default)]
pub struct OpenConnections {
    count: AtomicUsize,
    tasks: Mutex<Tasks>,
}

/// Every open connection holds a slot here while its guard lives: 8 bytes per connection.
#[derive(Debug, Default)]
struct Tasks {
    /// By slot: the task now serving the connection holding it; `None` while it has none
    /// (a parked connection, a task being spawned) and for free slots.
    handles: Vec<Option<AbortHandle>>,
    /// Slots no connection holds.
    free: Vec<u32>,
    /// Slots whose task is being spawned, and whether their guard has dropped meanwhile
    /// (a task may end before its spawner records it): such a slot is freed only once its
    /// spawner is done, so it cannot be reused and given a stale handle.
    spawning: Vec<(u32, bool)>,
    /// The connections were closed forcibly: a task recorded from now on is aborted at once.
    aborted: bool,
}

impl Tasks {
    fn take_slot(&mut self) -> u32 {
        self.free.pop().unwrap_or_else(|| {
            self.handles.push(None);
            u32::try_from(self.handles.len() - 1).expect("fewer than 2^32 connections")
        })
    }
}

impl OpenConnections {
    /// The task slots, locked only to open, close or (re)spawn a connection: never per
    /// request. A panic while holding it leaves the slots consistent, so poisoning is
    /// ignored.
    fn tasks(&self) -> MutexGuard<'_, Tasks> {
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many connections are open.
    pub fn count(&self) -> usize {
        self.count.load(Relaxed)
    }

    /// Counts one more connection until the returned guard is dropped.
    pub fn open(self: &Arc<Self>) -> ConnectionGuard {
        self.count.fetch_add(1, Relaxed);
        let slot = self.tasks().take_slot();
        ConnectionGuard {
            open: self.clone(),
            slot,
        }
    }

    /// Closes every connection now: aborts the task serving each (dropping its sockets),
    /// and any task a connection starts later (a parked connection waking). The end of a
    /// graceful timeout.
    pub fn abort_all(&self) {
        let mut tasks = self.tasks();
        tasks.aborted = true;
        for task in tasks.handles.iter().flatten() {
            task.abort();
        }
    }
}

/// Keeps one connection counted in [`OpenConnections`] while it lives (in its task, or
/// in a parked connection between tasks), and records the task serving it.
#[derive(Debug)]
pub struct ConnectionGuard {
    open: Arc<OpenConnections>,
    slot: u32,
}

impl ConnectionGuard {
    /// Where the task about to serve this connection is recorded: taken before the guard
    /// moves into that task's future (see [`TaskSlot::spawn`]).
    pub fn task_slot(&self) -> TaskSlot {
        TaskSlot {
            open: self.open.clone(),
            slot: self.slot,
        }
    }

    /// The connection's task is ending while the connection stays open (it parks): its
    /// handle is released, so the finished task's memory is freed.
    pub fn untrack(&self) {
        let released = self.open.tasks().handles[self.slot as usize].take();
        drop(released);
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.open.count.fetch_sub(1, Relaxed);
        let released = {
            let mut tasks = self.open.tasks();
            let slot = self.slot;
            if let Some(spawning) = tasks.spawning.iter_mut().find(|(s, _)| *s == slot) {
                spawning.1 = true;
                None
            } else {
                tasks.free.push(slot);
                tasks.handles[slot as usize].take()
            }
        };
        // Outside the lock: dropping the last handle of a task frees it.
        drop(released);
    }
}

/// The slot of one connection in its [`OpenConnections`], to record the task that serves it.
#[derive(Debug)]
pub struct TaskSlot {
    open: Arc<OpenConnections>,
    slot: u32,
}

impl TaskSlot {
    /// Spawns `serving`, which owns the connection's guard, on the current runtime as the
    /// connection's task, recorded so that [`OpenConnections::abort_all`] can end it.
    /// The lock is not held across the spawn: a runtime shutting down drops the future at
    /// once, and with it the guard, which takes the lock.
    pub fn spawn<F>(self, serving: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let previous = {
            let mut tasks = self.open.tasks();
            tasks.spawning.push((self.slot, false));
            tasks.handles[self.slot as usize].take()
        };
        drop(previous);
        let task = tokio::spawn(serving).abort_handle();
        let mut tasks = self.open.tasks();
        let at = tasks
            .spawning
            .iter()
            .position(|(s, _)| *s == self.slot)
            .expect("a slot being spawned is listed");
        let (_, guard_dropped) = tasks.spawning.swap_remove(at);
        if guard_dropped {
            tasks.free.push(self.slot);
            drop(tasks);
            return;
        }
        if tasks.aborted {
            task.abort();
        }
        tasks.handles[self.slot as usize] = Some(task);
    }
}

pin_project_lite::pin_project! {
    /// A connection's future with its guard, released when the future ends.
    struct Guarded<F> {
        #[pin]
        serving: F,
        guard: ConnectionGuard,
    }
}

impl<F: Future<Output = ()>> Future for Guarded<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().serving.poll(cx)
    }
}

/// Spawns `serving` on the current runtime as the connection's task, holding `guard`
/// until it ends, and recorded in the guard's [`OpenConnections`] so that a forced close
/// can abort it. A wrapper type, not an `async` block: a block awaiting a captured future
/// keeps it twice in its state.
pub fn spawn_guarded<F>(serving: F, guard: ConnectionGuard)
where
    F: Future<Output = ()> + Send + 'static,
{
    guard.task_slot().spawn(Guarded { serving, guard });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn abort_all_ends_every_task_and_frees_its_slot() {
        let open = Arc::new(OpenConnections::default());
        let (tx, mut ended) = tokio::sync::mpsc::unbounded_channel::<()>();
        for _ in 0..3 {
            let guard = open.open();
            let tx = tx.clone();
            // A connection stuck forever (a slow upstream); it says when it is dropped.
            struct Ended(tokio::sync::mpsc::UnboundedSender<()>);
            impl Drop for Ended {
                fn drop(&mut self) {
                    let _ = self.0.send(());
                }
            }
            let ended = Ended(tx);
            spawn_guarded(
                async move {
                    let _ended = ended;
                    std::future::pending::<()>().await
                },
                guard,
            );
        }
        tokio::task::yield_now().await;
        assert_eq!(open.count(), 3);
        open.abort_all();
        for _ in 0..3 {
            tokio::time::timeout(Duration::from_secs(5), ended.recv())
                .await
                .expect("every task aborted");
        }
        tokio::task::yield_now().await;
        assert_eq!(open.count(), 0);
        let tasks = open.tasks();
        assert_eq!(tasks.free.len(), 3, "every slot freed");
        assert!(tasks.handles.iter().all(Option::is_none));
        assert!(tasks.spawning.is_empty());
    }

    #[tokio::test]
    async fn a_task_that_ends_at_once_leaves_no_handle_behind() {
        let open = Arc::new(OpenConnections::default());
        for _ in 0..100 {
            spawn_guarded(async {}, open.open());
            tokio::task::yield_now().await;
        }
        assert_eq!(open.count(), 0);
        let tasks = open.tasks();
        assert_eq!(tasks.handles.len(), 1, "the one slot is reused");
        assert!(tasks.handles[0].is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tasks_ending_on_other_threads_while_spawned_keep_slots_consistent() {
        let open = Arc::new(OpenConnections::default());
        for _ in 0..2_000 {
            spawn_guarded(async {}, open.open());
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while open.count() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(open.count(), 0);
        let tasks = open.tasks();
        assert!(tasks.spawning.is_empty());
        assert!(tasks.handles.iter().all(Option::is_none));
        assert_eq!(tasks.free.len(), tasks.handles.len());
    }

    #[tokio::test]
    async fn a_task_started_after_the_forced_close_is_aborted() {
        let open = Arc::new(OpenConnections::default());
        let guard = open.open();
        open.abort_all();
        let slot = guard.task_slot();
        slot.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        });
        tokio::time::timeout(Duration::from_secs(5), async {
            while open.count() > 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("aborted at once");
    }
}
