//! The ADS client: one gRPC stream to the control plane (SotW or Delta), on its own thread.

use envoy_types::pb::envoy::config::core::v3::Node;
use mosn_config::model::{Address, TlsContextConfig};
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
