//! `Any`s of types the pool lacks, in JSON.
//!
//! mosn accepts some such configs as counted no-ops (Istio's `stats.PluginConfig`, its
//! metadata exchange), so the resources it keeps and `/config_dump` writes carry them.
//! The proto3 JSON mapping cannot write an `Any` it cannot resolve, and one would fail
//! the whole dump; each is written instead as `{"@type": URL, "@value": BASE64}`: the
//! type as sent and the bytes as sent (`@value` cannot be a field name, so it is never
//! mistaken for one).

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, ReflectMessage, Value};

/// What stands in for an opaque `Any` while the message is written: a `StringValue` with
/// this prefix and the index of the original.
const MARK: &str = "\u{0}mosn-opaque-any:";
const STRING_VALUE: &str = "type.googleapis.com/google.protobuf.StringValue";

/// Replaces every `Any` in `message` (inside resolvable `Any`s too) whose type `pool`
/// lacks by a stand-in; returns the originals' type URLs and bytes, by stand-in index.
pub(super) fn stand_in(
    pool: &DescriptorPool,
    message: &mut DynamicMessage,
) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    walk(pool, message, &mut found);
    found
}

fn walk(pool: &DescriptorPool, message: &mut DynamicMessage, found: &mut Vec<(String, Vec<u8>)>) {
    if message.descriptor().full_name() == "google.protobuf.Any" {
        any(pool, message, found);
        return;
    }
    for (_, value) in message.fields_mut() {
        walk_value(pool, value, found);
    }
}

fn walk_value(pool: &DescriptorPool, value: &mut Value, found: &mut Vec<(String, Vec<u8>)>) {
    match value {
        Value::Message(m) => walk(pool, m, found),
        Value::List(items) => items.iter_mut().for_each(|v| walk_value(pool, v, found)),
        Value::Map(entries) => entries
            .values_mut()
            .for_each(|v| walk_value(pool, v, found)),
        _ => {}
    }
}

/// One `Any`: stood in when opaque, else its value walked.
fn any(pool: &DescriptorPool, message: &mut DynamicMessage, found: &mut Vec<(String, Vec<u8>)>) {
    let type_url = message
        .get_field_by_name("type_url")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let bytes = message
        .get_field_by_name("value")
        .and_then(|v| v.as_bytes().map(|b| b.to_vec()))
        .unwrap_or_default();
    let name = type_url.rsplit('/').next().unwrap_or_default();
    match pool.get_message_by_name(name) {
        Some(descriptor) => {
            let Ok(mut inner) = DynamicMessage::decode(descriptor, bytes.as_slice()) else {
                return;
            };
            let before = found.len();
            walk(pool, &mut inner, found);
            if found.len() > before {
                message.set_field_by_name("value", Value::Bytes(inner.encode_to_vec().into()));
            }
        }
        None => {
            let mark = format!("{MARK}{}", found.len());
            found.push((type_url, bytes));
            message.set_field_by_name("type_url", Value::String(STRING_VALUE.into()));
            message.set_field_by_name("value", Value::Bytes(mark.encode_to_vec().into()));
        }
    }
}

/// Puts the originals back into the written JSON.
pub(super) fn restore(json: &mut serde_json::Value, found: &[(String, Vec<u8>)]) {
    match json {
        serde_json::Value::Object(object) => {
            let index = (object.get("@type").and_then(|t| t.as_str()) == Some(STRING_VALUE))
                .then(|| object.get("value").and_then(|v| v.as_str()))
                .flatten()
                .and_then(|v| v.strip_prefix(MARK))
                .and_then(|i| i.parse::<usize>().ok());
            if let Some((type_url, bytes)) = index.and_then(|i| found.get(i)) {
                *json = serde_json::json!({"@type": type_url, "@value": base64(bytes)});
                return;
            }
            object.values_mut().for_each(|v| restore(v, found));
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| restore(v, found)),
        _ => {}
    }
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads_like_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(base64(&[0xff, 0xfe]), "//4=");
    }
}
