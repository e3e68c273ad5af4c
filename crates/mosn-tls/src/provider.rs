//! The one crypto seam: every rustls config of the process gets its algorithms, its
//! session-ticket keys and its supported names from here. It is rustls' `ring` provider,
//! except for contexts that name the ShangMi TLS 1.3 suites, which get `gm_crypto`'s
//! RFC 8998 provider (see [`crate::shangmi`]).

use crate::config::{TlsContextConfig, TlsVersion};
use crate::keys::TlsError;
use crate::shangmi;
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
    if let Some(sm) = shangmi::suite_name(&upper) {
        return Ok(sm);
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
    } else if let Some(sm) = shangmi::curve_name(&lower) {
        Ok(sm.to_owned())
    } else {
        Err(format!(
            "curve {name:?} is not supported, expected one of x25519, p256, p384, curvesm2"
        ))
    }
}

/// The rustls provider for one context: the base provider (or the ShangMi one) restricted
/// to the context's cipher suites and curves (names were checked by
/// [`cipher_suite_name`]/[`curve_name`]); an error names the key whose combination of
/// names no provider serves.
pub fn provider_for(ctx: &TlsContextConfig) -> Result<Arc<CryptoProvider>, TlsError> {
    if shangmi::selected(ctx) {
        return shangmi::provider(ctx).map(Arc::new);
    }
    if ctx.ecdh_curves.iter().any(|c| c == shangmi::CURVE_SM2) {
        return Err(TlsError::new(
            "ecdh_curves",
            "curvesm2 needs cipher_suites TLS_SM4_GCM_SM3 or TLS_SM4_CCM_SM3",
        ));
    }
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
    Ok(Arc::new(provider))
}

/// The protocol versions between `min_version` and `max_version` (TLS 1.3 alone for the
/// ShangMi suites).
pub fn versions(ctx: &TlsContextConfig) -> Vec<&'static SupportedProtocolVersion> {
    let min = if shangmi::selected(ctx) {
        TlsVersion::Tls13
    } else {
        ctx.min_version.unwrap_or(TlsVersion::Tls12)
    };
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
        let p = provider_for(&ctx).unwrap();
        assert_eq!(p.kx_groups.len(), 1);
        assert!(p
            .cipher_suites
            .iter()
            .any(|s| suite_name(s) == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
        assert!(p.cipher_suites.iter().all(
            |s| s.tls13().is_some() || suite_name(s) == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        ));
    }

    #[test]
    fn shangmi_suites_select_the_sm_provider() {
        assert_eq!(cipher_suite_name("tls_sm4_gcm_sm3"), Ok("TLS_SM4_GCM_SM3"));
        assert_eq!(curve_name("SM2"), Ok("curvesm2".to_owned()));
        let ctx = TlsContextConfig {
            cipher_suites: vec!["TLS_SM4_CCM_SM3".into()],
            ecdh_curves: vec!["curvesm2".into()],
            ..Default::default()
        };
        let p = provider_for(&ctx).unwrap();
        assert_eq!(p.cipher_suites.len(), 1);
        assert_eq!(
            p.cipher_suites[0].suite(),
            gm_crypto::provider::TLS_SM4_CCM_SM3_ID
        );
        assert_eq!(versions(&ctx), vec![&rustls::version::TLS13]);
        let key_of = |ctx: TlsContextConfig| provider_for(&ctx).unwrap_err().key;
        let mixed = TlsContextConfig {
            cipher_suites: vec!["TLS_SM4_GCM_SM3".into(), "TLS13_AES_128_GCM_SHA256".into()],
            ..Default::default()
        };
        assert_eq!(key_of(mixed), "cipher_suites");
        let x25519 = TlsContextConfig {
            ecdh_curves: vec!["x25519".into()],
            ..ctx.clone()
        };
        assert_eq!(key_of(x25519), "ecdh_curves");
        let tls12 = TlsContextConfig {
            max_version: Some(TlsVersion::Tls12),
            ..ctx.clone()
        };
        assert_eq!(key_of(tls12), "max_version");
        let sm2_without_suites = TlsContextConfig {
            ecdh_curves: vec!["curvesm2".into()],
            ..Default::default()
        };
        assert_eq!(key_of(sm2_without_suites), "ecdh_curves");
    }
}
