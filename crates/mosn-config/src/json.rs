//! Typed, path-tracking access to the JSON tree with Go's `encoding/json` rules:
//! keys match case-insensitively, the last of several matching keys wins, `null` leaves a
//! field unset, and keys nobody asked for are reported as unknown.
//!
//! One deliberate simplification: when the same object key appears twice with object
//! values, Go merges the second object into the first; here the last one simply wins.

use std::cell::Cell;
use std::time::Duration;

use crate::duration::parse_duration;
use crate::error::Diag;
use crate::tree::{fold_key, Json, Number};

/// `path.key`, or just `key` at the root.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Unsigned integer types a JSON number can be read into.
pub(crate) trait UInt: Sized {
    /// The largest value, for range errors.
    const MAX: u64;
    /// Converts a value already checked against `MAX`.
    fn from_u64(v: u64) -> Option<Self>;
}

macro_rules! impl_uint {
    ($($t:ty),*) => {$(
        impl UInt for $t {
            const MAX: u64 = <$t>::MAX as u64;
            fn from_u64(v: u64) -> Option<Self> {
                <$t>::try_from(v).ok()
            }
        }
    )*};
}
impl_uint!(u8, u16, u32, u64, usize);

/// One JSON value together with its path, able to report errors about itself.
#[derive(Clone)]
pub(crate) struct Field<'a> {
    /// The value (never `null` when found by key: a `null` member counts as absent).
    pub(crate) value: &'a Json,
    /// Its JSON path.
    pub(crate) path: String,
    diag: &'a Diag,
}

impl<'a> Field<'a> {
    /// The document root.
    pub(crate) fn root(value: &'a Json, diag: &'a Diag) -> Self {
        Field {
            value,
            path: String::new(),
            diag,
        }
    }

    /// Records an error about this value.
    pub(crate) fn error(&self, message: impl Into<String>) {
        self.diag.error(&self.path, message);
    }

    /// Records a warning about this value.
    pub(crate) fn warn(&self, message: impl Into<String>) {
        self.diag.warn(&self.path, message);
    }

    fn type_error(&self, expected: &str) {
        self.error(format!("expected {expected}, got {}", self.value.kind()));
    }

    /// A string value.
    pub(crate) fn as_str(&self) -> Option<&'a str> {
        match self.value {
            Json::String(s) => Some(s),
            _ => {
                self.type_error("a string");
                None
            }
        }
    }

    /// The string value, or `None` without an error when it is of another type.
    pub(crate) fn as_str_quiet(&self) -> Option<&'a str> {
        match self.value {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// A boolean value.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self.value {
            Json::Bool(b) => Some(*b),
            _ => {
                self.type_error("a boolean");
                None
            }
        }
    }

    /// An integer literal in `0..=T::MAX` (Go refuses `1.0`, `1e3` and strings for
    /// integer fields, and so does this).
    pub(crate) fn as_uint<T: UInt>(&self) -> Option<T> {
        let parsed = match self.value {
            Json::Number(Number::Unsigned(n)) if *n <= T::MAX => T::from_u64(*n),
            _ => None,
        };
        if parsed.is_none() {
            let got = match self.value {
                Json::Number(n) => n.to_string(),
                other => other.kind().to_owned(),
            };
            self.error(format!(
                "expected an integer between 0 and {}, got {got}",
                T::MAX
            ));
        }
        parsed
    }

    /// A Go duration string such as `"30s"`. MOSN's `DurationConfig` takes strings; a
    /// bare number is refused (MOSN happens to accept a literal `0`, nothing else).
    pub(crate) fn as_duration(&self) -> Option<Duration> {
        match self.value {
            Json::String(s) => parse_duration(s).map_err(|e| self.error(e)).ok(),
            _ => {
                self.type_error(r#"a duration string such as "30s""#);
                None
            }
        }
    }

    /// A string naming one of `choices` (ASCII case-insensitively if `ignore_case`);
    /// any other string is reported with the message `otherwise(value)`.
    pub(crate) fn one_of<T: Copy>(
        &self,
        choices: &[(&str, T)],
        ignore_case: bool,
        otherwise: impl FnOnce(&str) -> String,
    ) -> Option<T> {
        let text = self.as_str()?;
        let found = choices.iter().find(|(name, _)| {
            if ignore_case {
                name.eq_ignore_ascii_case(text)
            } else {
                *name == text
            }
        });
        if found.is_none() {
            self.error(otherwise(text));
        }
        found.map(|&(_, value)| value)
    }

    /// An object, as a case-insensitive view.
    pub(crate) fn as_object(&self) -> Option<Obj<'a>> {
        match self.value {
            Json::Object(members) => Some(Obj::new(members, self.path.clone(), self.diag)),
            _ => {
                self.type_error("an object");
                None
            }
        }
    }

    /// The elements of an array, each with its `path[i]`.
    pub(crate) fn as_array(&self) -> Option<Vec<Field<'a>>> {
        match self.value {
            Json::Array(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, value)| Field {
                        value,
                        path: format!("{}[{i}]", self.path),
                        diag: self.diag,
                    })
                    .collect(),
            ),
            _ => {
                self.type_error("an array");
                None
            }
        }
    }
}

