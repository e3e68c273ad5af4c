//! Arbitrary text as one Envoy resource in JSON or YAML (what `/config_dump` shows and
//! what a bootstrap's static resources hold): read as each xDS type in turn with the
//! proto3-JSON reader (`Any` resolved by `@type`, so every `typed_config` is a real
//! message rather than random bytes) and converted into mosn's model by
//! `mosn_xds::convert`, the transport socket both as a listener's and a cluster's. Where
//! `xds_resources` mostly meets undecodable bytes, this reaches deep into well-formed
//! resources. None of it may panic or hang.
#![no_main]

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::core::v3::TransportSocket;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::Secret;
use libfuzzer_sys::fuzz_target;
use mosn_xds::convert::{cluster, endpoint, listener, route, tls, Context};
use mosn_xds::proto::{from_json, parse_document, to_json};
use std::collections::HashMap;

fuzz_target!(init: hold_descriptor_pool(), |text: &str| run(text));

/// One input; see the top of the file.
fn run(text: &str) {
    let Ok(document) = parse_document(text) else {
        return;
    };
    // A secret is kept so that a resource naming it over SDS finds it.
    let mut secrets = HashMap::new();
    if let Ok(secret) = from_json::<Secret>(&document, false) {
        let _ = to_json(&secret);
        secrets.insert(secret.name.clone(), secret);
    }
    let mut ctx = Context::with_secrets(&secrets);
    if let Ok(c) = from_json::<Cluster>(&document, false) {
        let _ = (cluster::cluster(&c, &mut ctx), to_json(&c));
    }
    if let Ok(cla) = from_json::<ClusterLoadAssignment>(&document, false) {
        let _ = (endpoint::endpoints(&cla, &mut ctx), to_json(&cla));
    }
    if let Ok(l) = from_json::<Listener>(&document, false) {
        let _ = (listener::listener(&l, &mut ctx), to_json(&l));
    }
    if let Ok(r) = from_json::<RouteConfiguration>(&document, false) {
        let _ = (route::route_configuration(&r, &mut ctx), to_json(&r));
    }
    if let Ok(socket) = from_json::<TransportSocket>(&document, false) {
        let _ = tls::downstream(&socket, &mut ctx);
        let _ = tls::upstream(&socket, &mut ctx);
    }
}

/// `mosn_xds::proto` decodes Envoy's descriptor pool whenever no one holds it; held for
/// the whole run, it is decoded once rather than on every call.
fn hold_descriptor_pool() {
    Box::leak(Box::new(mosn_xds::proto::pool()));
}
