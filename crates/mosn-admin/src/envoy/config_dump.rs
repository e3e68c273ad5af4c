//! `GET /config_dump`: Envoy's `ConfigDump` from [`EnvoyAdmin::config_dump`], with
//! Envoy's `?resource=` and `?mask=` selections applied to it.

use http::StatusCode;
use serde_json::{Map, Value};

use super::{first, has, EnvoyAdmin, Form};
use crate::handlers::{self, one_line, text, Resp};

/// Repeated resource fields of Envoy's `*ConfigDump` messages → the message of their
/// items, for the `@type` of each item `?resource=` selects.
const RESOURCE_FIELDS: &[(&str, &str)] = &[
    ("static_clusters", "StaticCluster"),
    ("dynamic_active_clusters", "DynamicCluster"),
    ("dynamic_warming_clusters", "DynamicCluster"),
    ("static_listeners", "StaticListener"),
    ("dynamic_listeners", "DynamicListener"),
    ("static_route_configs", "StaticRouteConfig"),
    ("dynamic_route_configs", "DynamicRouteConfig"),
    ("inline_scoped_route_configs", "InlineScopedRouteConfigs"),
    ("dynamic_scoped_route_configs", "DynamicScopedRouteConfigs"),
    ("static_secrets", "StaticSecret"),
    ("dynamic_active_secrets", "DynamicSecret"),
    ("dynamic_warming_secrets", "DynamicSecret"),
    ("static_endpoint_configs", "StaticEndpointConfig"),
    ("dynamic_endpoint_configs", "DynamicEndpointConfig"),
];

/// `GET /config_dump[?include_eds][&resource=FIELD][&mask=PATH,...]`, indented JSON.
///
/// - `include_eds`: passed to the closure (endpoint configs included).
/// - `resource=FIELD`: `{"configs": [...]}` of every item of that repeated field across
///   the configs (`dynamic_active_clusters`, `static_listeners`, ...), each with its
///   `@type` (`<config's @type>.DynamicCluster`, ...), as Envoy. A field that is neither
///   one of Envoy's resource fields nor present in any config is 404.
/// - `mask=a,b.c`: Envoy's field mask, applied to each entry of `configs` (to each
///   resource with `resource=`): only the listed paths are kept, through arrays, and
///   `@type` always stays so each entry remains a valid `Any`.
pub(super) fn config_dump(envoy: &EnvoyAdmin, form: &Form) -> Resp {
    let mut dump = (envoy.config_dump)(has(form, "include_eds"));
    if let Some(field) = first(form, "resource") {
        match select_resource(&dump, field) {
            Some(selected) => dump = selected,
            None => {
                return text(
                    StatusCode::NOT_FOUND,
                    format!("no resource field {} in the config dump\n", one_line(field)),
                );
            }
        }
    }
    if let Some(mask) = first(form, "mask") {
        let paths: Vec<Vec<&str>> = mask
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| p.split('.').collect())
            .collect();
        let paths: Vec<&[&str]> = paths.iter().map(Vec::as_slice).collect();
        mask_configs(&mut dump, &paths);
    }
    handlers::json(StatusCode::OK, &dump, true)
}

/// The entries of `dump["configs"]`, or none.
fn configs(dump: &Value) -> impl Iterator<Item = &Value> {
    dump.get("configs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// `{"configs": [items of field across the configs]}`, each item typed; `None` when the
/// field is unknown to Envoy and absent from every config.
fn select_resource(dump: &Value, field: &str) -> Option<Value> {
    let message = RESOURCE_FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, m)| *m);
    let mut found = message.is_some();
    let mut items = Vec::new();
    for config in configs(dump) {
        let Some(entries) = config.get(field).and_then(Value::as_array) else {
            continue;
        };
        found = true;
        let item_type = config
            .get("@type")
            .and_then(Value::as_str)
            .zip(message)
            .map(|(config_type, message)| format!("{config_type}.{message}"));
        items.extend(entries.iter().map(|e| typed(e, item_type.as_deref())));
    }
    found.then(|| serde_json::json!({ "configs": items }))
}

