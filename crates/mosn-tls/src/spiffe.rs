//! Peer identities: the URI SANs of a verified certificate (SPIFFE IDs such as
//! `spiffe://cluster.local/ns/default/sa/web`) and the allowed-list check.

use rustls::pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The URI SANs of a certificate, in order.
pub fn uri_sans(cert: &CertificateDer<'_>) -> Vec<String> {
    let Ok((_, cert)) = X509Certificate::from_der(cert.as_ref()) else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::URI(uri) => Some((*uri).to_owned()),
            _ => None,
        })
        .collect()
}

/// The identity to expose for a peer: its first `spiffe://` URI SAN, else its first URI.
pub fn peer_identity(cert: &CertificateDer<'_>) -> Option<String> {
    let uris = uri_sans(cert);
    uris.iter()
        .find(|u| u.starts_with("spiffe://"))
        .or(uris.first())
        .cloned()
}

/// Whether one of `uris` is allowed by `allowed`: an entry matches exactly, or as a
/// prefix when it ends in `*` (the `*` dropped) or `/`.
pub fn allowed(uris: &[String], allowed: &[String]) -> bool {
    allowed.is_empty()
        || uris.iter().any(|uri| {
            allowed.iter().any(|a| match a.strip_suffix('*') {
                Some(prefix) => uri.starts_with(prefix),
                None if a.ends_with('/') => uri.starts_with(a.as_str()),
                None => uri == a,
            })
        })
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn allowed_list_matches_exactly_or_by_prefix() {
        let web = vec!["spiffe://cluster.local/ns/default/sa/web".to_owned()];
        assert!(allowed(&web, &[]));
        assert!(allowed(&web, &web));
        assert!(allowed(
            &web,
            &["spiffe://cluster.local/ns/default/*".to_owned()]
        ));
        assert!(allowed(
            &web,
            &["spiffe://cluster.local/ns/default/".to_owned()]
        ));
        assert!(!allowed(
            &web,
            &["spiffe://cluster.local/ns/default/sa/we".to_owned()]
        ));
        assert!(!allowed(&[], &web));
    }
}
