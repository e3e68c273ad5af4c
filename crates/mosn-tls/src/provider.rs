//! The one crypto seam: every rustls config of the process gets its algorithms, its
//! session-ticket keys and its supported names from here. Today it is rustls' `ring`
//! provider; the SM2/SM3/SM4 suites plug in by extending these functions, nothing else.

use crate::config::{TlsContextConfig, TlsVersion};
use rustls::crypto::{ring, CryptoProvider};
use rustls::server::ProducesTickets;
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};
use std::sync::Arc;

/// Cipher suites by every name a config may use (MOSN's Go-style names, OpenSSL's names,
/// IANA's names), all mapping to the IANA name.
const CIPHER_NAMES: &[(&str, &str)] = &[
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-WITH-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-RSA-WITH-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    ("AES256-GCM-SHA384", "TLS13_AES_256_GCM_SHA384"),
    ("AES128-GCM-SHA256", "TLS13_AES_128_GCM_SHA256"),
    ("TLS_AES_256_GCM_SHA384", "TLS13_AES_256_GCM_SHA384"),
    ("TLS_AES_128_GCM_SHA256", "TLS13_AES_128_GCM_SHA256"),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS13_CHACHA20_POLY1305_SHA256",
    ),
];

/// Key-exchange groups by MOSN's `ecdh_curves` names (lower-case).
const CURVE_NAMES: &[(&str, &str)] = &[
    ("x25519", "X25519"),
    ("p256", "secp256r1"),
    ("p384", "secp384r1"),
];

/// The canonical name of a configured cipher suite, or why it cannot be used.
pub fn cipher_suite_name(name: &str) -> Result<&'static str, String> {
    let upper = name.trim().to_ascii_uppercase();
    if let Some(&(_, iana)) = CIPHER_NAMES.iter().find(|(n, _)| *n == upper) {
        return Ok(iana);
    }
    let all = suites();
    if let Some(s) = all
        .iter()
        .find(|s| suite_name(s).eq_ignore_ascii_case(&upper))
    {
        return Ok(suite_name(s));
    }
    let why = if upper.contains("CBC") || upper.contains("3DES") || upper.starts_with("RSA-") {
        "CBC, 3DES and static-RSA suites are not offered (only AEAD suites with forward secrecy)"
    } else {
        "unknown cipher suite"
    };
    Err(format!("cipher suite {name:?} is not supported: {why}"))
}

/// The canonical (lower-case) name of a configured curve, or why it cannot be used.
pub fn curve_name(name: &str) -> Result<String, String> {
    let lower = name.trim().to_ascii_lowercase();
    if CURVE_NAMES.iter().any(|(n, _)| *n == lower) {
        Ok(lower)
    } else {
        Err(format!(
            "curve {name:?} is not supported, expected one of x25519, p256, p384"
        ))
    }
}

/// The rustls provider for one context: the base provider restricted to the context's
/// cipher suites and curves (names were checked by [`cipher_suite_name`]/[`curve_name`]).
pub fn provider_for(ctx: &TlsContextConfig) -> Arc<CryptoProvider> {
    let mut provider = base();
    if !ctx.cipher_suites.is_empty() {
        provider.cipher_suites.retain(|s| {
            ctx.cipher_suites
                .iter()
                .any(|n| n.eq_ignore_ascii_case(suite_name(s)))
        });
        // TLS 1.3 needs one of its own suites; keep them when only 1.2 suites were named.
        if !provider.cipher_suites.iter().any(|s| s.tls13().is_some()) {
            provider
                .cipher_suites
                .extend(suites().into_iter().filter(|s| s.tls13().is_some()));
        }
    }
    if !ctx.ecdh_curves.is_empty() {
        let wanted: Vec<&str> = ctx
            .ecdh_curves
            .iter()
            .filter_map(|c| CURVE_NAMES.iter().find(|(n, _)| n == c).map(|(_, g)| *g))
            .collect();
        provider.kx_groups = wanted
            .iter()
            .filter_map(|w| {
                ring::ALL_KX_GROUPS
                    .iter()
                    .find(|g| format!("{:?}", g.name()) == *w)
                    .copied()
            })
            .collect();
    }
    Arc::new(provider)
}

/// The protocol versions between `min_version` and `max_version`.
pub fn versions(ctx: &TlsContextConfig) -> Vec<&'static SupportedProtocolVersion> {
    let min = ctx.min_version.unwrap_or(TlsVersion::Tls12);
    let max = ctx.max_version.unwrap_or(TlsVersion::Tls13);
    [
        (TlsVersion::Tls13, &rustls::version::TLS13),
        (TlsVersion::Tls12, &rustls::version::TLS12),
    ]
    .into_iter()
    .filter(|(v, _)| (min..=max).contains(v))
    .map(|(_, v)| v)
    .collect()
}

/// Session-ticket keys for a listener context (rotated every 6 hours). One ticketer is
/// kept across certificate reloads so resumption survives a rotation.
pub fn ticketer() -> Result<Arc<dyn ProducesTickets>, rustls::Error> {
    ring::Ticketer::new()
}

/// The process's base provider, whose key loader and signature checks every context uses.
pub fn base() -> CryptoProvider {
    ring::default_provider()
}

fn suites() -> Vec<SupportedCipherSuite> {
    ring::ALL_CIPHER_SUITES.to_vec()
}

fn suite_name(s: &SupportedCipherSuite) -> &'static str {
    s.suite().as_str().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_provider_suites() {
        assert_eq!(
            cipher_suite_name("ECDHE-RSA-AES128-GCM-SHA256"),
            Ok("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        );
        assert_eq!(
            cipher_suite_name("tls_aes_128_gcm_sha256"),
            Ok("TLS13_AES_128_GCM_SHA256")
        );
        assert!(cipher_suite_name("RSA-AES128-CBC-SHA")
            .unwrap_err()
            .contains("CBC"));
        assert!(curve_name("P521").is_err());
        let ctx = TlsContextConfig {
            cipher_suites: vec!["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into()],
            ecdh_curves: vec!["p256".into()],
            ..Default::default()
        };
        let p = provider_for(&ctx);
        assert_eq!(p.kx_groups.len(), 1);
        assert!(p
            .cipher_suites
            .iter()
            .any(|s| suite_name(s) == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
        assert!(p.cipher_suites.iter().all(
            |s| s.tls13().is_some() || suite_name(s) == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        ));
    }
}
