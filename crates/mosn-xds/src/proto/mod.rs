//! Envoy's protos as data: the descriptor pool `envoy-types` was generated from, and the
//! proto3 JSON mapping over it (what Envoy reads from a bootstrap file and writes in
//! `/config_dump`), so a JSON or YAML document becomes the same typed message an ADS
//! response decodes to.

use parking_lot::Mutex;
use prost::{Message, Name};
use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage, SerializeOptions};
use std::cell::{Cell, RefCell};
use std::sync::{Arc, Weak};

/// The pool while someone holds it: decoded it takes about 50 MiB, which a sidecar should
/// not keep for the rare moments it is needed (reading the bootstrap, a config dump).
static POOL: Mutex<Weak<DescriptorPool>> = Mutex::new(Weak::new());

thread_local! {
    /// The pool kept on this thread while a [`PoolHold`] lives.
    static HELD: RefCell<Option<Arc<DescriptorPool>>> = const { RefCell::new(None) };
    /// How many [`PoolHold`]s live on this thread.
    static HOLDS: Cell<usize> = const { Cell::new(0) };
}

/// Keeps the pool, once something on this thread decodes it, until the hold is dropped:
/// work that may need it many times (a response of 10,000 resources with errors to name,
/// a bootstrap, a config dump) decodes it once, not once per use.
#[derive(Debug)]
pub struct PoolHold(());

impl PoolHold {
    /// Starts holding.
    pub fn new() -> Self {
        HOLDS.with(|h| h.set(h.get() + 1));
        Self(())
    }
}

impl Default for PoolHold {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for PoolHold {
    fn drop(&mut self) {
        let left = HOLDS.with(|h| {
            let left = h.get().saturating_sub(1);
            h.set(left);
            left
        });
        if left == 0 {
            HELD.with(|held| held.borrow_mut().take());
        }
    }
}

/// The descriptor pool of every Envoy, xDS, UDPA and well-known type: decoded when no one
/// holds it, shared while someone does, freed when the last holder lets go.
pub fn pool() -> Arc<DescriptorPool> {
    if let Some(held) = HELD.with(|held| held.borrow().clone()) {
        return held;
    }
    let pool = shared_pool();
    if HOLDS.with(Cell::get) > 0 {
        HELD.with(|held| *held.borrow_mut() = Some(pool.clone()));
    }
    pool
}

fn shared_pool() -> Arc<DescriptorPool> {
    let mut cached = POOL.lock();
    if let Some(pool) = cached.upgrade() {
        return pool;
    }
    let pool = Arc::new(
        DescriptorPool::decode(
            &include_bytes!(concat!(env!("OUT_DIR"), "/envoy-descriptors.bin"))[..],
        )
        .expect("envoy-types' descriptor set decodes"),
    );
    *cached = Arc::downgrade(&pool);
    pool
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
/// defaults left out), as `/config_dump` shows it.
pub fn to_json<T: Message + Name>(message: &T) -> serde_json::Value {
    let Some(descriptor) = pool().get_message_by_name(&T::full_name()) else {
        return serde_json::Value::Null;
    };
    let mut dynamic = DynamicMessage::new(descriptor);
    if dynamic.transcode_from(message).is_err() {
        return serde_json::Value::Null;
    }
    let options = SerializeOptions::new().use_proto_field_name(true);
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .unwrap_or(serde_json::Value::Null)
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
    fn message_writes_back_as_envoy_json() {
        let cluster = Cluster {
            name: "a".into(),
            ..Default::default()
        };
        assert_eq!(to_json(&cluster), serde_json::json!({"name": "a"}));
    }
}
