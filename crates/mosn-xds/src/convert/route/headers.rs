//! Header edits (`request_headers_to_add` and the three others) at route configuration,
//! virtual host and route level.
//!
//! Exact to Envoy: names lower-cased; pseudo-headers and `host` refused (Envoy refuses
//! them too); an empty value without `keep_empty_value` adds nothing; `%%` is a literal
//! `%`; within one level Envoy applies the appends before the overwrites, so the model's
//! list (applied in order) puts them first. Values with substitution commands
//! (`%DOWNSTREAM_REMOTE_ADDRESS%`) and the `ADD_IF_ABSENT` / `OVERWRITE_IF_EXISTS` actions
//! are refused: the model's values are literal and it has no such actions.

use super::super::{refuse_leftover, ConvertError, Result};
use envoy_types::pb::envoy::config::core::v3::header_value_option::HeaderAppendAction;
use envoy_types::pb::envoy::config::core::v3::{HeaderValue, HeaderValueOption};
use mosn_config::model::{HeaderEdits, HeaderToAdd};

/// One level's four lists, as Envoy's messages spell them.
pub(super) struct EditLists {
    /// `request_headers_to_add`.
    pub(super) request_add: Vec<HeaderValueOption>,
    /// `request_headers_to_remove`.
    pub(super) request_remove: Vec<String>,
    /// `response_headers_to_add`.
    pub(super) response_add: Vec<HeaderValueOption>,
    /// `response_headers_to_remove`.
    pub(super) response_remove: Vec<String>,
}

/// Takes the four lists out of a message that has them (so that what remains can be
/// checked for unhandled fields).
macro_rules! take_edits {
    ($m:expr) => {
        $crate::convert::route::headers::EditLists {
            request_add: std::mem::take(&mut $m.request_headers_to_add),
            request_remove: std::mem::take(&mut $m.request_headers_to_remove),
            response_add: std::mem::take(&mut $m.response_headers_to_add),
            response_remove: std::mem::take(&mut $m.response_headers_to_remove),
        }
    };
}
pub(super) use take_edits;

/// One level's edits in the model.
pub(super) fn edits(lists: EditLists) -> Result<HeaderEdits> {
    Ok(HeaderEdits {
        request_headers_to_add: to_add(lists.request_add, "request_headers_to_add")?,
        request_headers_to_remove: to_remove(lists.request_remove, "request_headers_to_remove")?,
        response_headers_to_add: to_add(lists.response_add, "response_headers_to_add")?,
        response_headers_to_remove: to_remove(lists.response_remove, "response_headers_to_remove")?,
    })
}

/// True when `edits` changes responses.
pub(super) fn edits_responses(edits: &HeaderEdits) -> bool {
    !edits.response_headers_to_add.is_empty() || !edits.response_headers_to_remove.is_empty()
}

fn to_add(options: Vec<HeaderValueOption>, field: &str) -> Result<Vec<HeaderToAdd>> {
    let mut added = Vec::with_capacity(options.len());
    for (i, option) in options.into_iter().enumerate() {
        if let Some(header) =
            header_to_add(option).map_err(|e| e.within(format!("{field}[{i}]")))?
        {
            added.push(header);
        }
    }
    // Envoy adds a level's appended values first, then sets its overwritten ones.
    added.sort_by_key(|h| !h.append);
    Ok(added)
}

fn to_remove(names: Vec<String>, field: &str) -> Result<Vec<String>> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| modifiable(name).map_err(|e| e.within(format!("{field}[{i}]"))))
        .collect()
}

/// One `HeaderValueOption`; `None` when Envoy would add nothing (an empty value without
/// `keep_empty_value`).
#[allow(deprecated)] // `append`: still sent by control planes, and honoured by Envoy.
fn header_to_add(mut o: HeaderValueOption) -> Result<Option<HeaderToAdd>> {
    let header = o
        .header
        .take()
        .ok_or_else(|| ConvertError::new("header", "is required"))?;
    let append = append(o.append.take().map(|b| b.value), o.append_action)?;
    o.append_action = 0;
    let keep_empty = std::mem::take(&mut o.keep_empty_value);
    refuse_leftover(&o, "")?;
    let (name, value) = name_and_value(header).map_err(|e| e.within("header"))?;
    Ok((keep_empty || !value.is_empty()).then_some(HeaderToAdd {
        name,
        value,
        append,
    }))
}

/// Whether the value is appended (else it replaces existing ones).
fn append(legacy: Option<bool>, action: i32) -> Result<bool> {
    match (legacy, HeaderAppendAction::try_from(action)) {
        (Some(_), Ok(a)) if a != HeaderAppendAction::AppendIfExistsOrAdd => Err(ConvertError::new(
            "append",
            "append and append_action must not both be set",
        )),
        (Some(append), _) => Ok(append),
        (None, Ok(HeaderAppendAction::AppendIfExistsOrAdd)) => Ok(true),
        (None, Ok(HeaderAppendAction::OverwriteIfExistsOrAdd)) => Ok(false),
        (None, Ok(other)) => Err(ConvertError::unsupported(
            "append_action",
            other.as_str_name(),
        )),
        (None, Err(_)) => Err(ConvertError::new(
            "append_action",
            format!("unknown append action {action}"),
        )),
    }
}

fn name_and_value(h: HeaderValue) -> Result<(String, String)> {
    let name = modifiable(&h.key).map_err(|e| e.within("key"))?;
    let raw = match (h.value.is_empty(), h.raw_value.is_empty()) {
        (_, true) => h.value,
        (true, false) => String::from_utf8(h.raw_value).map_err(|_| {
            ConvertError::unsupported("raw_value", "a header value that is not UTF-8")
        })?,
        (false, false) => {
            return Err(ConvertError::new(
                "raw_value",
                "value and raw_value must not both be set",
            ))
        }
    };
    let value = literal_value(&raw).map_err(|e| e.within("value"))?;
    Ok((name, value))
}

/// A header name that Envoy lets routes change, lower-cased.
fn modifiable(name: &str) -> Result<String> {
    if name.is_empty() {
        return Err(ConvertError::new("", "a header name must not be empty"));
    }
    if name.starts_with(':') || name.eq_ignore_ascii_case("host") {
        return Err(ConvertError::new(
            "",
            format!("{name} cannot be changed by header edits (Envoy refuses it too)"),
        ));
    }
    Ok(name.to_ascii_lowercase())
}

/// A value through Envoy's substitution formatter when it is a literal: `%%` stands for
/// `%`; any other `%` starts a command, which mosn cannot evaluate.
fn literal_value(raw: &str) -> Result<String> {
    let mut value = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('%') {
        value.push_str(&rest[..at]);
        let Some(after) = rest[at + 1..].strip_prefix('%') else {
            return Err(ConvertError::unsupported(
                "",
                format!("the substitution command in {raw:?} (only %% may appear)"),
            ));
        };
        value.push('%');
        rest = after;
    }
    value.push_str(rest);
    Ok(value)
}