/// A case-insensitive view of one JSON object. Every lookup marks the keys it matched;
/// when the view is dropped, keys never looked up are reported as unknown (a warning).
pub(crate) struct Obj<'a> {
    members: &'a [(String, Json)],
    folded: Vec<String>,
    used: Vec<Cell<bool>>,
    path: String,
    diag: &'a Diag,
}

impl<'a> Obj<'a> {
    fn new(members: &'a [(String, Json)], path: String, diag: &'a Diag) -> Self {
        Obj {
            members,
            folded: members.iter().map(|(k, _)| fold_key(k)).collect(),
            used: members.iter().map(|_| Cell::new(false)).collect(),
            path,
            diag,
        }
    }

    /// The path of `key` inside this object.
    pub(crate) fn key_path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Records an error about this object as a whole.
    pub(crate) fn error(&self, message: impl Into<String>) {
        self.diag.error(&self.path, message);
    }

    /// Records an error about `key` (present or not).
    pub(crate) fn key_error(&self, key: &str, message: impl Into<String>) {
        self.diag.error(&self.key_path(key), message);
    }

    /// Records a warning about `key` (present or not).
    pub(crate) fn key_warn(&self, key: &str, message: impl Into<String>) {
        self.diag.warn(&self.key_path(key), message);
    }

