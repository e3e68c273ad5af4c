//! Header additions and removals (`request_headers_to_add` and friends), found at router,
//! virtual host and route level.

use crate::json::{Field, Obj};
use crate::model::{HeaderEdits, HeaderToAdd};

/// Parses the four header-edit keys of `obj`. `request_headers_to_remove` is Envoy's
/// key; MOSN knows it at every level too.
pub(crate) fn parse_header_edits(obj: &Obj<'_>) -> HeaderEdits {
    HeaderEdits {
        request_headers_to_add: headers_to_add(obj, "request_headers_to_add"),
        request_headers_to_remove: headers_to_remove(obj, "request_headers_to_remove"),
        response_headers_to_add: headers_to_add(obj, "response_headers_to_add"),
        response_headers_to_remove: headers_to_remove(obj, "response_headers_to_remove"),
    }
}

fn headers_to_add(obj: &Obj<'_>, key: &str) -> Vec<HeaderToAdd> {
    obj.items(key).iter().filter_map(header_to_add).collect()
}

fn headers_to_remove(obj: &Obj<'_>, key: &str) -> Vec<String> {
    obj.strings(key)
        .into_iter()
        .filter_map(|(field, name)| header_name(&field, name))
        .collect()
}

/// One `{"header": {"key": K, "value": V}, "append": bool}`.
fn header_to_add(field: &Field<'_>) -> Option<HeaderToAdd> {
    let obj = field.as_object()?;
    // MOSN and Envoy both append unless told otherwise.
    let append = obj.bool("append").unwrap_or(true);
    let Some(header) = obj.object("header") else {
        if obj.get("header").is_none() {
            obj.key_error("header", "required key is missing");
        }
        return None;
    };
    let name = header
        .required_str_field("key")
        .and_then(|(name, field)| header_name(&field, name));
    let value = header.str("value").unwrap_or("");
    let value_ok = header_value_ok(&header, value);
    Some(HeaderToAdd {
        name: name?,
        value: value_ok.then(|| value.to_owned())?,
        append,
    })
}

/// A header name: an HTTP token, lower-cased.
fn header_name(field: &Field<'_>, name: &str) -> Option<String> {
    let is_tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(is_tchar) {
        field.error(format!("invalid header name {name:?}"));
        return None;
    }
    Some(name.to_ascii_lowercase())
}

/// Checks a header value: no line breaks or NUL (they would split the header), and no
/// MOSN `%variable%` (its value would be computed per request, which is not built).
fn header_value_ok(header: &Obj<'_>, value: &str) -> bool {
    let message = if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        format!("invalid header value {value:?}")
    } else if value.len() > 2 && value.starts_with('%') && value.ends_with('%') {
        format!("header value variable {value:?} is not supported yet")
    } else {
        return true;
    };
    header.key_error("value", message);
    false
}
