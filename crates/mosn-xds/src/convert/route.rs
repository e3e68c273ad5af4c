//! `RouteConfiguration` → [`RouterConfig`].
//!
//! Each level takes the fields it converts out of its message and refuses whatever is
//! left set ([`refuse_leftover`]), so a field nobody handled — including one Envoy adds
//! later — refuses the route configuration by name. Fields that only feed stats, tracing
//! and logs (route `name`, `decorator`, `tracing`, `stat_prefix`, `metadata`, virtual
//! clusters) are counted no-ops.
//!
//! The parts: [`matching`] (route matches), [`action`] (forward, redirect, direct
//! response), [`retry`] (retry policies), [`headers`] (header edits), [`re2`] (Envoy's
//! whole-text RE2 regexes and literal matchers as the model's regexes).

mod action;
mod headers;
mod matching;
mod re2;
mod retry;

use super::{config_type, refuse_leftover, Context, ConvertError, Result};
use action::{direct_response, forward, redirect, DIRECT_BODY_LIMIT};
use envoy_types::pb::envoy::config::route::v3::route::Action;
use envoy_types::pb::envoy::config::route::v3::{Route, RouteConfiguration, VirtualHost};
use envoy_types::pb::google::protobuf::Any;
use headers::{edits, edits_responses, take_edits};
use mosn_config::model::{
    HeaderEdits, HostPortMatching, RouteAction, RouteConfig, RouterConfig, VirtualHostConfig,
};
use prost::Message;
use std::collections::HashMap;
use std::sync::Arc;

/// Converts one route configuration (from RDS, or inline in an `HttpConnectionManager`).
pub fn route_configuration(r: &RouteConfiguration, ctx: &mut Context<'_>) -> Result<RouterConfig> {
    let mut r = r.clone();
    let virtual_hosts = std::mem::take(&mut r.virtual_hosts);
    convert(r, virtual_hosts.into_iter().map(Ok), ctx)
}

/// Converts a route configuration from its encoded bytes, decoding one virtual host at a
/// time: Envoy's `Route` decodes to a few KiB, so a table of 10,000 virtual hosts would
/// otherwise take hundreds of MiB at once (RDS pushes of that size are what Istio sends).
pub fn route_configuration_from_bytes(bytes: &[u8], ctx: &mut Context<'_>) -> Result<RouterConfig> {
    /// `RouteConfiguration.virtual_hosts`.
    const VIRTUAL_HOSTS: u32 = 2;
    let undecodable = |e: String| ConvertError::new("", format!("cannot decode: {e}"));
    let (rest, hosts) = super::split_repeated(bytes, VIRTUAL_HOSTS).map_err(undecodable)?;
    let outer =
        RouteConfiguration::decode(rest.as_slice()).map_err(|e| undecodable(e.to_string()))?;
    let hosts = hosts
        .into_iter()
        .map(move |h| VirtualHost::decode(h).map_err(|e| undecodable(e.to_string())));
    convert(outer, hosts, ctx)
}

/// The conversion, over the configuration without its virtual hosts and those one by one.
fn convert(
    mut r: RouteConfiguration,
    virtual_hosts: impl Iterator<Item = Result<VirtualHost>>,
    ctx: &mut Context<'_>,
) -> Result<RouterConfig> {
    let name = std::mem::take(&mut r.name);
    let edit_lists = take_edits!(r);
    let per_filter = std::mem::take(&mut r.typed_per_filter_config);
    // Envoy matches `a.com:8080` as a name of its own unless told to drop the port.
    let host_port = if std::mem::take(&mut r.ignore_port_in_host_matching) {
        HostPortMatching::Ignored
    } else {
        HostPortMatching::Exact
    };
    let body_limit = r
        .max_direct_response_body_size_bytes
        .take()
        .map_or(DIRECT_BODY_LIMIT, |v| v.value);
    if r.validate_clusters.take().is_some_and(|v| v.value) {
        return Err(ConvertError::unsupported(
            "validate_clusters",
            "refusing routes to clusters that do not exist (mosn loads them and answers 503)",
        ));
    }
    if r.metadata.take().is_some() {
        ctx.ignore("route_configuration.metadata");
    }
    refuse_leftover(&r, "")?;
    no_per_filter_config(per_filter)?;
    let headers = edits(edit_lists)?;
    let outer = Outer {
        body_limit,
        retry_policy: None,
    };
    let virtual_hosts = virtual_hosts
        .enumerate()
        .map(|(i, v)| {
            v.and_then(|v| virtual_host(v, &outer, ctx))
                .map_err(|e| e.within(format!("virtual_hosts[{i}]")))
        })
        .collect::<Result<_>>()?;
    Ok(RouterConfig {
        name,
        virtual_hosts,
        headers,
        host_port,
    })
}

/// What the levels above a route decide for it.
struct Outer<'a> {
    /// `max_direct_response_body_size_bytes`.
    body_limit: u32,
    /// Its virtual host's retry policy, converted.
    retry_policy: Option<&'a mosn_config::model::RetryPolicy>,
}

