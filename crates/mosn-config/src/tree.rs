//! The parsed JSON document, kept exactly as written: object members stay in document
//! order and duplicate keys are all kept, so Go's "last key wins, case-insensitively"
//! rule can be applied on lookup.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON number as serde_json reported it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    /// A non-negative integer literal that fits in `u64`.
    Unsigned(u64),
    /// A negative integer literal that fits in `i64`.
    Signed(i64),
    /// Anything else: a fraction, an exponent, or an integer too large for 64 bits.
    Float(f64),
}

/// One JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object: every member in document order, duplicates included.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// What kind of value this is, for "expected X, got Y" messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    /// Go's `omitempty` notion of "not set": null, false, 0, "", [] and {}.
    pub(crate) fn is_empty_like(&self) -> bool {
        match self {
            Json::Null => true,
            Json::Bool(b) => !b,
            Json::Number(Number::Unsigned(n)) => *n == 0,
            Json::Number(Number::Signed(n)) => *n == 0,
            Json::Number(Number::Float(f)) => *f == 0.0,
            Json::String(s) => s.is_empty(),
            Json::Array(a) => a.is_empty(),
            Json::Object(o) => o.is_empty(),
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Unsigned(n) => write!(f, "{n}"),
            Number::Signed(n) => write!(f, "{n}"),
            Number::Float(x) => write!(f, "{x:?}"),
        }
    }
}

/// Folds a key the way Go's `encoding/json` compares field names: ASCII case-insensitively,
/// plus the two non-ASCII runes whose fold set contains an ASCII letter (`ſ` ~ `s`,
/// Kelvin sign ~ `k`). Other non-ASCII runes are lower-cased, which is close enough for
/// the only place they matter: detecting that two unknown keys are duplicates.
pub(crate) fn fold_key(key: &str) -> String {
    key.chars()
        .flat_map(|c| match c {
            '\u{017F}' => 's'.to_lowercase(),
            '\u{212A}' => 'k'.to_lowercase(),
            c => c.to_lowercase(),
        })
        .collect()
}

/// Parses JSON text. The error is serde_json's (it carries line and column).
pub(crate) fn parse(text: &str) -> Result<Json, serde_json::Error> {
    serde_json::from_str(text)
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(Number::Unsigned(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(if v >= 0 {
            Number::Unsigned(v.unsigned_abs())
        } else {
            Number::Signed(v)
        }))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Number(Number::Float(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Json>()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            members.push((key, value));
        }
        Ok(Json::Object(members))
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_duplicates_in_order() {
        let json = parse(r#"{"a": 1, "A": 2, "a": 3}"#).expect("valid");
        let Json::Object(members) = json else {
            panic!("not an object")
        };
        let keys: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "A", "a"]);
        assert_eq!(members[2].1, Json::Number(Number::Unsigned(3)));
    }

    #[test]
    fn numbers_keep_their_kind() {
        assert_eq!(
            parse("-3").expect("valid"),
            Json::Number(Number::Signed(-3))
        );
        assert_eq!(
            parse("1.0").expect("valid"),
            Json::Number(Number::Float(1.0))
        );
        assert_eq!(
            parse("18446744073709551616").expect("valid"),
            Json::Number(Number::Float(18446744073709551616.0))
        );
    }

    #[test]
    fn folds_like_go() {
        assert_eq!(fold_key("Name"), "name");
        assert_eq!(fold_key("NAME"), fold_key("name"));
        assert_eq!(fold_key("\u{017F}tatus"), "status");
        assert_eq!(fold_key("\u{212A}ey"), "key");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "[".repeat(10_000);
        assert!(parse(&text).is_err());
    }
}
