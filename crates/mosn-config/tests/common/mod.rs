//! A small valid MOSN config and helpers to change one part of it.

#![allow(dead_code)]

use serde_json::{json, Value};

/// Two listeners (HTTP proxy and TCP proxy), one router, one cluster, admin.
pub fn base() -> Value {
    json!({
        "servers": [{
            "default_log_path": "stdout",
            "routers": [{
                "router_config_name": "r",
                "virtual_hosts": [{
                    "name": "vh",
                    "domains": ["*"],
                    "routers": [{"match": {"prefix": "/"}, "route": {"cluster_name": "c"}}]
                }]
            }],
            "listeners": [
                {
                    "name": "http",
                    "address": "127.0.0.1:2045",
                    "bind_port": true,
                    "filter_chains": [{"filters": [{
                        "type": "proxy",
                        "config": {"downstream_protocol": "Http1", "router_config_name": "r"}
                    }]}]
                },
                {
                    "name": "tcp",
                    "address": "127.0.0.1:2046",
                    "bind_port": true,
                    "filter_chains": [{"filters": [{
                        "type": "tcp_proxy",
                        "config": {"cluster": "c"}
                    }]}]
                }
            ]
        }],
        "cluster_manager": {"clusters": [{
            "name": "c",
            "type": "SIMPLE",
            "hosts": [{"address": "127.0.0.1:8080"}]
        }]},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 34901}}}
    })
}

/// Short JSON-pointer prefixes for the parts of [`base`].
pub fn expand(pointer: &str) -> String {
    for (short, long) in [
        ("@server", "/servers/0"),
        ("@router", "/servers/0/routers/0"),
        ("@vhost", "/servers/0/routers/0/virtual_hosts/0"),
        ("@route", "/servers/0/routers/0/virtual_hosts/0/routers/0"),
        ("@http", "/servers/0/listeners/0"),
        (
            "@proxy",
            "/servers/0/listeners/0/filter_chains/0/filters/0/config",
        ),
        ("@tcp", "/servers/0/listeners/1"),
        (
            "@tcpproxy",
            "/servers/0/listeners/1/filter_chains/0/filters/0/config",
        ),
        ("@cluster", "/cluster_manager/clusters/0"),
        ("@host", "/cluster_manager/clusters/0/hosts/0"),
    ] {
        match pointer.strip_prefix(short) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                return format!("{long}{rest}");
            }
            _ => {}
        }
    }
    pointer.to_owned()
}

/// Sets (or with `None` removes) the value at a JSON pointer (see [`expand`]); the parent
/// must exist.
pub fn set(doc: &mut Value, pointer: &str, value: Option<Value>) {
    let pointer = expand(pointer);
    let (parent, key) = pointer.rsplit_once('/').expect("pointer has a parent");
    let parent = doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no parent for {pointer}"));
    match (parent, value) {
        (Value::Object(map), Some(v)) => {
            map.insert(key.to_owned(), v);
        }
        (Value::Object(map), None) => {
            map.remove(key);
        }
        (Value::Array(items), Some(v)) => {
            let i: usize = key.parse().expect("index");
            if i == items.len() {
                items.push(v);
            } else {
                items[i] = v;
            }
        }
        (Value::Array(items), None) => {
            items.remove(key.parse().expect("index"));
        }
        _ => panic!("parent of {pointer} is not a container"),
    }
}

/// The base config with one change, as text.
pub fn with(pointer: &str, value: Value) -> String {
    let mut doc = base();
    set(&mut doc, pointer, Some(value));
    doc.to_string()
}

/// Parses and returns the error lines (empty if it parsed).
pub fn errors(text: &str) -> Vec<String> {
    match mosn_config::parse_str(text) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

/// Parses text that must be valid and returns the result.
pub fn parse_ok(text: &str) -> mosn_config::Parsed {
    mosn_config::parse_str(text).unwrap_or_else(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("expected success, got:\n{}", lines.join("\n"))
    })
}

/// The warning lines of a valid config.
pub fn warnings(text: &str) -> Vec<String> {
    parse_ok(text)
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// The model of a config that must parse.
pub fn config(text: &str) -> mosn_config::Config {
    parse_ok(text).config
}

/// The base config's `proxy` filter (first listener, first chain, first filter).
pub fn proxy(config: &mosn_config::Config) -> &mosn_config::ProxyConfig {
    match &config.servers[0].listeners[0].filter_chains[0].filters[0] {
        mosn_config::NetworkFilterConfig::Proxy(p) => p,
        other => panic!("not a proxy: {other:?}"),
    }
}
