//! The configuration as JSON for `/api/v1/config_dump`, with private keys replaced.

use serde_json::{Map, Value};

use crate::tree::{fold_key, Json, Number};

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Converts the document to a `serde_json::Value`, replacing the value of every
/// `private_key` key, and of `enc_private_key` and `key` inside a `tls_context` or
/// `tls_context_set` (keys compared case-insensitively, as MOSN reads them). Of
/// duplicate keys the last one is kept.
pub(crate) fn redacted_value(json: &Json) -> Value {
    convert(json, false)
}

fn convert(json: &Json, in_tls: bool) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(Number::Unsigned(n)) => Value::from(*n),
        Json::Number(Number::Signed(n)) => Value::from(*n),
        Json::Number(Number::Float(f)) => Value::from(*f),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(|v| convert(v, in_tls)).collect()),
        Json::Object(members) => {
            let mut map = Map::new();
            for (key, value) in members {
                let folded = fold_key(key);
                let secret = folded == "private_key"
                    || (in_tls && (folded == "enc_private_key" || folded == "key"));
                let converted = if secret {
                    Value::String(REDACTED.to_owned())
                } else {
                    let tls = in_tls || folded == "tls_context" || folded == "tls_context_set";
                    convert(value, tls)
                };
                map.insert(key.clone(), converted);
            }
            Value::Object(map)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse;

    #[test]
    fn redacts_private_keys_only() {
        let json = parse(
            r#"{
                "private_key": "top",
                "a": {"Private_Key": "pem", "key": "kept"},
                "tls_context": {"key": "k", "enc_private_key": "e", "cert_chain": "c",
                                "nested": {"key": "k2"}},
                "tls_context_set": [{"key": "k3", "ca_cert": "ca"}]
            }"#,
        )
        .expect("valid");
        let value = redacted_value(&json);
        let expected = serde_json::json!({
            "private_key": REDACTED,
            "a": {"Private_Key": REDACTED, "key": "kept"},
            "tls_context": {"key": REDACTED, "enc_private_key": REDACTED, "cert_chain": "c",
                            "nested": {"key": REDACTED}},
            "tls_context_set": [{"key": REDACTED, "ca_cert": "ca"}]
        });
        assert_eq!(value, expected);
    }
}
