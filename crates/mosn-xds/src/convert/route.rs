//! `RouteConfiguration` → [`RouterConfig`].

use super::{Context, ConvertError, Result};
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use mosn_config::model::RouterConfig;

/// Converts one route configuration (from RDS, or inline in an `HttpConnectionManager`).
pub fn route_configuration(r: &RouteConfiguration, ctx: &mut Context<'_>) -> Result<RouterConfig> {
    let _ = ctx;
    Err(ConvertError::unsupported("", format!("route configuration {}", r.name)))
}
