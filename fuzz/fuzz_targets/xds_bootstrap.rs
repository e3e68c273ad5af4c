//! Arbitrary text as an Envoy bootstrap file (JSON or YAML), the file `mosn start -c`,
//! `mosn envoy` and pilot-agent hand over: `bootstrap::load` parses it into Envoy's
//! `Bootstrap`, then plans the start (static clusters, listeners and secrets converted,
//! the ADS and SDS sources found). The same text also goes through `parse_document`,
//! the Envoy-or-MOSN test and the proto3-JSON reader with unknown fields allowed
//! (`--allow-unknown-static-fields`) and merged over itself (`--config-yaml`). A file
//! can come from anywhere; none of it may panic or hang.
#![no_main]

use envoy_types::pb::envoy::config::bootstrap::v3::Bootstrap;
use libfuzzer_sys::fuzz_target;
use mosn_xds::bootstrap::{is_bootstrap, load, LoadOptions};
use mosn_xds::proto::{from_json, parse_document, to_json};

fuzz_target!(init: hold_descriptor_pool(), |data: &[u8]| run(data));

/// One input; see the top of the file.
fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(plan) = load(&text, &LoadOptions::default()) {
        // A bootstrap that loads also dumps.
        let _ = to_json(&plan.bootstrap);
    }
    let options = LoadOptions {
        config_yaml: Some(text.clone().into_owned()),
        allow_unknown_static_fields: true,
        service_cluster: Some("c".into()),
        service_node: Some("n".into()),
    };
    let _ = load(&text, &options);
    if let Ok(document) = parse_document(&text) {
        let _ = is_bootstrap(&document);
        let _ = from_json::<Bootstrap>(&document, false);
    }
}

/// `mosn_xds::proto` decodes Envoy's descriptor pool whenever no one holds it; held for
/// the whole run, it is decoded once rather than on every call.
fn hold_descriptor_pool() {
    Box::leak(Box::new(mosn_xds::proto::pool()));
}
