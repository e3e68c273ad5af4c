//! Envoy's resources → mosn's model, one resource at a time.
//!
//! Every field either converts exactly, or — only where it changes what is observed
//! (stats, logs, traces), never traffic — is accepted as a counted no-op
//! ([`Context::ignore`], listed in the config dump), or refuses the resource with a
//! [`ConvertError`] naming the field by its path, which becomes the NACK's detail.
//! Nothing silently changes behaviour.

pub mod cluster;
pub mod endpoint;
mod leftover;
pub mod listener;
pub mod route;
pub mod tls;

use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::Secret;
use envoy_types::pb::google::protobuf::Any;
pub(crate) use leftover::refuse_leftover;
use prost::{Message, Name};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A field mosn cannot honour, and where it is. `path` uses the resource's own field
/// names (`filter_chains[0].filters[1].typed_config.http_filters[2]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError {
    /// Where, from the resource's root; empty for the resource as a whole.
    pub path: String,
    /// Why.
    pub reason: String,
}

impl ConvertError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// A field set to something mosn does not implement.
    pub fn unsupported(path: impl Into<String>, what: impl std::fmt::Display) -> Self {
        Self::new(path, format!("{what} is not supported by mosn"))
    }

    /// The same error seen from an enclosing message: `prefix` is prepended to the path
    /// (`within("filter_chains[0]")` turns `filters[1]` into `filter_chains[0].filters[1]`).
    pub fn within(mut self, prefix: impl std::fmt::Display) -> Self {
        self.path = if self.path.is_empty() {
            prefix.to_string()
        } else if self.path.starts_with('[') {
            format!("{prefix}{}", self.path)
        } else {
            format!("{prefix}.{}", self.path)
        };
        self
    }
}

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

/// The result of converting one resource or part of one.
pub type Result<T> = std::result::Result<T, ConvertError>;

/// What converting one resource needs from the others, and what it reports besides the
/// result.
#[derive(Debug, Default)]
pub struct Context<'a> {
    /// Secrets received over SDS (or static in the bootstrap), by name.
    pub secrets: Option<&'a HashMap<String, Secret>>,
    /// Fields accepted as no-ops (they change only observability), by feature name, with
    /// how often they were seen: the `xds_ignored` counters and the config dump's list.
    pub ignored: BTreeMap<&'static str, u64>,
    /// SDS secret names the resource uses: a change of one re-converts the resource.
    pub secret_refs: BTreeSet<String>,
    /// SDS secrets the resource uses that have not arrived: the resource warms until they do.
    pub missing_secrets: BTreeSet<String>,
}

impl<'a> Context<'a> {
    /// A context that resolves SDS names from `secrets`.
    pub fn with_secrets(secrets: &'a HashMap<String, Secret>) -> Self {
        Self {
            secrets: Some(secrets),
            ..Self::default()
        }
    }

    /// Counts `feature` as accepted without effect.
    pub fn ignore(&mut self, feature: &'static str) {
        *self.ignored.entry(feature).or_default() += 1;
    }

    /// The secret named `name`, recording the reference (and, when it has not arrived,
    /// that the resource must wait for it).
    pub fn secret(&mut self, name: &str) -> Option<&'a Secret> {
        self.secret_refs.insert(name.to_owned());
        let found = self.secrets.and_then(|s| s.get(name));
        if found.is_none() {
            self.missing_secrets.insert(name.to_owned());
        }
        found
    }
}

/// The `type_url` of `T` as Envoy writes it.
pub fn type_url<T: Name>() -> String {
    T::type_url()
}

/// Decodes a `typed_config` as `T`: an `Any` of `T`'s type, or a `TypedStruct`
/// (`udpa.type.v1` or `xds.type.v3`) whose `type_url` is `T`'s, its value read through
/// the proto3 JSON mapping. `path` names the field in errors.
pub fn unpack<T: Message + Name + Default>(any: &Any, path: &str) -> Result<T> {
    let want = T::type_url();
    if any.type_url == want {
        return T::decode(any.value.as_slice())
            .map_err(|e| ConvertError::new(path, format!("cannot decode {want}: {e}")));
    }
    if let Some(typed) = typed_struct(any) {
        let (type_url, value) = typed.map_err(|e| e.within(path))?;
        if type_url == want {
            return crate::proto::from_json(&value, false)
                .map_err(|e| ConvertError::new(path, format!("TypedStruct {want}: {e}")));
        }
        return Err(ConvertError::new(
            path,
            format!("expected {want}, got a TypedStruct of {type_url}"),
        ));
    }
    Err(ConvertError::new(
        path,
        format!("expected {want}, got {}", any.type_url),
    ))
}

/// The type a `typed_config` carries: its `type_url`, or a `TypedStruct`'s inner one.
pub fn config_type(any: &Any) -> String {
    match typed_struct(any) {
        Some(Ok((type_url, _))) => type_url,
        _ => any.type_url.clone(),
    }
}

/// The two `TypedStruct` messages Envoy accepts in place of a typed config.
const TYPED_STRUCTS: [&str; 2] = ["udpa.type.v1.TypedStruct", "xds.type.v3.TypedStruct"];

