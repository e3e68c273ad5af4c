//! `listeners[].stream_filters[]`: the stream filters mosn-rs has built, by `type`.

use crate::address::parse_cidr;
use crate::json::{Field, Obj};
use crate::model::{IpAccessConfig, IpAccessRule, StreamFilterConfig};

/// Parses one stream filter; unknown types are refused by name (`None`). `Some(None)` is
/// a filter that is accepted but has nothing to build.
pub(crate) fn parse_stream_filter(field: &Field<'_>) -> Option<Option<StreamFilterConfig>> {
    let filter = field.as_object()?;
    // Only MOSN's Go-plugin loader reads it; a built-in filter never does.
    filter.refuse(
        "go_plugin_config",
        "Go plugin stream filters are not supported",
    );
    let Some((kind, type_field)) = filter.required_str_field("type") else {
        filter.tolerate(&["config"]);
        return None;
    };
    match kind {
        "ip_access" => parse_ip_access(&filter.required_object("config")?)
            .map(|c| Some(StreamFilterConfig::IpAccess(c))),
        // MOSN's `healthcheck` answers RPC heartbeats at the proxy instead of forwarding
        // them. mosn-rs's RPC proxy always does that, so the filter adds nothing to build.
        "healthcheck" => {
            filter.tolerate(&["config"]);
            Some(None)
        }
        other => {
            type_field.error(format!("stream filter {other:?} is not supported yet"));
            filter.tolerate(&["config"]);
            None
        }
    }
}

/// MOSN's `ip_access`: `{header, default_action, ips[]{action, addrs[]}}`.
fn parse_ip_access(config: &Obj<'_>) -> Option<IpAccessConfig> {
    let header = config
        .str("header")
        .filter(|h| !h.is_empty())
        .map(str::to_ascii_lowercase);
    let default_allow = config.str("default_action") != Some("deny");
    let mut ok = true;
    let rules = config
        .items("ips")
        .iter()
        .filter_map(|item| {
            let rule = parse_rule(item);
            ok &= rule.is_some();
            rule
        })
        .collect();
    ok.then_some(IpAccessConfig {
        header,
        default_allow,
        rules,
    })
}

fn parse_rule(field: &Field<'_>) -> Option<IpAccessRule> {
    let rule = field.as_object()?;
    let allow = rule.str("action") != Some("deny");
    let addrs = rule.strings("addrs");
    if addrs.is_empty() {
        // MOSN refuses an empty list too ("not found trusted IPs").
        rule.key_error("addrs", "needs at least one IP or CIDR range");
        return None;
    }
    let mut ok = true;
    let addrs = addrs
        .into_iter()
        .filter_map(|(f, text)| {
            let cidr = parse_cidr(text);
            if cidr.is_none() {
                f.error(format!("invalid IP or CIDR range {text:?}"));
                ok = false;
            }
            cidr
        })
        .collect();
    ok.then_some(IpAccessRule { allow, addrs })
}
