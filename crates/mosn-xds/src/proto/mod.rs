//! Envoy's protos as data: the descriptor pool `envoy-types` was generated from, and the
//! proto3 JSON mapping over it (what Envoy reads from a bootstrap file and writes in
//! `/config_dump`), so a JSON or YAML document becomes the same typed message an ADS
//! response decodes to.

mod opaque;

use parking_lot::Mutex;
use prost::{Message, Name};
use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage, SerializeOptions};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How long the pool stays decoded after its last use.
const POOL_IDLE: Duration = Duration::from_secs(10);

/// The decoded pool, kept while in use: decoded it takes about 50 MiB, which a sidecar
/// should not keep for the rare moments it is needed (reading the bootstrap, a config
/// dump, naming a refused field), yet decoding it per use would make a burst of such
/// uses slow.
struct Cached {
    /// Kept until [`POOL_IDLE`] after the last use (a reaper thread lets go of it).
    strong: Option<Arc<DescriptorPool>>,
    /// Still reachable while a caller holds it after the reaper let go.
    weak: Weak<DescriptorPool>,
    last_used: Option<Instant>,
    reaper: bool,
}

static POOL: Mutex<Cached> = Mutex::new(Cached {
    strong: None,
    weak: Weak::new(),
    last_used: None,
    reaper: false,
});

/// The descriptor pool of every Envoy, xDS, UDPA and well-known type: decoded on demand,
/// shared while in use, freed [`POOL_IDLE`] after the last use.
pub fn pool() -> Arc<DescriptorPool> {
    let mut cached = POOL.lock();
    cached.last_used = Some(Instant::now());
    if let Some(pool) = cached.strong.clone().or_else(|| cached.weak.upgrade()) {
        cached.strong = Some(pool.clone());
        return pool;
    }
    let pool = Arc::new(
        DescriptorPool::decode(
            &include_bytes!(concat!(env!("OUT_DIR"), "/envoy-descriptors.bin"))[..],
        )
        .expect("envoy-types' descriptor set decodes"),
    );
    cached.weak = Arc::downgrade(&pool);
    cached.strong = Some(pool.clone());
    if !cached.reaper {
        cached.reaper = std::thread::Builder::new()
            .name("mosn-xds-pool".into())
            .spawn(reap)
            .is_ok();
    }
    pool
}

/// Lets go of the pool once it has not been used for [`POOL_IDLE`].
fn reap() {
    loop {
        std::thread::sleep(POOL_IDLE);
        let mut cached = POOL.lock();
        if cached.last_used.is_none_or(|at| at.elapsed() >= POOL_IDLE) {
            cached.strong = None;
            cached.reaper = false;
            return;
        }
    }
}

/// Why a document is not a valid message of the type asked for.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// The type is not in the pool (an extension this build does not know).
    #[error("unknown message type {0}")]
    UnknownType(String),
    /// The document does not fit the type: an unknown field, a wrong value, an `Any`
    /// whose `@type` is unknown. The message names the field.
    #[error("{0}")]
    Json(String),
    /// The bytes do not decode as the type.
    #[error("{0}")]
    Decode(#[from] prost::DecodeError),
}

/// Options for reading: unknown fields are errors unless `allow_unknown`
/// (Envoy's `--allow-unknown-static-fields`).
fn read_options(allow_unknown: bool) -> DeserializeOptions {
    DeserializeOptions::new().deny_unknown_fields(!allow_unknown)
}

/// Reads a proto3-JSON value (already parsed from JSON or YAML) as a `T`.
pub fn from_json<T: Message + Name + Default>(
    value: &serde_json::Value,
    allow_unknown: bool,
) -> Result<T, ProtoError> {
    let descriptor = pool()
        .get_message_by_name(&T::full_name())
        .ok_or_else(|| ProtoError::UnknownType(T::full_name()))?;
    let message =
        DynamicMessage::deserialize_with_options(descriptor, value, &read_options(allow_unknown))
            .map_err(|e| ProtoError::Json(e.to_string()))?;
    Ok(message.transcode_to::<T>()?)
}

