//! The catch-all of the conversion policy: after a converter has taken every field it
//! handles out of a message, whatever is still set is a field mosn does not implement,
//! and the resource is refused naming it. New Envoy fields are refused the same way,
//! without anyone listing them.

use super::{ConvertError, Result};
use prost::{Message, Name};

/// Refuses `rest` (a message whose handled fields were cleared) when any field is still
/// set, naming the first one (proto3 JSON shows only set fields) under `path`.
pub(crate) fn refuse_leftover<T: Message + Name>(rest: &T, path: &str) -> Result<()> {
    // Nothing set encodes to nothing: the common case needs no descriptor pool.
    if rest.encoded_len() == 0 {
        return Ok(());
    }
    let json = crate::proto::to_json(rest);
    let Some(first) = json.as_object().and_then(|o| o.keys().next()) else {
        return Ok(());
    };
    let field = if path.is_empty() {
        first.clone()
    } else {
        format!("{path}.{first}")
    };
    Err(ConvertError::unsupported(
        field,
        format!("{}.{first}", T::NAME),
    ))
}