    /// The shared diagnostics sink.
    pub(crate) fn diag(&self) -> &'a Diag {
        self.diag
    }

    /// The value of `key` (lower-case, as MOSN spells it), matched case-insensitively; the
    /// last matching member wins. `None` if absent or `null`.
    pub(crate) fn get(&self, key: &str) -> Option<Field<'a>> {
        let folded = fold_key(key);
        let mut found = None;
        for (i, (_, value)) in self.members.iter().enumerate() {
            if self.folded[i] == folded {
                self.used[i].set(true);
                found = Some(value);
            }
        }
        match found {
            None | Some(Json::Null) => None,
            Some(value) => Some(Field {
                value,
                path: self.key_path(key),
                diag: self.diag,
            }),
        }
    }

    /// Whether `key` is present with a value other than Go's empty ones
    /// (`null`, `false`, `0`, `""`, `[]`, `{}`).
    pub(crate) fn is_set(&self, key: &str) -> bool {
        self.get(key).is_some_and(|f| !f.value.is_empty_like())
    }

    /// A string field.
    pub(crate) fn str(&self, key: &str) -> Option<&'a str> {
        self.get(key)?.as_str()
    }

    /// A string field that must be present and non-empty.
    pub(crate) fn required_str(&self, key: &str) -> Option<&'a str> {
        self.required_str_field(key).map(|(text, _)| text)
    }

    /// Like [`Obj::required_str`], with the field for messages about the value.
    pub(crate) fn required_str_field(&self, key: &str) -> Option<(&'a str, Field<'a>)> {
        let Some(field) = self.get(key) else {
            self.key_error(key, "required key is missing");
            return None;
        };
        match field.as_str()? {
            "" => {
                field.error("must not be empty");
                None
            }
            text => Some((text, field)),
        }
    }

    /// A boolean field.
    pub(crate) fn bool(&self, key: &str) -> Option<bool> {
        self.get(key)?.as_bool()
    }

    /// An unsigned integer field.
    pub(crate) fn uint<T: UInt>(&self, key: &str) -> Option<T> {
        self.get(key)?.as_uint()
    }

    /// A duration field.
    pub(crate) fn duration(&self, key: &str) -> Option<Duration> {
        self.get(key)?.as_duration()
    }

    /// A duration field where MOSN gives `0` a meaning mosn-rs has not built
    /// (`zero_means`, e.g. "never close idle connections"); a zero is refused.
    pub(crate) fn nonzero_duration(&self, key: &str, zero_means: &str) -> Option<Duration> {
        let field = self.get(key)?;
        let duration = field.as_duration()?;
        if duration.is_zero() {
            field.error(format!("0 ({zero_means}) is not supported yet"));
            return None;
        }
        Some(duration)
    }

    /// A nested object.
    pub(crate) fn object(&self, key: &str) -> Option<Obj<'a>> {
        self.get(key)?.as_object()
    }

    /// A nested object that must be present.
    pub(crate) fn required_object(&self, key: &str) -> Option<Obj<'a>> {
        match self.get(key) {
            None => {
                self.key_error(key, "required key is missing");
                None
            }
            Some(field) => field.as_object(),
        }
    }

    /// A string field where `""` counts as unset, as in Go.
    pub(crate) fn non_empty_str(&self, key: &str) -> Option<&'a str> {
        self.non_empty_str_field(key).map(|(text, _)| text)
    }

    /// Like [`Obj::non_empty_str`], with the field for messages about the value.
    pub(crate) fn non_empty_str_field(&self, key: &str) -> Option<(&'a str, Field<'a>)> {
        let field = self.get(key)?;
        let text = field.as_str().filter(|text| !text.is_empty())?;
        Some((text, field))
    }

    /// The elements of an array field; empty if absent (or not an array, which is reported).
    pub(crate) fn items(&self, key: &str) -> Vec<Field<'a>> {
        self.get(key).and_then(|f| f.as_array()).unwrap_or_default()
    }

    /// The strings of an array-of-strings field, each with its path.
    pub(crate) fn strings(&self, key: &str) -> Vec<(Field<'a>, &'a str)> {
        self.items(key)
            .into_iter()
            .filter_map(|f| f.as_str().map(|s| (f, s)))
            .collect()
    }

    /// Marks keys MOSN knows whose value cannot change what mosn-rs does (log
    /// settings, performance hints), so they are accepted silently.
    pub(crate) fn tolerate(&self, keys: &[&str]) {
        for key in keys {
            self.get(key);
        }
    }

    /// Every member as (key as written, value), all marked used: for maps whose keys are
    /// data (metadata labels), not config keys.
    pub(crate) fn entries(&self) -> Vec<(&'a str, Field<'a>)> {
        self.tolerate_all();
        self.members
            .iter()
            .filter(|(_, v)| !matches!(v, Json::Null))
            .map(|(k, v)| {
                (
                    k.as_str(),
                    Field {
                        value: v,
                        path: self.key_path(k),
                        diag: self.diag,
                    },
                )
            })
            .collect()
    }

    /// Accepts every key of this object without looking at it: for opaque maps (plugin
    /// configs, metadata) and for sections whose contents do not matter once one
    /// switch has been checked.
    pub(crate) fn tolerate_all(&self) {
        for used in &self.used {
            used.set(true);
        }
    }

    /// Accepts `key` but warns, when it is set, that `what` is not built and is ignored.
    /// For features whose absence does not change how traffic is proxied.
    pub(crate) fn ignore(&self, key: &str, what: &str) {
        if self.is_set(key) {
            self.key_warn(key, format!("{what} not supported yet, ignored"));
        }
    }

    /// Refuses `key` when it is set: `message` names the feature that is not built yet.
    /// For features that would change how traffic is proxied if silently ignored.
    pub(crate) fn refuse(&self, key: &str, message: &str) {
        if self.is_set(key) {
            self.key_error(key, message);
        }
    }
}

