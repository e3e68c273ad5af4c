//! `tls_context` and `tls_context_set` (MOSN's `v2.TLSConfig`) on filter chains and
//! clusters. A context with `status: false` (or the empty `{}` many samples carry) is off.
//! Names are checked against the crypto provider and the certificate files are loaded
//! here, so a missing file or a key that does not match its certificate is a config
//! error with its path, not a start-up failure.

use crate::json::{Field, Obj};
use crate::model::{PemSource, TlsContextConfig, TlsVersion};

/// Which end of a connection a context is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// A listener's filter chain: we are the TLS server.
    Listener,
    /// A cluster: we are the TLS client.
    Cluster,
}

/// The enabled contexts of `obj`'s `tls_context` or `tls_context_set` (exclusive, as in
/// MOSN); `None` if one is invalid.
pub(crate) fn parse_tls_contexts(obj: &Obj<'_>, side: Side) -> Option<Vec<TlsContextConfig>> {
    let single = obj.get("tls_context").map(|f| parse_tls_context(&f, side));
    let set: Vec<Option<Option<TlsContextConfig>>> = obj
        .items("tls_context_set")
        .iter()
        .map(|f| parse_tls_context(f, side))
        .collect();
    if side == Side::Cluster && !set.is_empty() {
        obj.key_error("tls_context_set", "a cluster takes one tls_context");
        return None;
    }
    let single = match single {
        None => None,
        Some(parsed) => parsed?,
    };
    let set: Vec<TlsContextConfig> = set
        .into_iter()
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    if single.is_some() && !set.is_empty() {
        obj.key_error(
            "tls_context_set",
            "tls_context and tls_context_set cannot both be set",
        );
        return None;
    }
    Some(single.into_iter().chain(set).collect())
}

