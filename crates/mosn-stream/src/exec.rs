//! The executor hyper's HTTP/2 connections spawn their per-stream tasks on: the worker's
//! own single-threaded runtime, so nothing needs to be `Send`.

use std::future::Future;

/// Spawns onto the current worker's `LocalSet`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalExec;

impl<F> hyper::rt::Executor<F> for LocalExec
where
    F: Future + 'static,
{
    fn execute(&self, fut: F) {
        tokio::task::spawn_local(fut);
    }
}
