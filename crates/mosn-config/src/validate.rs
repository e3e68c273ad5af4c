//! The checks every resource passes before it is applied, whichever source it came from.
//!
//! Decoding a source (MOSN JSON, xDS) already turns text into typed values (addresses
//! parse, regexes compile, durations are durations); these are the rules about the model
//! itself, which a converter could get wrong: names present, chains that can serve,
//! weights that can be balanced, domains that do not collide. References between
//! resources are not checked: a route may name a cluster that arrives later.

use crate::model::{
    ClusterConfig, ClusterTarget, ClusterType, ListenerConfig, NetworkFilterConfig, RouteAction,
    RouterConfig,
};
use crate::resources::{Rejection, Resource};
use std::collections::HashMap;

/// Every problem of `resource`, with its path inside the resource; empty when valid.
pub fn validate(resource: &Resource) -> Vec<Rejection> {
    let kind = resource.kind();
    let name = resource.name();
    let mut problems = Vec::new();
    let mut report = |path: String, reason: String| {
        problems.push(Rejection {
            kind,
            name: name.to_owned(),
            path,
            reason,
        })
    };
    if name.is_empty() {
        report(String::new(), "the name is empty".into());
    }
    match resource {
        Resource::Listener(l) => listener(l, &mut report),
        Resource::Router(r) => router(r, &mut report),
        Resource::Cluster(c) => cluster(c, &mut report),
        Resource::Certificate(c) => {
            for (key, value) in [
                ("cert_chain", &c.cert_chain),
                ("private_key", &c.private_key),
            ] {
                if value.is_empty() {
                    report(key.into(), "must not be empty".into());
                }
            }
        }
    }
    problems
}

fn listener(l: &ListenerConfig, report: &mut impl FnMut(String, String)) {
    if l.filter_chains.is_empty() {
        report(
            "filter_chains".into(),
            "a listener needs a filter chain".into(),
        );
    }
    for (i, chain) in l.filter_chains.iter().enumerate() {
        match chain.filters.first() {
            None => report(
                format!("filter_chains[{i}].filters"),
                "a chain needs a proxy or tcp_proxy filter".into(),
            ),
            Some(NetworkFilterConfig::Proxy(p)) if p.router_config_name.is_empty() => report(
                format!("filter_chains[{i}].filters[0].router_config_name"),
                "must not be empty".into(),
            ),
            Some(NetworkFilterConfig::TcpProxy(t))
                if t.cluster.is_none() && t.routes.is_empty() =>
            {
                report(
                    format!("filter_chains[{i}].filters[0]"),
                    "tcp_proxy needs a cluster or routes".into(),
                )
            }
            Some(_) => {}
        }
    }
}

fn router(r: &RouterConfig, report: &mut impl FnMut(String, String)) {
    let mut domains: HashMap<&str, usize> = HashMap::new();
    for (v, vh) in r.virtual_hosts.iter().enumerate() {
        for (d, domain) in vh.domains.iter().enumerate() {
            if let Some(first) = domains.insert(domain, v) {
                report(
                    format!("virtual_hosts[{v}].domains[{d}]"),
                    format!("duplicate domain {domain:?}, first in virtual_hosts[{first}]"),
                );
            }
        }
        for (i, route) in vh.routes.iter().enumerate() {
            let RouteAction::Forward(forward) = &route.action else {
                continue;
            };
            let path = format!("virtual_hosts[{v}].routers[{i}].route");
            match &forward.target {
                ClusterTarget::Single(name) if name.is_empty() => {
                    report(format!("{path}.cluster_name"), "must not be empty".into());
                }
                ClusterTarget::Weighted(clusters) => {
                    let total: u64 = clusters.iter().map(|c| u64::from(c.weight)).sum();
                    if total == 0 || total > u64::from(u32::MAX) {
                        report(
                            format!("{path}.weighted_clusters"),
                            format!("weights must add up to between 1 and 4294967295, got {total}"),
                        );
                    }
                }
                ClusterTarget::Single(_) => {}
            }
        }
    }
}

fn cluster(c: &ClusterConfig, report: &mut impl FnMut(String, String)) {
    let dns_type = matches!(
        c.cluster_type,
        ClusterType::StrictDns | ClusterType::LogicalDns
    );
    if dns_type != c.dns.is_some() {
        report(
            "type".into(),
            "STRICT_DNS and LOGICAL_DNS clusters, and only they, resolve names".into(),
        );
    }
    for (i, h) in c.hosts.iter().enumerate() {
        if h.weight == 0 {
            report(format!("hosts[{i}].weight"), "must be at least 1".into());
        }
    }
    if c.connect_timeout.is_zero() {
        report("connect_timeout".into(), "must be greater than 0".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, ClusterConfig};

    #[test]
    fn each_resource_is_checked_on_its_own() {
        let mut cluster =
            ClusterConfig::static_hosts("c", &[Address::Tcp(([127, 0, 0, 1], 1).into())]);
        assert!(validate(&Resource::Cluster(Box::new(cluster.clone()))).is_empty());
        cluster.cluster_type = ClusterType::StrictDns;
        cluster.hosts[0].weight = 0;
        let problems = validate(&Resource::Cluster(Box::new(cluster)));
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                r#"cluster "c" type: STRICT_DNS and LOGICAL_DNS clusters, and only they, resolve names"#,
                r#"cluster "c" hosts[0].weight: must be at least 1"#,
            ]
        );
        let router = RouterConfig {
            name: String::new(),
            virtual_hosts: Vec::new(),
            headers: Default::default(),
            host_port: Default::default(),
        };
        let problems = validate(&Resource::Router(router));
        assert_eq!(problems[0].to_string(), r#"router "": the name is empty"#);
    }
}
