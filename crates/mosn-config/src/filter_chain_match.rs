//! `filter_chains[].filter_chain_match` (Envoy's keys): what a connection must look like
//! to be served by a chain.

use crate::address::{cidr, parse_cidr};
use crate::json::{Field, Obj};
use crate::model::{CidrRange, FilterChainConfig, FilterChainMatch, TransportProtocol};
use crate::tree::Json;

/// Parses the chain's `filter_chain_match` (absent: matches everything).
pub(crate) fn parse(chain: &Obj<'_>) -> Option<FilterChainMatch> {
    let Some(m) = chain.object("filter_chain_match") else {
        return Some(FilterChainMatch::default());
    };
    let transport_protocol = m.get("transport_protocol").map(|f| {
        f.one_of(
            &[
                ("tls", TransportProtocol::Tls),
                ("raw_buffer", TransportProtocol::RawBuffer),
            ],
            false,
            |t| format!("unknown transport_protocol {t:?}, expected \"tls\" or \"raw_buffer\""),
        )
    });
    let ranges =
        |key: &str| -> Option<Vec<CidrRange>> { m.items(key).iter().map(parse_range).collect() };
    let source_ports: Option<Vec<u16>> = m
        .items("source_ports")
        .iter()
        .map(|f| f.as_uint::<u16>())
        .collect();
    let prefix_ranges = ranges("prefix_ranges");
    let source_prefix_ranges = ranges("source_prefix_ranges");
    Some(FilterChainMatch {
        destination_port: optional(m.get("destination_port").map(|f| f.as_uint::<u16>()))?,
        prefix_ranges: prefix_ranges?,
        server_names: m
            .strings("server_names")
            .into_iter()
            .map(|(_, s)| s.trim_end_matches('.').to_ascii_lowercase())
            .collect(),
        transport_protocol: optional(transport_protocol)?,
        application_protocols: m
            .strings("application_protocols")
            .into_iter()
            .map(|(_, s)| s.to_owned())
            .collect(),
        source_prefix_ranges: source_prefix_ranges?,
        source_ports: source_ports?,
    })
}

/// An optional key's value: `Some(None)` when absent, `None` when present but invalid.
fn optional<T>(parsed: Option<Option<T>>) -> Option<Option<T>> {
    match parsed {
        None => Some(None),
        Some(value) => value.map(Some),
    }
}

/// Envoy's `{"address_prefix": "10.0.0.0", "prefix_len": 8}` or a `"10.0.0.0/8"` string.
fn parse_range(field: &Field<'_>) -> Option<CidrRange> {
    if let Json::String(text) = field.value {
        let parsed = parse_cidr(text);
        if parsed.is_none() {
            field.error(format!("invalid CIDR range {text:?}"));
        }
        return parsed;
    }
    let obj = field.as_object()?;
    let (text, f) = obj.required_str_field("address_prefix")?;
    let Ok(ip) = text.parse() else {
        f.error(format!("invalid IP address {text:?}"));
        return None;
    };
    let len = obj
        .uint::<u8>("prefix_len")
        .unwrap_or(crate::address::max_prefix(ip));
    let parsed = cidr(ip, len);
    if parsed.is_none() {
        obj.key_error(
            "prefix_len",
            format!("prefix length {len} is too long for {text}"),
        );
    }
    parsed
}

/// A chain's match with its transport made explicit: a chain with TLS contexts serves
/// TLS, one without plaintext, unless `transport_protocol` says otherwise.
fn effective(chain: &FilterChainConfig) -> FilterChainMatch {
    let mut m = chain.filter_chain_match.clone();
    m.transport_protocol.get_or_insert(if chain.tls.is_empty() {
        TransportProtocol::RawBuffer
    } else {
        TransportProtocol::Tls
    });
    m
}

/// Two chains with the same match could never both be chosen: refused, as Envoy does.
/// A `transport_protocol` that contradicts the chain's TLS contexts is refused too: a
/// TLS chain cannot serve plaintext, and a plaintext chain cannot pass TLS through (the
/// ClientHello is consumed to choose the chain).
pub(crate) fn check_distinct(listener: &Obj<'_>, chains: &[FilterChainConfig]) -> Option<()> {
    for (i, chain) in chains.iter().enumerate() {
        let message = match (
            chain.filter_chain_match.transport_protocol,
            chain.tls.is_empty(),
        ) {
            (Some(TransportProtocol::Tls), true) => {
                "\"tls\" without a tls_context (TLS passthrough) is not supported yet"
            }
            (Some(TransportProtocol::RawBuffer), false) => {
                "\"raw_buffer\" contradicts the chain's tls_context"
            }
            _ => continue,
        };
        listener.key_error(
            &format!("filter_chains[{i}].filter_chain_match.transport_protocol"),
            message,
        );
        return None;
    }
    for (i, a) in chains.iter().enumerate() {
        if let Some(j) = chains[..i]
            .iter()
            .position(|b| effective(b) == effective(a))
        {
            listener.key_error(
                &format!("filter_chains[{i}].filter_chain_match"),
                format!("the same as filter_chains[{j}]'s: one of them could never be chosen"),
            );
            return None;
        }
    }
    Some(())
}