/// `entry` with `@type` first, unless it has one or the type is unknown.
fn typed(entry: &Value, item_type: Option<&str>) -> Value {
    match (entry, item_type) {
        (Value::Object(fields), Some(item_type)) if !fields.contains_key("@type") => {
            let mut out = Map::new();
            out.insert("@type".to_string(), Value::from(item_type));
            out.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
            Value::Object(out)
        }
        _ => entry.clone(),
    }
}

/// Applies the field mask to each entry of `dump["configs"]`.
fn mask_configs(dump: &mut Value, paths: &[&[&str]]) {
    if let Some(configs) = dump.get_mut("configs").and_then(Value::as_array_mut) {
        for config in configs {
            *config = trim(config, paths);
        }
    }
}

/// `value` with only the fields on `paths` (and every `@type`); arrays are masked item
/// by item, as repeated fields in a field mask.
fn trim(value: &Value, paths: &[&[&str]]) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|i| trim(i, paths)).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter_map(|(key, v)| Some((key.clone(), trim_field(key, v, paths)?)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The field `key` of an object under the mask: whole when a path ends at it, masked by
/// the rest of the paths through it, `None` when no path names it.
fn trim_field(key: &str, value: &Value, paths: &[&[&str]]) -> Option<Value> {
    if key == "@type" {
        return Some(value.clone());
    }
    let rest: Vec<&[&str]> = paths
        .iter()
        .filter_map(|p| p.split_first())
        .filter(|(head, _)| **head == key)
        .map(|(_, rest)| rest)
        .collect();
    if rest.is_empty() {
        None
    } else if rest.iter().any(|r| r.is_empty()) {
        Some(value.clone())
    } else {
        Some(trim(value, &rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dump() -> Value {
        json!({"configs": [
            {"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
             "version_info": "3",
             "static_clusters": [{"cluster": {"name": "s"}}],
             "dynamic_active_clusters": [
                {"version_info": "3", "cluster": {"@type": "C", "name": "a", "lb_policy": "RANDOM"}},
                {"version_info": "2", "cluster": {"@type": "C", "name": "b"}}
             ]},
            {"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
             "dynamic_listeners": [{"name": "l"}]}
        ]})
    }

    #[test]
    fn resource_selects_the_field_across_configs_with_item_types() {
        let selected = select_resource(&dump(), "dynamic_active_clusters").unwrap();
        let configs = selected["configs"].as_array().unwrap();
        assert_eq!(configs.len(), 2);
        assert_eq!(
            configs[0]["@type"],
            "type.googleapis.com/envoy.admin.v3.ClustersConfigDump.DynamicCluster"
        );
        assert_eq!(configs[1]["cluster"]["name"], "b");
    }

    #[test]
    fn a_known_field_absent_everywhere_is_empty_and_an_unknown_one_is_none() {
        assert_eq!(
            select_resource(&dump(), "dynamic_warming_clusters"),
            Some(json!({"configs": []}))
        );
        assert_eq!(select_resource(&dump(), "no_such_field"), None);
        assert_eq!(select_resource(&json!(null), "no_such_field"), None);
    }

    #[test]
    fn mask_keeps_listed_paths_through_arrays_and_every_type() {
        let mut d = dump();
        mask_configs(&mut d, &[&["dynamic_active_clusters", "cluster", "name"]]);
        assert_eq!(
            d,
            json!({"configs": [
                {"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
                 "dynamic_active_clusters": [
                    {"cluster": {"@type": "C", "name": "a"}},
                    {"cluster": {"@type": "C", "name": "b"}}
                 ]},
                {"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump"}
            ]})
        );
    }

    #[test]
    fn mask_ending_at_a_field_keeps_it_whole() {
        let mut d = dump();
        mask_configs(&mut d, &[&["version_info"], &["static_clusters"]]);
        assert_eq!(d["configs"][0]["version_info"], "3");
        assert_eq!(
            d["configs"][0]["static_clusters"][0]["cluster"]["name"],
            "s"
        );
        assert!(d["configs"][0].get("dynamic_active_clusters").is_none());
    }
}