/// One context: `Some(None)` when off, `None` when invalid.
fn parse_tls_context(field: &Field<'_>, side: Side) -> Option<Option<TlsContextConfig>> {
    let ctx = field.as_object()?;
    if ctx.bool("status") != Some(true) {
        // The other keys only matter once TLS is on.
        ctx.tolerate_all();
        return Some(None);
    }
    // MOSN's provider key: "tlcp" selects TLCP (GB/T 38636); no other type exists here.
    let tlcp = match ctx.non_empty_str_field("type") {
        None => false,
        Some((t, _)) if t.eq_ignore_ascii_case("tlcp") => true,
        Some((t, field)) => {
            field.error(format!(
                "unknown TLS type {t:?}: the only type is \"tlcp\" (GB/T 38636)"
            ));
            return None;
        }
    };
    let mut ok = true;
    let mut refuse = |key: &str, message: &str| {
        if ctx.is_set(key) {
            ctx.key_error(key, message);
            ok = false;
        }
    };
    if tlcp {
        for key in ["alpn", "min_version", "max_version", "ecdh_curves"] {
            refuse(key, "TLCP has no such setting (type is \"tlcp\")");
        }
    } else {
        for key in ["enc_cert_chain", "enc_private_key"] {
            refuse(key, "the encryption pair is for TLCP: set type to \"tlcp\"");
        }
    }
    refuse("sds_source", "SDS (sds_source) is not supported yet");
    refuse(
        "fall_back",
        "falling back to plaintext (fall_back) is not supported yet",
    );
    refuse("callbacks", "TLS callbacks are not supported yet");
    // `ticket` names MOSN's ticket key; mosn-rs always issues tickets with rotating keys.
    ctx.tolerate(&["ticket"]);
    let base_dir = ctx.diag().base_dir();
    let named = match ctx.non_empty_str_field("certificate") {
        None => None,
        Some((name, field)) => match ctx.diag().certificate(name) {
            Some(cert) => Some(cert),
            None => {
                field.error(format!(
                    "certificate {name:?} is not defined in certificates"
                ));
                return None;
            }
        },
    };
    if named.is_some() && (ctx.is_set("cert_chain") || ctx.is_set("private_key")) {
        ctx.key_error(
            "certificate",
            "give either certificate or cert_chain and private_key, not both",
        );
        return None;
    }
    let pem = |key: &str| {
        let from_name = named.as_ref().and_then(|n| match key {
            "cert_chain" => Some(n.cert_chain.as_str()),
            "private_key" => Some(n.private_key.as_str()),
            "ca_cert" => n.ca_cert.as_deref(),
            _ => None,
        });
        ctx.non_empty_str(key)
            .or(from_name)
            .map(|t| PemSource::from_config(t, base_dir))
    };
    let (verify_client, require_client_cert, insecure_skip) = match side {
        Side::Listener => {
            ctx.tolerate(&["insecure_skip"]);
            (
                ctx.bool("verify_client").unwrap_or(false),
                ctx.bool("require_client_cert").unwrap_or(false),
                false,
            )
        }
        Side::Cluster => {
            ctx.tolerate(&["verify_client", "require_client_cert"]);
            (false, false, ctx.bool("insecure_skip").unwrap_or(false))
        }
    };
    let cipher_suites = split_names(&ctx, "cipher_suites", ':', |n| {
        if tlcp {
            mosn_tls::tlcp_context::suite_name(n).map(str::to_owned)
        } else {
            mosn_tls::provider::cipher_suite_name(n).map(str::to_owned)
        }
    });
    let ecdh_curves = split_names(&ctx, "ecdh_curves", ',', mosn_tls::provider::curve_name);
    let min_version = version(&ctx, "min_version", true);
    let max_version = version(&ctx, "max_version", false);
    let alpn = ctx
        .non_empty_str("alpn")
        .map(|t| {
            t.split(',')
                .map(|p| p.trim().to_ascii_lowercase())
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let spiffe_ids = ctx
        .object("extend_verify")
        .map(|ev| {
            ev.strings("spiffe_ids")
                .into_iter()
                .map(|(_, s)| s.to_owned())
                .collect()
        })
        .unwrap_or_default();
    let config = TlsContextConfig {
        server_name: ctx.non_empty_str("server_name").map(str::to_owned),
        ca_cert: pem("ca_cert"),
        cert_chain: pem("cert_chain"),
        private_key: pem("private_key"),
        verify_client,
        require_client_cert,
        insecure_skip,
        cipher_suites: cipher_suites?,
        ecdh_curves: ecdh_curves?,
        min_version: min_version?,
        max_version: max_version?,
        alpn,
        spiffe_ids,
        tlcp,
        enc_cert_chain: pem("enc_cert_chain").filter(|_| tlcp),
        enc_private_key: pem("enc_private_key").filter(|_| tlcp),
    };
    if let (Some(min), Some(max)) = (config.min_version, config.max_version) {
        if min > max {
            ctx.key_error("min_version", "min_version is above max_version");
            return None;
        }
    }
    if !ok {
        return None;
    }
    let checked = match side {
        Side::Listener => mosn_tls::check_server_context(&config),
        Side::Cluster => mosn_tls::check_client_context(&config),
    };
    match checked {
        Ok(()) => Some(Some(config)),
        Err(e) => {
            ctx.key_error(e.key, e.message);
            None
        }
    }
}

/// A `sep`-separated list whose every name `check` accepts; `None` if one is refused.
fn split_names(
    ctx: &Obj<'_>,
    key: &str,
    sep: char,
    check: impl Fn(&str) -> Result<String, String>,
) -> Option<Vec<String>> {
    let Some((text, field)) = ctx.non_empty_str_field(key) else {
        return Some(Vec::new());
    };
    let mut names = Vec::new();
    let mut ok = true;
    for name in text.split(sep).map(str::trim).filter(|n| !n.is_empty()) {
        match check(name) {
            Ok(canonical) => names.push(canonical),
            Err(e) => {
                field.error(e);
                ok = false;
            }
        }
    }
    ok.then_some(names)
}

/// `min_version`/`max_version`: MOSN's `TLS_AUTO`, `TLSv1_0` ... `TLSv1_3`. rustls offers
/// TLS 1.2 and 1.3 only: a minimum below 1.2 is raised to it (with a warning), a maximum
/// below 1.2 is refused.
fn version(ctx: &Obj<'_>, key: &str, is_min: bool) -> Option<Option<TlsVersion>> {
    let Some((text, field)) = ctx.non_empty_str_field(key) else {
        return Some(None);
    };
    match text.to_ascii_lowercase().as_str() {
        "tls_auto" => Some(None),
        "tlsv1_2" => Some(Some(TlsVersion::Tls12)),
        "tlsv1_3" => Some(Some(TlsVersion::Tls13)),
        "tlsv1_0" | "tlsv1_1" if is_min => {
            field.warn("TLS 1.0 and 1.1 are not offered; the minimum is TLS 1.2");
            Some(None)
        }
        "tlsv1_0" | "tlsv1_1" => {
            field.error(format!(
                "{text:?} is not supported: TLS 1.0 and 1.1 are not offered"
            ));
            None
        }
        _ => {
            field.error(format!(
                "unknown TLS version {text:?}, expected TLS_AUTO, TLSv1_2 or TLSv1_3"
            ));
            None
        }
    }
}