impl Drop for Obj<'_> {
    fn drop(&mut self) {
        for (i, (key, _)) in self.members.iter().enumerate() {
            if !self.used[i].get() {
                self.diag
                    .warn(&join(&self.path, key), "unknown key, ignored");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse;

    fn with_obj(text: &str, f: impl FnOnce(&Obj<'_>)) -> (Vec<String>, Vec<String>) {
        let json = parse(text).expect("valid JSON");
        let diag = Diag::default();
        {
            let root = Field::root(&json, &diag);
            let obj = root.as_object().expect("an object");
            f(&obj);
        }
        let (errors, warnings) = diag.into_parts();
        (
            errors.iter().map(ToString::to_string).collect(),
            warnings.iter().map(ToString::to_string).collect(),
        )
    }

    #[test]
    fn keys_match_case_insensitively_and_last_wins() {
        let (errors, warnings) = with_obj(r#"{"Name": "a", "NAME": "b", "name": "c"}"#, |o| {
            assert_eq!(o.str("name"), Some("c"));
        });
        assert!(errors.is_empty() && warnings.is_empty());
        with_obj(r#"{"name": "a", "Name": "b"}"#, |o| {
            assert_eq!(o.str("name"), Some("b"));
        });
        with_obj(r#"{"name": "a", "Name": null}"#, |o| {
            assert_eq!(o.str("name"), None);
        });
    }

    #[test]
    fn unknown_keys_warn_on_drop() {
        let (errors, warnings) = with_obj(r#"{"name": "a", "Nmae": "b"}"#, |o| {
            o.str("name");
        });
        assert!(errors.is_empty());
        assert_eq!(warnings, ["Nmae: unknown key, ignored"]);
    }

    #[test]
    fn type_errors_name_the_path() {
        let (errors, _) = with_obj(
            r#"{"a": 1, "b": "x", "c": -1, "d": 1.0, "e": 70000, "f": 5, "g": {}, "h": 1}"#,
            |o| {
                assert_eq!(o.str("a"), None);
                assert_eq!(o.bool("b"), None);
                assert_eq!(o.uint::<u32>("c"), None);
                assert_eq!(o.uint::<u32>("d"), None);
                assert_eq!(o.uint::<u16>("e"), None);
                assert_eq!(o.duration("f"), None);
                assert!(o.items("g").is_empty());
                assert!(o.object("h").is_none());
            },
        );
        assert_eq!(
            errors,
            [
                "a: expected a string, got a number",
                "b: expected a boolean, got a string",
                "c: expected an integer between 0 and 4294967295, got -1",
                "d: expected an integer between 0 and 4294967295, got 1.0",
                "e: expected an integer between 0 and 65535, got 70000",
                r#"f: expected a duration string such as "30s", got a number"#,
                "g: expected an array, got an object",
                "h: expected an object, got a number",
            ]
        );
    }

    #[test]
    fn required_ignore_refuse() {
        let (errors, warnings) = with_obj(
            r#"{"e": "", "t": {"enable": true}, "z": {}, "r": [1]}"#,
            |o| {
                assert_eq!(o.required_str("missing"), None);
                assert_eq!(o.required_str("e"), None);
                o.ignore("t", "tracing is");
                o.refuse("z", "z is not supported yet");
                o.refuse("r", "r is not supported yet");
            },
        );
        assert_eq!(
            errors,
            [
                "missing: required key is missing",
                "e: must not be empty",
                "r: r is not supported yet"
            ]
        );
        assert_eq!(warnings, ["t: tracing is not supported yet, ignored"]);
    }
}