/// `udpa.type.v1.TypedStruct` and `xds.type.v3.TypedStruct` (the same two fields):
/// `envoy-types` generates neither, so the wire form is declared here.
#[derive(Clone, PartialEq, Message)]
struct TypedStruct {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(message, optional, tag = "2")]
    value: Option<envoy_types::pb::google::protobuf::Struct>,
}

/// A `TypedStruct` unwrapped into its inner `type_url` and its value as JSON.
fn typed_struct(any: &Any) -> Option<Result<(String, serde_json::Value)>> {
    let name = any.type_url.strip_prefix("type.googleapis.com/")?;
    if !TYPED_STRUCTS.contains(&name) {
        return None;
    }
    Some(
        TypedStruct::decode(any.value.as_slice())
            .map_err(|e| ConvertError::new("", format!("cannot decode {name}: {e}")))
            .map(|typed| {
                let value = typed.value.map_or_else(
                    || serde_json::Value::Object(Default::default()),
                    |v| crate::proto::to_json(&v),
                );
                (typed.type_url, value)
            }),
    )
}

/// Splits the encoded message `bytes` into the encodings of its repeated message field
/// `tag` and the rest of the message (still a valid encoding of it without that field),
/// so a large repeated field can be decoded one element at a time.
pub(crate) fn split_repeated(
    bytes: &[u8],
    tag: u32,
) -> std::result::Result<(Vec<u8>, Vec<&[u8]>), String> {
    use prost::encoding::{decode_key, decode_varint, skip_field, DecodeContext, WireType};
    let mut rest = Vec::with_capacity(bytes.len().min(4096));
    let mut items = Vec::new();
    let mut buf = bytes;
    while !buf.is_empty() {
        let field_start = buf;
        let (field, wire_type) = decode_key(&mut buf).map_err(|e| e.to_string())?;
        if field == tag && wire_type == WireType::LengthDelimited {
            let len = decode_varint(&mut buf).map_err(|e| e.to_string())?;
            let len = usize::try_from(len)
                .ok()
                .filter(|len| *len <= buf.len())
                .ok_or("a field is longer than the message")?;
            items.push(&buf[..len]);
            buf = &buf[len..];
        } else {
            skip_field(wire_type, field, &mut buf, DecodeContext::default())
                .map_err(|e| e.to_string())?;
            let used = field_start.len() - buf.len();
            rest.extend_from_slice(&field_start[..used]);
        }
    }
    Ok((rest, items))
}

/// A `google.protobuf.Duration` as a `std` one; negative durations are refused at `path`.
pub fn duration(
    d: &envoy_types::pb::google::protobuf::Duration,
    path: &str,
) -> Result<std::time::Duration> {
    if d.seconds < 0 || d.nanos < 0 {
        return Err(ConvertError::new(path, "must not be negative"));
    }
    Ok(std::time::Duration::new(d.seconds as u64, d.nanos as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;

    fn typed_struct(wrapper: &str, inner: &str, value: serde_json::Value) -> Any {
        let value = crate::proto::from_json(&value, false).expect("a Struct");
        Any {
            type_url: format!("type.googleapis.com/{wrapper}"),
            value: TypedStruct {
                type_url: inner.to_owned(),
                value: Some(value),
            }
            .encode_to_vec(),
        }
    }

    #[test]
    fn split_repeated_separates_one_field_and_keeps_the_rest_decodable() {
        use envoy_types::pb::envoy::config::route::v3::{RouteConfiguration, VirtualHost};
        let config = RouteConfiguration {
            name: "r".into(),
            virtual_hosts: vec![
                VirtualHost {
                    name: "a".into(),
                    ..Default::default()
                },
                VirtualHost {
                    name: "b".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let bytes = config.encode_to_vec();
        let (rest, hosts) = split_repeated(&bytes, 2).expect("splits");
        let names: Vec<String> = hosts
            .iter()
            .map(|h| VirtualHost::decode(*h).expect("a host").name)
            .collect();
        assert_eq!(names, ["a", "b"]);
        let outer = RouteConfiguration::decode(rest.as_slice()).expect("the rest decodes");
        assert_eq!(outer.name, "r");
        assert!(outer.virtual_hosts.is_empty());
        assert!(
            split_repeated(&bytes[..bytes.len() - 1], 2).is_err(),
            "truncated"
        );
    }

    #[test]
    fn typed_struct_unpacks_as_its_inner_type_from_either_package() {
        for wrapper in TYPED_STRUCTS {
            let any = typed_struct(
                wrapper,
                &Router::type_url(),
                serde_json::json!({"suppress_envoy_headers": true}),
            );
            assert_eq!(config_type(&any), Router::type_url());
            let router: Router = unpack(&any, "typed_config").expect("unpacks");
            assert!(router.suppress_envoy_headers);
        }
    }

    #[test]
    fn typed_struct_of_another_type_is_refused_naming_both() {
        let any = typed_struct(
            TYPED_STRUCTS[1],
            "type.googleapis.com/istio.x",
            serde_json::json!({}),
        );
        let error = unpack::<Router>(&any, "typed_config").unwrap_err();
        assert_eq!(error.path, "typed_config");
        assert!(error.reason.contains("istio.x"), "{error}");
    }
}
