//! The ADS client: one gRPC stream to the control plane (SotW or Delta), on its own thread.

mod backoff;
mod body;
mod connect;
mod delta;
mod drive;
mod session;
mod sotw;
pub mod state;
#[cfg(test)]
mod state_tests;
pub mod stats;
pub mod types;

use backoff::Backoff;
use envoy_types::pb::envoy::config::core::v3::Node;
use mosn_config::model::{Address, TlsContextConfig};
use mosn_config::resources::{Batch, Rejection};
use session::Session;
use stats::XdsStats;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How to reach and speak to the control plane, from the bootstrap's `dynamic_resources`
/// and the static cluster its `ads_config` names.
#[derive(Debug, Clone, PartialEq)]
pub struct AdsSettings {
    /// `api_type: DELTA_GRPC` (else `GRPC`, state of the world).
    pub delta: bool,
    /// The static cluster's name (`grpc_services[0].envoy_grpc.cluster_name`).
    pub cluster_name: String,
    /// The control plane's addresses (TCP or Unix socket), tried in order.
    pub addresses: Vec<Address>,
    /// The xDS cluster's upstream TLS, when it has one.
    pub tls: Option<TlsContextConfig>,
    /// `node`, sent on the first request of every stream (and on every request unless
    /// `set_node_on_first_message_only`).
    pub node: Node,
    /// `ads_config.set_node_on_first_message_only`.
    pub node_on_first_message_only: bool,
    /// `lds_config` is `{ads: {}}`: listeners come over the stream.
    pub lds: bool,
    /// `cds_config` is `{ads: {}}`: clusters come over the stream.
    pub cds: bool,
    /// `initial_fetch_timeout` (default 15s, 0 = wait forever): how long a resource may
    /// warm before the server starts without it.
    pub initial_fetch_timeout: Option<Duration>,
    /// The gRPC call's `timeout`, if set, and the cluster's `connect_timeout`.
    pub connect_timeout: Duration,
}

/// Envoy accepts messages this large; Istio pushes at scale reach tens of MiB.
pub(crate) const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024 + 1024 * 1024;

/// Where the client's changes go: the configuration plane (`mosn-server`'s
/// `ConfigPlane`), or anything that takes batches.
pub trait ConfigSink: Send + Sync + 'static {
    /// Applies one batch; returns the resources refused (they become the NACK's detail).
    fn apply(&self, batch: Batch) -> Vec<Rejection>;
}

/// The running client: its counters, what it holds, and how to stop it.
pub struct AdsHandle {
    /// The client's counters.
    pub stats: Arc<XdsStats>,
    /// What the control plane sent (for the config dump).
    pub state: Arc<parking_lot::Mutex<state::XdsState>>,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AdsHandle {
    /// Stops the client (the configuration it applied stays) and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop_thread();
    }

    fn stop_thread(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for AdsHandle {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

/// Where SDS secrets come from when they have a stream of their own (Istio's agent:
/// `StreamSecrets` on a Unix socket).
#[derive(Debug, Clone, PartialEq)]
pub struct SdsSource {
    /// The static cluster's name (Istio's `sds-grpc`).
    pub cluster: String,
    /// Its addresses, tried in order.
    pub addresses: Vec<Address>,
    /// Its `connect_timeout`.
    pub connect_timeout: Duration,
}

/// Starts the client on its own thread (`mosn-xds`): it connects, streams (ADS, and SDS
/// beside it when `sds` is given), applies what it receives through `sink`, and
/// reconnects with backoff, keeping the last good configuration, until shut down.
pub fn spawn(
    settings: AdsSettings,
    sds: Option<SdsSource>,
    sink: Arc<dyn ConfigSink>,
) -> std::io::Result<AdsHandle> {
    let stats = Arc::new(XdsStats::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let session = Session::new(settings, sink, stats.clone());
    let sds = sds.map(|source| session.sds_sibling(&source));
    let state = session.state.clone();
    let thread = std::thread::Builder::new()
        .name("mosn-xds".into())
        .spawn(move || {
            runtime.block_on(async move {
                let ads = run(session, stop_rx.clone());
                match sds {
                    Some(sds) => {
                        tokio::join!(ads, run(sds, stop_rx));
                    }
                    None => ads.await,
                }
            });
        })?;
    Ok(AdsHandle {
        stats,
        state,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}

/// Streams, reconnecting, until `stop`.
async fn run(mut session: Session, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    let mut next_address = 0;
    loop {
        let addresses = &session.settings.addresses;
        let Some(address) = addresses
            .get(next_address % addresses.len().max(1))
            .cloned()
        else {
            tracing::error!("the xDS cluster has no address; not connecting");
            let _ = stop.wait_for(|s| *s).await;
            return;
        };
        // An SDS stream has nothing to ask before some resource names a secret: do not
        // dial (and retry) a socket that may not even exist until then.
        while session.sds
            && session
                .state
                .lock()
                .subscriptions(types::XdsType::Secret)
                .is_empty()
        {
            let changed = session.changed.clone();
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                () = changed.notified() => {}
            }
        }
        let stats = session.stats.clone();
        let attempt = async {
            let channel = connect::channel(&address, session.settings.connect_timeout).await?;
            stats.streams.fetch_add(1, Ordering::Relaxed);
            stats.connected.store(1, Ordering::Relaxed);
            tracing::info!(
                ?address,
                delta = session.settings.delta,
                sds = session.sds,
                "xDS stream open"
            );
            if session.settings.delta {
                delta::run(&mut session, channel, &mut backoff).await
            } else {
                sotw::run(&mut session, channel, &mut backoff).await
            }
        };
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            result = attempt => {
                stats.connected.store(0, Ordering::Relaxed);
                stats.stream_failures.fetch_add(1, Ordering::Relaxed);
                if let Err(error) = result {
                    tracing::warn!(?address, %error, "xDS stream ended; keeping the last configuration");
                }
            }
        }
        next_address += 1;
        let wait = tokio::time::sleep(backoff.next_delay());
        tokio::pin!(wait);
        loop {
            let deadline = session.state.lock().next_deadline();
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                () = &mut wait => break,
                () = until(deadline) => session.expire(),
            }
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
pub(crate) async fn until(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// A NACK's `error_detail`: `INVALID_ARGUMENT` with the refused resources, one per line.
pub(crate) fn nack_status(message: String) -> envoy_types::pb::google::rpc::Status {
    envoy_types::pb::google::rpc::Status {
        code: tonic::Code::InvalidArgument as i32,
        message,
        details: Vec::new(),
    }
}
