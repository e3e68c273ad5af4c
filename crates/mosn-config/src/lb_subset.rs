//! Subset load balancing (MOSN's `lb_subset_config`, Envoy's `lb_subset_config`): host
//! labels from `hosts[].metadata`, route criteria from `route.metadata_match`, and the
//! cluster's selectors and fallback policy. Labels live, as in MOSN, under
//! `filter_metadata["mosn.lb"]`; only string values count (MOSN drops the others).

use crate::json::{Field, Obj};
use crate::model::{LbSubsetConfig, Metadata, SubsetFallback};

/// The metadata namespace MOSN reads labels from.
const LB_NAMESPACE: &str = "mosn.lb";

/// `{"filter_metadata": {"mosn.lb": {k: v}}}` as sorted `(k, v)` pairs.
pub(crate) fn parse_metadata(field: &Field<'_>) -> Metadata {
    let Some(obj) = field.as_object() else {
        return Metadata::default();
    };
    let Some(filter) = obj.object("filter_metadata") else {
        return Metadata::default();
    };
    let mut labels = Vec::new();
    for (namespace, value) in filter.entries() {
        if namespace != LB_NAMESPACE {
            continue;
        }
        let Some(map) = value.as_object() else {
            continue;
        };
        for (key, value) in map.entries() {
            match value.as_str_quiet() {
                Some(v) => labels.push((key.to_owned(), v.to_owned())),
                None => value.warn("not a string: ignored, as MOSN does"),
            }
        }
    }
    Metadata::new(labels)
}

/// `lb_subset_config{fall_back_policy, default_subset, subset_selectors}`; `None` when
/// absent or without selectors (MOSN builds no subset balancer then).
pub(crate) fn parse_lb_subset(cluster: &Obj<'_>) -> Option<Option<LbSubsetConfig>> {
    let Some(obj) = cluster.object("lb_subset_config") else {
        return Some(None);
    };
    let mut ok = true;
    let default_subset = match obj.object("default_subset") {
        None => Metadata::default(),
        Some(map) => {
            let mut labels = Vec::new();
            for (key, value) in map.entries() {
                match value.as_str() {
                    Some(v) => labels.push((key.to_owned(), v.to_owned())),
                    None => ok = false,
                }
            }
            Metadata::new(labels)
        }
    };
    let fallback = match obj.get("fall_back_policy") {
        None => SubsetFallback::NoFallback,
        Some(field) => match fallback_policy(&field) {
            Some(0) => SubsetFallback::NoFallback,
            Some(1) => SubsetFallback::AnyEndpoint,
            Some(2) => SubsetFallback::DefaultSubset(default_subset),
            _ => {
                field.error("expected 0 (NO_FALLBACK), 1 (ANY_ENDPOINT) or 2 (DEFAULT_SUBSET)");
                ok = false;
                SubsetFallback::NoFallback
            }
        },
    };
    let mut selectors = Vec::new();
    for item in obj.items("subset_selectors") {
        let Some(keys) = item.as_array() else {
            ok = false;
            continue;
        };
        let mut names: Vec<String> = keys
            .iter()
            .filter_map(|k| {
                let name = k.as_str();
                ok &= name.is_some();
                name.map(str::to_owned)
            })
            .collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            item.error("a subset selector needs at least one key");
            ok = false;
        } else {
            selectors.push(names);
        }
    }
    if !ok {
        return None;
    }
    if selectors.is_empty() {
        obj.key_warn(
            "subset_selectors",
            "empty: no subsets are built, as in MOSN",
        );
        return Some(None);
    }
    Some(Some(LbSubsetConfig {
        selectors,
        fallback,
    }))
}

/// MOSN's number or Envoy's name of a fallback policy.
fn fallback_policy(field: &Field<'_>) -> Option<u8> {
    if let Some(name) = field.as_str_quiet() {
        return match name {
            "NO_FALLBACK" => Some(0),
            "ANY_ENDPOINT" => Some(1),
            "DEFAULT_SUBSET" => Some(2),
            _ => None,
        };
    }
    field.as_uint::<u8>()
}
