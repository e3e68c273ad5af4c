//! Subset load balancing (MOSN's `subsetLoadBalancer`, Envoy's subset LB): the hosts in
//! rotation are grouped by the values they carry for each selector's keys, and a request
//! whose route names labels (`metadata_match`) is balanced within the subset with exactly
//! those labels. A request whose labels name no non-empty subset takes the fallback:
//! nothing, any host, or the default subset. Requests without labels balance over every
//! host, as in MOSN.

use crate::host::Host;
use crate::lb::{self, LbContext, LoadBalancer};
use mosn_config::{LbConfig, LbSubsetConfig, LbType, Metadata, SubsetFallback};
use std::collections::HashMap;
use std::sync::Arc;

/// One subset: its hosts and a balancer over them.
struct Subset {
    hosts: Vec<Arc<Host>>,
    lb: Box<dyn LoadBalancer>,
}

impl Subset {
    fn new(hosts: Vec<Arc<Host>>, lb_type: LbType, lb_config: &LbConfig) -> Self {
        let lb = lb::build(lb_type, &hosts, lb_config);
        Self { hosts, lb }
    }

    fn choose(&self, ctx: &LbContext, attempt: u32) -> Option<Arc<Host>> {
        let i = self.lb.choose_for_attempt(ctx, attempt)?;
        self.hosts.get(i).cloned()
    }
}

/// The fallback once built.
enum Fallback {
    None,
    AnyEndpoint,
    Default(Subset),
}

/// Every subset of one rotation, by its labels.
pub(crate) struct Subsets {
    by_labels: HashMap<Metadata, Subset>,
    fallback: Fallback,
}

/// Where a request with labels goes.
pub(crate) enum SubsetChoice {
    /// This host of the matching subset (or of the default subset).
    Host(Arc<Host>),
    /// The labels named no subset and the fallback is any host: balance over all.
    AnyHost,
    /// The labels named no subset and there is no fallback (or it is empty).
    NoHost,
}

impl Subsets {
    /// Groups `rotation` by `cfg`'s selectors.
    pub(crate) fn build(
        cfg: &LbSubsetConfig,
        rotation: &[Arc<Host>],
        lb_type: LbType,
        lb_config: &LbConfig,
    ) -> Self {
        let mut groups: HashMap<Metadata, Vec<Arc<Host>>> = HashMap::new();
        for selector in &cfg.selectors {
            for host in rotation {
                let labels: Option<Vec<(String, String)>> = selector
                    .iter()
                    .map(|k| host.metadata.get(k).map(|v| (k.clone(), v.to_owned())))
                    .collect();
                if let Some(labels) = labels {
                    groups
                        .entry(Metadata::new(labels))
                        .or_default()
                        .push(host.clone());
                }
            }
        }
        let by_labels = groups
            .into_iter()
            .map(|(labels, hosts)| (labels, Subset::new(hosts, lb_type, lb_config)))
            .collect();
        let fallback = match &cfg.fallback {
            SubsetFallback::NoFallback => Fallback::None,
            SubsetFallback::AnyEndpoint => Fallback::AnyEndpoint,
            SubsetFallback::DefaultSubset(labels) => {
                let hosts: Vec<Arc<Host>> = rotation
                    .iter()
                    .filter(|h| h.metadata.matches(labels))
                    .cloned()
                    .collect();
                Fallback::Default(Subset::new(hosts, lb_type, lb_config))
            }
        };
        Self {
            by_labels,
            fallback,
        }
    }

    /// The host for a request whose route asks for `labels` (not empty).
    pub(crate) fn choose(&self, labels: &Metadata, ctx: &LbContext, attempt: u32) -> SubsetChoice {
        if let Some(host) = self
            .by_labels
            .get(labels)
            .and_then(|s| s.choose(ctx, attempt))
        {
            return SubsetChoice::Host(host);
        }
        match &self.fallback {
            Fallback::None => SubsetChoice::NoHost,
            Fallback::AnyEndpoint => SubsetChoice::AnyHost,
            Fallback::Default(subset) => subset
                .choose(ctx, attempt)
                .map_or(SubsetChoice::NoHost, SubsetChoice::Host),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosn_config::Address;

    fn host(port: u16, labels: &[(&str, &str)]) -> Arc<Host> {
        let md = Metadata::new(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        Arc::new(Host::new(Address::Tcp(([127, 0, 0, 1], port).into()), None, 1).with_metadata(md))
    }

    fn labels(pairs: &[(&str, &str)]) -> Metadata {
        Metadata::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn ports(subsets: &Subsets, want: &[(&str, &str)]) -> Vec<u16> {
        let ctx = LbContext::default();
        let mut seen: Vec<u16> = (0..40)
            .filter_map(|_| match subsets.choose(&labels(want), &ctx, 0) {
                SubsetChoice::Host(h) => match h.address {
                    Address::Tcp(a) => Some(a.port()),
                    Address::Unix(_) => None,
                },
                _ => None,
            })
            .collect();
        seen.sort();
        seen.dedup();
        seen
    }

    fn rotation() -> Vec<Arc<Host>> {
        vec![
            host(1, &[("version", "v1"), ("zone", "a")]),
            host(2, &[("version", "v1"), ("zone", "b")]),
            host(3, &[("version", "v2"), ("zone", "a")]),
            host(4, &[]),
        ]
    }

    fn config(fallback: SubsetFallback) -> LbSubsetConfig {
        LbSubsetConfig {
            selectors: vec![
                vec!["version".into()],
                vec!["version".into(), "zone".into()],
            ],
            fallback,
        }
    }

    #[test]
    fn requests_land_in_the_subset_with_exactly_their_labels() {
        let s = Subsets::build(
            &config(SubsetFallback::NoFallback),
            &rotation(),
            LbType::RoundRobin,
            &LbConfig::default(),
        );
        assert_eq!(ports(&s, &[("version", "v1")]), [1, 2]);
        assert_eq!(ports(&s, &[("version", "v2")]), [3]);
        assert_eq!(ports(&s, &[("version", "v1"), ("zone", "b")]), [2]);
        // `zone` alone is no selector: no subset, no fallback.
        assert_eq!(ports(&s, &[("zone", "a")]), Vec::<u16>::new());
        assert!(matches!(
            s.choose(&labels(&[("version", "v9")]), &LbContext::default(), 0),
            SubsetChoice::NoHost
        ));
    }

    #[test]
    fn fallbacks_pick_any_host_or_the_default_subset() {
        let any = Subsets::build(
            &config(SubsetFallback::AnyEndpoint),
            &rotation(),
            LbType::RoundRobin,
            &LbConfig::default(),
        );
        assert!(matches!(
            any.choose(&labels(&[("version", "v9")]), &LbContext::default(), 0),
            SubsetChoice::AnyHost
        ));
        let default = Subsets::build(
            &config(SubsetFallback::DefaultSubset(labels(&[("zone", "a")]))),
            &rotation(),
            LbType::RoundRobin,
            &LbConfig::default(),
        );
        assert_eq!(ports(&default, &[("version", "v9")]), [1, 3]);
    }
}
