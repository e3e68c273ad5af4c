//! misc.

use super::*;

/// Resolves `host:port` text to the first address.
pub fn addr(text: &str) -> SocketAddr {
    text.to_socket_addrs()
        .expect("address")
        .next()
        .expect("one address")
}

/// Runs `f` on a thread and fails the test if it does not finish within `timeout`.
pub fn with_deadline<T: Send + 'static>(
    what: &str,
    timeout: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(timeout) {
        Ok(v) => v,
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            // The closure panicked: re-raise its panic.
            match handle.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => unreachable!("sender dropped without sending"),
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what} did not finish within {timeout:?}")
        }
    }
}

/// mosn with one listener forwarding everything to nginx's echo server (cluster
/// `nginx`); `proxy_extra` keys go into the `proxy` filter config.
pub struct NginxSetup {
    pub _nginx: Nginx,
    pub mosn: Mosn,
    pub listen: u16,
}

/// Starts nginx's echo server and mosn in front of it; see [`NginxSetup`].
pub fn mosn_before_nginx(proxy_extra: Value) -> NginxSetup {
    let (listen, upstream, admin) = (free_port(), free_port(), free_port());
    let nginx = Nginx::echo(upstream);
    let mosn = Mosn::start(&http_config(
        local(listen),
        Some(admin),
        forward_all("nginx"),
        json!([cluster("nginx", &[local(upstream)])]),
        proxy_extra,
        json!({}),
    ));
    NginxSetup {
        _nginx: nginx,
        mosn,
        listen,
    }
}
