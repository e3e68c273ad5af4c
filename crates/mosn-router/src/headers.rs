//! Header additions and removals, compiled once from config and applied per request.

use http::{HeaderMap, HeaderName, HeaderValue};
use mosn_config::{HeaderEdits, HeaderToAdd};

/// One direction's edits (request or response), ready to apply without parsing.
#[derive(Debug, Default, Clone)]
pub struct CompiledEdits {
    add: Vec<(HeaderName, HeaderValue, bool)>,
    remove: Vec<HeaderName>,
}

/// Request and response edits of one level (router, virtual host or route).
#[derive(Debug, Default, Clone)]
pub struct LevelEdits {
    /// Edits applied to the request before it goes upstream.
    pub request: CompiledEdits,
    /// Edits applied to the response before it goes downstream.
    pub response: CompiledEdits,
}

impl LevelEdits {
    /// Whether neither direction edits anything.
    pub fn is_empty(&self) -> bool {
        self.request.is_empty() && self.response.is_empty()
    }

    /// Compiles the config's edits, naming the first header that is not a valid HTTP header.
    pub fn compile(edits: &HeaderEdits) -> Result<Self, String> {
        Ok(Self {
            request: CompiledEdits::compile(
                &edits.request_headers_to_add,
                &edits.request_headers_to_remove,
            )?,
            response: CompiledEdits::compile(
                &edits.response_headers_to_add,
                &edits.response_headers_to_remove,
            )?,
        })
    }
}

impl CompiledEdits {
    /// No edits.
    pub const NONE: Self = Self {
        add: Vec::new(),
        remove: Vec::new(),
    };

    fn compile(add: &[HeaderToAdd], remove: &[String]) -> Result<Self, String> {
        let name = |n: &str| {
            HeaderName::from_bytes(n.as_bytes()).map_err(|_| format!("invalid header name {n:?}"))
        };
        let add = add
            .iter()
            .map(|h| {
                let value = HeaderValue::from_str(&h.value)
                    .map_err(|_| format!("invalid value for header {:?}", h.name))?;
                Ok((name(&h.name)?, value, h.append))
            })
            .collect::<Result<_, String>>()?;
        let remove = remove.iter().map(|n| name(n)).collect::<Result<_, _>>()?;
        Ok(Self { add, remove })
    }

    fn apply(&self, headers: &mut HeaderMap) {
        for name in &self.remove {
            headers.remove(name);
        }
        for (name, value, append) in &self.add {
            if *append {
                headers.append(name.clone(), value.clone());
            } else {
                headers.insert(name.clone(), value.clone());
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// Applies edits from the most specific level to the least (route, virtual host, router),
/// as Envoy does, so a route's `append: false` value is what a client finally sees unless
/// a wider level overrides it on purpose.
pub fn apply_header_edits<'a>(
    levels: impl IntoIterator<Item = &'a CompiledEdits>,
    headers: &mut HeaderMap,
) {
    for edits in levels {
        if !edits.is_empty() {
            edits.apply(headers);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(name: &str, value: &str, append: bool) -> HeaderToAdd {
        HeaderToAdd {
            name: name.into(),
            value: value.into(),
            append,
        }
    }

    #[test]
    fn adds_appends_replaces_and_removes() {
        let edits = LevelEdits::compile(&HeaderEdits {
            request_headers_to_add: vec![add("x-a", "1", true), add("x-b", "2", false)],
            request_headers_to_remove: vec!["x-gone".into()],
            ..Default::default()
        })
        .unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-a", HeaderValue::from_static("0"));
        h.insert("x-b", HeaderValue::from_static("0"));
        h.insert("x-gone", HeaderValue::from_static("0"));
        apply_header_edits([&edits.request], &mut h);
        assert_eq!(h.get_all("x-a").iter().count(), 2);
        assert_eq!(h.get("x-b").unwrap(), "2");
        assert!(h.get("x-gone").is_none());
    }

    #[test]
    fn invalid_names_are_reported() {
        let err = LevelEdits::compile(&HeaderEdits {
            response_headers_to_remove: vec!["bad name".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.contains("bad name"));
    }
}
