//! `transport_socket`s (`DownstreamTlsContext`, `UpstreamTlsContext`, raw buffer) and SDS
//! `Secret`s → [`TlsContextConfig`].

use super::{Context, ConvertError, Result};
use envoy_types::pb::envoy::config::core::v3::TransportSocket;
use mosn_config::model::TlsContextConfig;

/// A listener filter chain's `transport_socket`: `None` for plaintext.
pub fn downstream(
    socket: &TransportSocket,
    ctx: &mut Context<'_>,
) -> Result<Option<TlsContextConfig>> {
    let _ = ctx;
    Err(ConvertError::unsupported("", &socket.name))
}

/// A cluster's `transport_socket`: `None` for plaintext.
pub fn upstream(
    socket: &TransportSocket,
    ctx: &mut Context<'_>,
) -> Result<Option<TlsContextConfig>> {
    let _ = ctx;
    Err(ConvertError::unsupported("", &socket.name))
}
