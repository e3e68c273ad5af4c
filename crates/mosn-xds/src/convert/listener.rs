//! `Listener` (with its `HttpConnectionManager` and `TcpProxy` network filters and its
//! listener filters) → [`ListenerConfig`].

use super::{Context, ConvertError, Result};
use envoy_types::pb::envoy::config::listener::v3::Listener;
use mosn_config::model::{ListenerConfig, RouterConfig};

/// A converted listener and what it brings or needs besides itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerPlan {
    /// The listener.
    pub listener: ListenerConfig,
    /// Route tables its HTTP connection managers carry inline (`route_config`), under
    /// names of their own that the listener's `proxy` filters refer to.
    pub inline_routes: Vec<RouterConfig>,
    /// Route configurations its HTTP connection managers name over RDS.
    pub rds: Vec<String>,
}

/// Converts one listener.
pub fn listener(l: &Listener, ctx: &mut Context<'_>) -> Result<ListenerPlan> {
    let _ = ctx;
    Err(ConvertError::unsupported("", format!("listener {}", l.name)))
}