fn virtual_host(
    mut v: VirtualHost,
    outer: &Outer<'_>,
    ctx: &mut Context<'_>,
) -> Result<VirtualHostConfig> {
    let name = std::mem::take(&mut v.name);
    let domains = std::mem::take(&mut v.domains);
    let routes = std::mem::take(&mut v.routes);
    let edit_lists = take_edits!(v);
    let per_filter = std::mem::take(&mut v.typed_per_filter_config);
    let retry_policy = v.retry_policy.take();
    let include_request_attempt_count = std::mem::take(&mut v.include_request_attempt_count);
    if !std::mem::take(&mut v.virtual_clusters).is_empty() {
        ctx.ignore("virtual_host.virtual_clusters");
    }
    if v.metadata.take().is_some() {
        ctx.ignore("virtual_host.metadata");
    }
    refuse_leftover(&v, "")?;
    no_per_filter_config(per_filter)?;
    if domains.is_empty() {
        return Err(ConvertError::new(
            "domains",
            "a virtual host needs a domain",
        ));
    }
    let headers = edits(edit_lists)?;
    let retry_policy = retry_policy
        .map(retry::retry_policy)
        .transpose()
        .map_err(|e| e.within("retry_policy"))?;
    let inner = Outer {
        body_limit: outer.body_limit,
        retry_policy: retry_policy.as_ref(),
    };
    let mut routes: Vec<RouteConfig> = routes
        .into_iter()
        .enumerate()
        .map(|(i, r)| route(r, &inner, ctx).map_err(|e| e.within(format!("routes[{i}]"))))
        .collect::<Result<_>>()?;
    // Collected in place, the vector keeps the allocation of Envoy's far larger routes.
    routes.shrink_to_fit();
    Ok(VirtualHostConfig {
        name,
        // Envoy matches hosts case-insensitively.
        domains: domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
        routes,
        headers,
        include_request_attempt_count,
    })
}

fn route(mut r: Route, outer: &Outer<'_>, ctx: &mut Context<'_>) -> Result<RouteConfig> {
    let matcher = r.r#match.take();
    let action = r.action.take();
    let edit_lists = take_edits!(r);
    let per_filter = std::mem::take(&mut r.typed_per_filter_config);
    observability_only(&mut r, ctx);
    refuse_leftover(&r, "")?;
    let matcher =
        matching::route_match(matcher.ok_or_else(|| ConvertError::new("match", "is required"))?)
            .map_err(|e| e.within("match"))?;
    let headers = edits(edit_lists)?;
    let action = match action {
        Some(Action::Route(a)) => {
            let forward = forward(a, &matcher.path, headers, outer.retry_policy)
                .map_err(|e| e.within("route"))?;
            RouteAction::Forward(Arc::new(forward))
        }
        Some(Action::Redirect(a)) => {
            no_reply_edits(&headers)?;
            RouteAction::Redirect(Box::new(redirect(a).map_err(|e| e.within("redirect"))?))
        }
        Some(Action::DirectResponse(d)) => {
            no_reply_edits(&headers)?;
            let (status, body) =
                direct_response(d, outer.body_limit).map_err(|e| e.within("direct_response"))?;
            RouteAction::DirectResponse { status, body }
        }
        Some(Action::FilterAction(_)) => {
            return Err(ConvertError::unsupported("filter_action", "filter actions"))
        }
        Some(Action::NonForwardingAction(_)) => {
            return Err(ConvertError::unsupported(
                "non_forwarding_action",
                "non-forwarding actions",
            ))
        }
        None => {
            return Err(ConvertError::new(
                "",
                "a route needs route, redirect or direct_response",
            ))
        }
    };
    no_per_filter_config(per_filter)?;
    Ok(RouteConfig { matcher, action })
}

/// Takes out, and counts, the route's fields that only name or describe it for stats,
/// tracing and logs.
fn observability_only(r: &mut Route, ctx: &mut Context<'_>) {
    let fields: [(bool, &'static str); 5] = [
        (!std::mem::take(&mut r.name).is_empty(), "route.name"),
        (r.decorator.take().is_some(), "route.decorator"),
        (r.tracing.take().is_some(), "route.tracing"),
        (
            !std::mem::take(&mut r.stat_prefix).is_empty(),
            "route.stat_prefix",
        ),
        (r.metadata.take().is_some(), "route.metadata"),
    ];
    for (present, feature) in fields {
        if present {
            ctx.ignore(feature);
        }
    }
}

/// Redirects and direct responses get the response edits of their virtual host and
/// route configuration, as in Envoy; the model has no place for a redirect's or direct
/// response's own (Envoy applies those too).
fn no_reply_edits(route_edits: &HeaderEdits) -> Result<()> {
    if edits_responses(route_edits) {
        return Err(ConvertError::unsupported(
            "",
            "a redirect's or direct response's own response header edits (its virtual host's \
             and route configuration's apply)",
        ));
    }
    Ok(())
}

/// `typed_per_filter_config`: refused whatever the filter (none has a per-route config
/// mosn could honour or safely ignore).
fn no_per_filter_config(configs: HashMap<String, Any>) -> Result<()> {
    let Some((name, any)) = configs.iter().min_by(|a, b| a.0.cmp(b.0)) else {
        return Ok(());
    };
    Err(ConvertError::unsupported(
        format!("typed_per_filter_config.{name}"),
        format!("per-route config of filter {name} ({})", config_type(any)),
    ))
}
