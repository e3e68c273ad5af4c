//! The network filter: what a listener hands each accepted connection to.

use crate::socket::Socket;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;

/// Facts about an accepted connection that filters, routing and logs read.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// The listener's `name`.
    pub listener: Rc<str>,
    /// The client's address (`None` for Unix sockets).
    pub remote: Option<SocketAddr>,
    /// The address the client connected to (`None` for Unix sockets).
    pub local: Option<SocketAddr>,
}

/// A network filter that takes ownership of an accepted connection and serves it to the
/// end (`proxy`, `tcp_proxy`). Runs on the worker's single-threaded runtime, so it may
/// hold `Rc` state; one filter instance serves every connection of a listener on a worker.
pub trait NetworkFilter {
    /// Serves one connection until it closes.
    fn serve(
        self: Rc<Self>,
        socket: Socket,
        info: ConnectionInfo,
    ) -> Pin<Box<dyn Future<Output = ()>>>;
}
