//! The RPC side of the model: MOSN's protocol names for bolt, boltv2 and dubbo, what RPC
//! proxies refuse, and the HTTP → Bolt `transcoder`.

mod common;

use common::{base, config, proxy, set};
use mosn_config::{Protocol, StreamFilterConfig, TranscoderConfig};
use serde_json::{json, Value};

#[test]
fn rpc_protocols_by_name_and_as_x_with_sub_protocol() {
    let mut doc = base();
    set(&mut doc, "@proxy/downstream_protocol", Some(json!("X")));
    set(&mut doc, "@proxy/upstream_protocol", Some(json!("x")));
    set(
        &mut doc,
        "@proxy/extend_config",
        Some(json!({"sub_protocol": "Dubbo"})),
    );
    let c = config(&doc.to_string());
    assert_eq!(proxy(&c).downstream_protocol, Protocol::Dubbo);
    assert_eq!(proxy(&c).upstream_protocol, Protocol::Dubbo);

    let mut doc = base();
    set(
        &mut doc,
        "@proxy/downstream_protocol",
        Some(json!("boltv2")),
    );
    let c = config(&doc.to_string());
    assert_eq!(proxy(&c).downstream_protocol, Protocol::BoltV2);
    assert_eq!(proxy(&c).upstream_protocol, Protocol::BoltV2);

    let mut doc = base();
    set(&mut doc, "@proxy/downstream_protocol", Some(json!("bolt")));
    set(&mut doc, "@proxy/upstream_protocol", Some(json!("dubbo")));
    assert_eq!(
        common::errors(&doc.to_string()),
        ["servers[0].listeners[0].filter_chains[0].filters[0].config.upstream_protocol: protocol conversion Bolt -> Dubbo is not supported (HTTP converts to HTTP, and to bolt/boltv2 with the transcoder stream filter)"]
    );

    // Header edits are not applied to RPC frames: refused, not ignored.
    let mut doc = base();
    set(&mut doc, "@proxy/downstream_protocol", Some(json!("bolt")));
    set(
        &mut doc,
        "/servers/0/routers/0/request_headers_to_add",
        Some(json!([{"header": {"key": "x-a", "value": "1"}}])),
    );
    assert_eq!(
        common::errors(&doc.to_string()),
        ["servers[0].routers[0]: header edits are not supported yet on routers of RPC (bolt, boltv2, dubbo) proxies"]
    );

    // HTTP stream filters would never see RPC frames: refused, not ignored.
    let mut doc = base();
    set(&mut doc, "@proxy/downstream_protocol", Some(json!("dubbo")));
    set(
        &mut doc,
        "@http/stream_filters",
        Some(
            json!([{"type": "ip_access", "config": {"ips": [{"action": "allow", "addrs": ["127.0.0.1"]}]}}]),
        ),
    );
    assert_eq!(
        common::errors(&doc.to_string()),
        ["servers[0].listeners[0].stream_filters: stream filters on RPC (bolt, boltv2, dubbo) listeners are not supported yet"]
    );
}

#[test]
fn transcoder_turns_http_into_bolt_and_nothing_else() {
    let transcoder = |config: Value| json!([{"type": "transcoder", "config": config}]);
    let mut doc = base();
    set(&mut doc, "@proxy/upstream_protocol", Some(json!("X")));
    set(
        &mut doc,
        "@proxy/extend_config",
        Some(json!({"sub_protocol": "bolt"})),
    );
    // HTTP → Bolt without the transcoder: refused, naming what is missing.
    assert_eq!(
        common::errors(&doc.to_string()),
        ["servers[0].listeners[0].filter_chains: the proxy takes Http1 and sends Bolt: HTTP becomes Bolt only through a \"transcoder\" stream filter (http2bolt_simple)"]
    );
    set(
        &mut doc,
        "@http/stream_filters",
        Some(transcoder(json!({"type": "http2bolt_simple"}))),
    );
    let c = config(&doc.to_string());
    assert_eq!(proxy(&c).upstream_protocol, Protocol::Bolt);
    assert_eq!(
        c.servers[0].listeners[0].stream_filters,
        [StreamFilterConfig::Transcoder(TranscoderConfig {
            class: "com.alipay.sofa.rpc.core.request.SofaRequest".into(),
            codec: 1,
        })]
    );
    set(
        &mut doc,
        "@http/stream_filters",
        Some(transcoder(
            json!({"type": "http2bolt_simple", "class": "x.Req", "codec": "protobuf"}),
        )),
    );
    let c = config(&doc.to_string());
    assert_eq!(
        c.servers[0].listeners[0].stream_filters,
        [StreamFilterConfig::Transcoder(TranscoderConfig {
            class: "x.Req".into(),
            codec: 11,
        })]
    );

    for (bad, error) in [
        (
            json!({"type": "http2dubbo"}),
            ".type: transcoder \"http2dubbo\" is not supported (http2bolt_simple)",
        ),
        (
            json!({"type": "http2bolt_simple", "codec": "json"}),
            ".codec: unknown Bolt codec \"json\" (hessian2 or protobuf)",
        ),
        (
            json!({"rules": [{}], "type": "http2bolt_simple"}),
            ".rules: transcoder matcher rules are not supported yet; use \"type\": \"http2bolt_simple\"",
        ),
    ] {
        set(&mut doc, "@http/stream_filters", Some(transcoder(bad)));
        assert_eq!(
            common::errors(&doc.to_string()),
            [format!("servers[0].listeners[0].stream_filters[0].config{error}")]
        );
    }

    // HTTP → Dubbo has no transcoder.
    let mut doc = base();
    set(&mut doc, "@proxy/upstream_protocol", Some(json!("dubbo")));
    assert_eq!(
        common::errors(&doc.to_string()),
        ["servers[0].listeners[0].filter_chains[0].filters[0].config.upstream_protocol: protocol conversion Http1 -> Dubbo is not supported (HTTP converts to HTTP, and to bolt/boltv2 with the transcoder stream filter)"]
    );
}
