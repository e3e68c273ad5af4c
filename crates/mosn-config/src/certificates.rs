//! The top-level `certificates[]` (a mosn-rs key): certificate/key pairs by name, which
//! `tls_context.certificate` references instead of repeating file paths. A named pair is
//! watched like any other certificate file: replacing its files swaps it at runtime for
//! every listener and cluster that references it, without dropping connections.

use crate::json::Obj;
use std::collections::HashMap;

/// One entry of `certificates[]`, its sources as written (paths or inline PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamedCertificate {
    /// `cert_chain`.
    pub(crate) cert_chain: String,
    /// `private_key`.
    pub(crate) private_key: String,
    /// `ca_cert`: roots for verifying peers, used when the context names none itself.
    pub(crate) ca_cert: Option<String>,
}

/// Parses `certificates[]{name, cert_chain, private_key, ca_cert}`; names are unique.
pub(crate) fn parse_certificates(root: &Obj<'_>) -> HashMap<String, NamedCertificate> {
    let mut named = HashMap::new();
    for item in root.items("certificates") {
        let Some(obj) = item.as_object() else {
            continue;
        };
        let name = obj.required_str_field("name");
        let cert_chain = obj.required_str("cert_chain");
        let private_key = obj.required_str("private_key");
        let ca_cert = obj.non_empty_str("ca_cert").map(str::to_owned);
        let (Some((name, name_field)), Some(cert_chain), Some(private_key)) =
            (name, cert_chain, private_key)
        else {
            continue;
        };
        let entry = NamedCertificate {
            cert_chain: cert_chain.to_owned(),
            private_key: private_key.to_owned(),
            ca_cert,
        };
        if named.insert(name.to_owned(), entry).is_some() {
            name_field.error(format!("certificate {name:?} is defined twice"));
        }
    }
    named
}
