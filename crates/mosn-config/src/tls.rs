//! TLS is not built yet: a TLS context that is switched on is refused, while the empty
//! `"tls_context": {}` (or `"status": false`) that many MOSN samples carry is accepted.

use crate::json::{Field, Obj};

/// The refusal message for TLS.
pub(crate) const TLS_REFUSED: &str = "TLS is not supported yet";

/// Checks `tls_context` (one context) and `tls_context_set` (a list) of `obj`, and the
/// cluster-level `cluster_manager_tls` switch.
pub(crate) fn refuse_tls(obj: &Obj<'_>) {
    if let Some(field) = obj.get("tls_context") {
        refuse_enabled(&field);
    }
    if let Some(set) = obj.get("tls_context_set") {
        for field in set.as_array().unwrap_or_default() {
            refuse_enabled(&field);
        }
    }
}

/// Refuses one TLS context if its `status` is true.
fn refuse_enabled(field: &Field<'_>) {
    let Some(context) = field.as_object() else {
        return;
    };
    // The other keys (certificates, ciphers...) only matter once TLS is on.
    context.tolerate_all();
    if context.bool("status") == Some(true) {
        field.error(TLS_REFUSED);
    }
}
