//! `servers[].routers[]` (MOSN's `v2.RouterConfiguration`) and their virtual hosts.

use crate::cluster::ClusterNames;
use crate::headers::parse_header_edits;
use crate::json::Field;
use crate::model::{RouterConfig, VirtualHostConfig};
use crate::route::parse_route;
use crate::unique::Unique;

/// Parses one route table. `names` holds the router names of the whole process (MOSN's
/// router manager is global); the name is recorded even when other parts fail so that
/// `router_config_name` references do not produce follow-up errors.
pub(crate) fn parse_router(
    field: &Field<'_>,
    clusters: &ClusterNames,
    names: &mut Unique<String>,
) -> (Option<String>, Option<RouterConfig>) {
    let Some(obj) = field.as_object() else {
        return (None, None);
    };
    let name = obj
        .required_str_field("router_config_name")
        .map(|(name, f)| {
            names.insert(name.to_owned(), &f, name);
            name
        });
    // A directory of virtual host files that MOSN re-writes at runtime.
    obj.refuse(
        "router_configs",
        "router config directories (router_configs) are not supported yet",
    );
    let headers = parse_header_edits(&obj);
    let mut domains = Unique::new("domain");
    let virtual_hosts: Vec<Option<VirtualHostConfig>> = obj
        .items("virtual_hosts")
        .iter()
        .map(|vh| parse_virtual_host(vh, clusters, &mut domains))
        .collect();
    let router = name.and_then(|name| {
        Some(RouterConfig {
            name: name.to_owned(),
            virtual_hosts: virtual_hosts.into_iter().collect::<Option<_>>()?,
            headers,
            host_port: Default::default(),
        })
    });
    (name.map(str::to_owned), router)
}

fn parse_virtual_host(
    field: &Field<'_>,
    clusters: &ClusterNames,
    domains: &mut Unique<String>,
) -> Option<VirtualHostConfig> {
    let obj = field.as_object()?;
    let name = obj.str("name").unwrap_or("").to_owned();
    let parsed_domains: Vec<Option<String>> = obj
        .strings("domains")
        .into_iter()
        .map(|(f, d)| {
            let domain = parse_domain(&f, d)?;
            domains.insert(domain.clone(), &f, &domain);
            Some(domain)
        })
        .collect();
    let routes: Vec<_> = obj
        .items("routers")
        .iter()
        .map(|r| parse_route(r, clusters))
        .collect();
    let headers = parse_header_edits(&obj);
    let include_request_attempt_count = obj.bool("include_request_attempt_count").unwrap_or(false);
    obj.refuse(
        "per_filter_config",
        "per-virtual-host filter config (per_filter_config) is not supported yet",
    );
    // MOSN: "not used yet".
    obj.tolerate(&["require_tls"]);
    Some(VirtualHostConfig {
        name,
        domains: parsed_domains.into_iter().collect::<Option<_>>()?,
        routes: routes.into_iter().collect::<Option<_>>()?,
        headers,
        include_request_attempt_count,
    })
}

/// A domain, lower-cased: `*`, an exact name (MOSN also allows `name:port`), a suffix
/// wildcard (`*.example.com`, `*-bar.example.com`; MOSN takes any text after the `*`) or a
/// prefix wildcard (`example.*`, Envoy's form). A `*` anywhere else is refused.
fn parse_domain(field: &Field<'_>, text: &str) -> Option<String> {
    let domain = text.to_ascii_lowercase();
    let stars = domain.matches('*').count();
    let valid = !domain.is_empty()
        && !domain
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        && match stars {
            0 => true,
            1 => domain == "*" || domain.starts_with('*') || domain.ends_with('*'),
            _ => false,
        };
    if !valid {
        field.error(format!(
            "invalid domain {text:?}: expected a name, \"*\", \"*.suffix\" or \"prefix.*\""
        ));
        return None;
    }
    Some(domain)
}
