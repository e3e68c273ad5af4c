//! `listeners[].stream_filters[]`: the stream filters mosn-rs has built, by `type`.

use crate::address::parse_cidr;
use crate::json::{Field, Obj};
use crate::model::{IpAccessConfig, IpAccessRule, StreamFilterConfig, TranscoderConfig};

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
        "transcoder" => parse_transcoder(&filter.required_object("config")?)
            .map(|c| Some(StreamFilterConfig::Transcoder(c))),
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

/// SOFARPC's request class, which SOFARPC servers expect on a Bolt request.
const SOFA_REQUEST_CLASS: &str = "com.alipay.sofa.rpc.core.request.SofaRequest";

/// Bolt serializer bytes by name.
const BOLT_CODECS: &[(&str, u8)] = &[("hessian2", 1), ("protobuf", 11)];

/// MOSN's `transcoder`: `{type: "http2bolt_simple", trans?}` plus mosn-rs's `class` and
/// `codec`. MOSN's matcher `rules` form is refused by name.
fn parse_transcoder(config: &Obj<'_>) -> Option<TranscoderConfig> {
    config.refuse(
        "rules",
        "transcoder matcher rules are not supported yet; use \"type\": \"http2bolt_simple\"",
    );
    // `trans` holds MOSN's filter phase; mosn-rs converts after routing, MOSN's default.
    config.tolerate(&["trans"]);
    let (kind, type_field) = config.required_str_field("type")?;
    if kind != "http2bolt_simple" {
        type_field.error(format!(
            "transcoder {kind:?} is not supported (http2bolt_simple)"
        ));
        return None;
    }
    let class = match config.get("class") {
        None => SOFA_REQUEST_CLASS.to_owned(),
        Some(f) => f.as_str()?.to_owned(),
    };
    let codec = match config.get("codec") {
        None => 1,
        Some(f) => f.one_of(BOLT_CODECS, true, |c| {
            format!("unknown Bolt codec {c:?} (hessian2 or protobuf)")
        })?,
    };
    Some(TranscoderConfig { class, codec })
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
