//! The names a server certificate answers for, and MOSN's SNI matching (exact, then
//! wildcards label by label: `a.b.c` tries `*.b.c`, then `*.c`).

use rustls::pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The subject CN and DNS SANs of `cert`, lower-case.
pub fn cert_names(cert: &CertificateDer<'_>) -> Vec<String> {
    let Ok((_, cert)) = X509Certificate::from_der(cert.as_ref()) else {
        return Vec::new();
    };
    let mut names: Vec<String> = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_ascii_lowercase))
        .collect();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        names.extend(san.value.general_names.iter().filter_map(|n| match n {
            GeneralName::DNSName(dns) => Some(dns.to_ascii_lowercase()),
            _ => None,
        }));
    }
    names
}

/// Whether `sni` is one of `names`, directly or through a wildcard entry.
pub fn sni_matches(names: &[String], sni: &str) -> bool {
    let sni = sni.trim_end_matches('.').to_ascii_lowercase();
    if names.contains(&sni) {
        return true;
    }
    let mut rest = sni.as_str();
    while let Some((_, tail)) = rest.split_once('.') {
        let wildcard = format!("*.{tail}");
        if names.contains(&wildcard) {
            return true;
        }
        rest = tail;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::sni_matches;

    #[test]
    fn exact_then_wildcards() {
        let names = vec!["a.example.com".to_owned(), "*.test.io".to_owned()];
        assert!(sni_matches(&names, "A.example.com."));
        assert!(sni_matches(&names, "x.y.test.io"));
        assert!(!sni_matches(&names, "b.example.com"));
    }
}