/// Writes a message in Envoy's JSON form (`snake_case` field names, `Any` with `@type`,
/// defaults left out), as `/config_dump` shows it; an `Any` of a type the pool lacks is
/// written as its type and bytes (see `opaque`).
pub fn to_json<T: Message + Name>(message: &T) -> serde_json::Value {
    let pool = pool();
    let Some(descriptor) = pool.get_message_by_name(&T::full_name()) else {
        return serde_json::Value::Null;
    };
    let mut dynamic = DynamicMessage::new(descriptor);
    if dynamic.transcode_from(message).is_err() {
        return serde_json::Value::Null;
    }
    let opaque = opaque::stand_in(&pool, &mut dynamic);
    let options = SerializeOptions::new().use_proto_field_name(true);
    let mut json = dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .unwrap_or(serde_json::Value::Null);
    if !opaque.is_empty() {
        opaque::restore(&mut json, &opaque);
    }
    json
}

/// Parses a document that is JSON or YAML (JSON is YAML, but the JSON parser gives better
/// errors for JSON).
pub fn parse_document(text: &str) -> Result<serde_json::Value, String> {
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(json_error) if text.trim_start().starts_with('{') => Err(json_error.to_string()),
        Err(_) => serde_yaml_ng::from_str(text).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::envoy::config::bootstrap::v3::Bootstrap;
    use envoy_types::pb::envoy::config::cluster::v3::Cluster;

    #[test]
    fn yaml_bootstrap_reads_into_typed_message_with_any_and_durations() {
        let doc = parse_document(
            r#"
node: {id: n1, cluster: c1}
static_resources:
  clusters:
  - name: xds-grpc
    type: STATIC
    connect_timeout: 1.5s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {http2_protocol_options: {}}
"#,
        )
        .unwrap();
        let bootstrap: Bootstrap = from_json(&doc, false).unwrap();
        assert_eq!(bootstrap.node.as_ref().unwrap().id, "n1");
        let cluster = &bootstrap.static_resources.as_ref().unwrap().clusters[0];
        assert_eq!(cluster.connect_timeout.unwrap().nanos, 500_000_000);
        assert!(cluster
            .typed_extension_protocol_options
            .contains_key("envoy.extensions.upstreams.http.v3.HttpProtocolOptions"));
    }

    #[test]
    fn unknown_field_is_named_unless_allowed() {
        let doc = serde_json::json!({"name": "a", "conect_timeout": "1s"});
        let error = from_json::<Cluster>(&doc, false).unwrap_err().to_string();
        assert!(error.contains("conect_timeout"), "{error}");
        assert_eq!(from_json::<Cluster>(&doc, true).unwrap().name, "a");
    }

    #[test]
    fn the_pool_is_decoded_once_while_in_use() {
        let first = pool();
        assert!(Arc::ptr_eq(&first, &pool()));
        drop(first);
        assert!(Arc::ptr_eq(&pool(), &pool()), "kept between uses");
    }

    #[test]
    fn message_writes_back_as_envoy_json() {
        let cluster = Cluster {
            name: "a".into(),
            ..Default::default()
        };
        assert_eq!(to_json(&cluster), serde_json::json!({"name": "a"}));
    }

    #[test]
    fn any_of_a_type_the_pool_lacks_is_written_as_its_type_and_bytes() {
        use envoy_types::pb::envoy::config::cluster::v3::Filter;
        use envoy_types::pb::envoy::extensions::filters::http::wasm::v3::Wasm;
        use envoy_types::pb::envoy::extensions::wasm::v3::PluginConfig;
        use envoy_types::pb::google::protobuf::Any;
        // Istio's metadata exchange as a cluster filter, and inside a Wasm config (an
        // `Any` in an `Any`), as Istio's sidecars get them.
        let exchange = Any {
            type_url: "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange"
                .into(),
            value: vec![0x0a, 0x03, b'a', b'b', b'c'],
        };
        let wasm = Wasm {
            config: Some(PluginConfig {
                configuration: Some(exchange.clone()),
                ..Default::default()
            }),
        };
        let cluster = Cluster {
            name: "a".into(),
            filters: vec![
                Filter {
                    name: "istio.metadata_exchange".into(),
                    typed_config: Some(exchange),
                    ..Default::default()
                },
                Filter {
                    name: "wasm".into(),
                    typed_config: Some(Any {
                        type_url: "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
                            .into(),
                        value: wasm.encode_to_vec(),
                    }),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let opaque = serde_json::json!({
            "@type": "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange",
            "@value": "CgNhYmM=",
        });
        assert_eq!(
            to_json(&cluster),
            serde_json::json!({"name": "a", "filters": [
                {"name": "istio.metadata_exchange", "typed_config": opaque},
                {"name": "wasm", "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                    "config": {"configuration": opaque}}},
            ]})
        );
    }
}
