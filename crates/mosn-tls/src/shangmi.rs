//! The ShangMi (RFC 8998) side of the crypto seam: a `tls_context` whose
//! `cipher_suites` name `TLS_SM4_GCM_SM3` or `TLS_SM4_CCM_SM3` is served by
//! `gm_crypto`'s provider (TLS 1.3 only, curveSM2, SM2 certificates), not by ring.
//! Session tickets are sealed by the listener's ring ticketer: only the server ever opens
//! them, so the protocol needs no SM algorithm for them.

use crate::config::{TlsContextConfig, TlsVersion};
use crate::keys::TlsError;
use gm_crypto::provider as sm;
use rustls::crypto::CryptoProvider;
use rustls::SupportedCipherSuite;

/// The `ecdh_curves` name of curveSM2 (lower-case, as the config model keeps curves).
pub const CURVE_SM2: &str = "curvesm2";

/// The canonical name of an RFC 8998 suite, if `upper` (upper-case) names one.
pub fn suite_name(upper: &str) -> Option<&'static str> {
    sm::ALL_CIPHER_SUITES
        .iter()
        .filter_map(|s| sm::suite_name(s.suite()))
        .find(|n| *n == upper)
}

/// The canonical name of a ShangMi curve, if `lower` (lower-case) names one.
pub fn curve_name(lower: &str) -> Option<&'static str> {
    matches!(lower, "curvesm2" | "sm2").then_some(CURVE_SM2)
}

/// Whether this context asks for the ShangMi suites.
pub fn selected(ctx: &TlsContextConfig) -> bool {
    ctx.cipher_suites.iter().any(|n| suite_name(n).is_some())
}

/// The RFC 8998 provider restricted to the context's suites, after checking the context
/// asks for nothing it cannot give.
pub fn provider(ctx: &TlsContextConfig) -> Result<CryptoProvider, TlsError> {
    let others: Vec<&str> = ctx
        .cipher_suites
        .iter()
        .map(String::as_str)
        .filter(|n| suite_name(n).is_none())
        .collect();
    if !others.is_empty() {
        return Err(TlsError::new(
            "cipher_suites",
            format!(
                "the ShangMi suites (TLS_SM4_GCM_SM3, TLS_SM4_CCM_SM3) cannot be mixed with {}",
                others.join(", ")
            ),
        ));
    }
    if let Some(other) = ctx.ecdh_curves.iter().find(|c| *c != CURVE_SM2) {
        return Err(TlsError::new(
            "ecdh_curves",
            format!("the ShangMi suites exchange keys on curvesm2 only, not {other}"),
        ));
    }
    if ctx.max_version == Some(TlsVersion::Tls12) {
        return Err(TlsError::new(
            "max_version",
            "the ShangMi suites are TLS 1.3 suites (TLCP is a protocol of its own)",
        ));
    }
    let mut provider = sm::provider();
    provider.cipher_suites.retain(|s| named(ctx, s));
    Ok(provider)
}

fn named(ctx: &TlsContextConfig, suite: &SupportedCipherSuite) -> bool {
    sm::suite_name(suite.suite()).is_some_and(|n| ctx.cipher_suites.iter().any(|c| c == n))
}
