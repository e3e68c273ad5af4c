//! `transport_socket`s (`DownstreamTlsContext`, `UpstreamTlsContext`, raw buffer) and SDS
//! `Secret`s → [`TlsContextConfig`].
//!
//! Envoy's defaults are written out, since the model's differ: TLS 1.2 minimum on both
//! sides, TLS 1.2 maximum upstream (1.3 downstream), curves X25519 and P-256. An explicit
//! `cipher_suites` list restricts only TLS 1.2 in Envoy, so the three TLS 1.3 suites are
//! added to it. An upstream context without a trusted CA does not verify the server (Envoy
//! does not either: `insecure_skip`); with one, Envoy checks the chain and the subject alt
//! names but never the server's name, which the model expresses only together with SAN
//! matchers (`spiffe_ids`), so a trusted CA without them is refused.
//!
//! One deviation is kept and documented rather than refused, or no Istio or default
//! context would convert: mosn (rustls) offers only ECDHE suites with AES-GCM or
//! ChaCha20-Poly1305 for TLS 1.2, while Envoy's *default* lists and Istio's own
//! `cipher_suites` also have static-RSA suites (`AES256-GCM-SHA384`, `AES128-GCM-SHA256`,
//! no forward secrecy) and CBC ones. An explicit list that has at least one suite mosn
//! offers converts to those, and each other suite of Envoy's default lists in it is
//! dropped, counted (`tls.cipher_suites.unsupported`) and logged at info by name; a list
//! with none that mosn offers is refused naming `cipher_suites`, and a name outside
//! Envoy's default lists is refused by its index. No peer that can talk to Envoy with
//! these lists is refused for this in practice: every peer that offers the legacy suites
//! also offers ECDHE ones (Envoy's and Istio's own lists lead with ECDHE), and TLS 1.3,
//! which Istio's mTLS uses, does not read the list at all.
//!
//! SDS: a secret that has not arrived is recorded by [`Context::secret`] in
//! `missing_secrets` and leaves its part of the context empty, without an error: the
//! result is then incomplete and must not be applied — the resource warms (Envoy's
//! behaviour) and is converted again when the secret arrives. Only complete contexts are
//! checked by building them (certificates that do not parse are refused then).

use super::{config_type, refuse_leftover, unpack, Context, ConvertError, Result};
use envoy_types::pb::envoy::config::core::v3::data_source::Specifier;
use envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType;
use envoy_types::pb::envoy::config::core::v3::{DataSource, TransportSocket};
use envoy_types::pb::envoy::extensions::transport_sockets::raw_buffer::v3::RawBuffer;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::common_tls_context::ValidationContextType;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::subject_alt_name_matcher::SanType;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::tls_parameters::TlsProtocol;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    secret, CertificateValidationContext, CommonTlsContext, DownstreamTlsContext, SdsSecretConfig,
    TlsCertificate, TlsParameters, UpstreamTlsContext,
};
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
use envoy_types::pb::envoy::r#type::matcher::v3::StringMatcher;
use mosn_config::model::{PemSource, TlsContextConfig, TlsVersion};
use prost::{Message, Name};

/// The transport socket names Envoy knows as plaintext when no `typed_config` is given.
const RAW_BUFFER_NAMES: [&str; 2] = ["envoy.transport_sockets.raw_buffer", "raw_buffer"];

/// The TLS 1.2 suites mosn offers, by Envoy's (OpenSSL's) names.
const TLS12_SUITES: [&str; 6] = [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
];

/// The suites of Envoy's default TLS 1.2 lists that mosn does not offer: CBC and
/// static-RSA key exchange. Named in a list, they are dropped and counted.
const LEGACY_TLS12_SUITES: [&str; 8] = [
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "AES128-GCM-SHA256",
    "AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES256-SHA",
    "AES256-GCM-SHA384",
    "AES256-SHA",
];

/// The TLS 1.3 suites, which Envoy (BoringSSL) always enables.
const TLS13_SUITES: [&str; 3] = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// Envoy's curve names → the model's.
const CURVES: [(&str, &str); 3] = [("X25519", "x25519"), ("P-256", "p256"), ("P-384", "p384")];

/// Envoy's default `ecdh_curves`.
const DEFAULT_CURVES: [&str; 2] = ["x25519", "p256"];

/// Which end of a connection a context serves: Envoy's defaults and fields differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// A listener's filter chain: mosn is the TLS server.
    Downstream,
    /// A cluster: mosn is the TLS client.
    Upstream,
}

/// A listener filter chain's `transport_socket`: `None` for plaintext. The result is
/// incomplete while `ctx.missing_secrets` is not empty (see the module docs).
pub fn downstream(
    socket: &TransportSocket,
    ctx: &mut Context<'_>,
) -> Result<Option<TlsContextConfig>> {
    let Some(any) = tls_config(socket, &DownstreamTlsContext::type_url())? else {
        return Ok(None);
    };
    let tls: DownstreamTlsContext = unpack(any, "typed_config")?;
    downstream_context(tls, ctx)
        .map(Some)
        .map_err(|e| e.within("typed_config"))
}

/// A cluster's `transport_socket`: `None` for plaintext. The result is incomplete while
/// `ctx.missing_secrets` is not empty (see the module docs).
pub fn upstream(
    socket: &TransportSocket,
    ctx: &mut Context<'_>,
) -> Result<Option<TlsContextConfig>> {
    let Some(any) = tls_config(socket, &UpstreamTlsContext::type_url())? else {
        return Ok(None);
    };
    let tls: UpstreamTlsContext = unpack(any, "typed_config")?;
    upstream_context(tls, ctx)
        .map(Some)
        .map_err(|e| e.within("typed_config"))
}

/// The socket's TLS config of type `want`, `None` for raw buffer; any other transport
/// socket is refused.
fn tls_config<'s>(
    socket: &'s TransportSocket,
    want: &str,
) -> Result<Option<&'s envoy_types::pb::google::protobuf::Any>> {
    let Some(ConfigType::TypedConfig(any)) = &socket.config_type else {
        if RAW_BUFFER_NAMES.contains(&socket.name.as_str()) {
            return Ok(None);
        }
        return Err(ConvertError::unsupported(
            "name",
            format!("transport socket {:?} without typed_config", socket.name),
        ));
    };
    let found = config_type(any);
    if found == RawBuffer::type_url() {
        return Ok(None);
    }
    if found != want {
        return Err(ConvertError::unsupported(
            "typed_config",
            format!("transport socket {found} here (expected {want} or RawBuffer)"),
        ));
    }
    Ok(Some(any))
}

/// A `DownstreamTlsContext`: the server side of a filter chain.
fn downstream_context(
    mut d: DownstreamTlsContext,
    ctx: &mut Context<'_>,
) -> Result<TlsContextConfig> {
    let common = d.common_tls_context.take().unwrap_or_default();
    let require = d.require_client_certificate.take().is_some_and(|b| b.value);
    if d.require_sni.take().is_some_and(|b| b.value) {
        return Err(ConvertError::unsupported(
            "require_sni",
            "refusing handshakes without SNI",
        ));
    }
    refuse_leftover(&d, "")?;
    let missing_before = ctx.missing_secrets.len();
    let (mut config, validation) = common_context(common, Side::Downstream, ctx)
        .map_err(|e| e.within("common_tls_context"))?;
    config.verify_client = validation.verifies;
    config.require_client_cert = require;
    if require && !config.verify_client {
        return Err(ConvertError::unsupported(
            "require_client_certificate",
            "requiring a client certificate without a trusted CA to verify it",
        ));
    }
    check(
        &config,
        Side::Downstream,
        ctx.missing_secrets.len() > missing_before,
    )?;
    Ok(config)
}

/// An `UpstreamTlsContext`: the client side of a cluster's connections.
fn upstream_context(mut u: UpstreamTlsContext, ctx: &mut Context<'_>) -> Result<TlsContextConfig> {
    let common = u.common_tls_context.take().unwrap_or_default();
    let sni = std::mem::take(&mut u.sni);
    refuse_leftover(&u, "")?;
    let missing_before = ctx.missing_secrets.len();
    let (mut config, validation) =
        common_context(common, Side::Upstream, ctx).map_err(|e| e.within("common_tls_context"))?;
    config.server_name = (!sni.is_empty()).then_some(sni);
    config.insecure_skip = !validation.verifies;
    if validation.verifies && config.spiffe_ids.is_empty() {
        return Err(ConvertError::new(
            format!("common_tls_context.{}", validation.field),
            "a trusted CA without match_subject_alt_names (Envoy checks the chain only) is \
             not supported by mosn, which then also checks the server's name",
        ));
    }
    check(
        &config,
        Side::Upstream,
        ctx.missing_secrets.len() > missing_before,
    )?;
    Ok(config)
}

/// Builds a complete context as the runtime will, so a certificate or key that does not
/// load refuses the resource now; an incomplete one (a secret missing) waits.
fn check(config: &TlsContextConfig, side: Side, incomplete: bool) -> Result<()> {
    if incomplete {
        return Ok(());
    }
    let built = match side {
        Side::Downstream => mosn_tls::check_server_context(config),
        Side::Upstream => mosn_tls::check_client_context(config),
    };
    built.map_err(|e| {
        ConvertError::new(
            "common_tls_context",
            format!("the TLS context does not build: {}: {}", e.key, e.message),
        )
    })
}

/// What a validation context amounts to.
#[derive(Debug, Default)]
struct Validation {
    /// The field it came from (`validation_context`, ...), for errors.
    field: &'static str,
    /// A trusted CA is set, or comes from an SDS secret not yet arrived.
    verifies: bool,
}

/// A `CommonTlsContext`: everything but the side's own fields.
fn common_context(
    mut c: CommonTlsContext,
    side: Side,
    ctx: &mut Context<'_>,
) -> Result<(TlsContextConfig, Validation)> {
    let mut config = TlsContextConfig::default();
    let params = c.tls_params.take().unwrap_or_default();
    tls_params(params, side, &mut config, ctx).map_err(|e| e.within("tls_params"))?;
    let certificates = std::mem::take(&mut c.tls_certificates);
    let sds_certificates = std::mem::take(&mut c.tls_certificate_sds_secret_configs);
    if let Some((chain, key)) = one_certificate(certificates, sds_certificates, ctx)? {
        config.cert_chain = Some(chain);
        config.private_key = Some(key);
    }
    config.alpn = std::mem::take(&mut c.alpn_protocols);
    let validation = match c.validation_context_type.take() {
        None => Validation::default(),
        Some(v) => validation_context(v, &mut config, ctx)?,
    };
    refuse_leftover(&c, "")?;
    Ok((config, validation))
}

/// `tls_params`, Envoy's defaults applied.
fn tls_params(
    mut p: TlsParameters,
    side: Side,
    config: &mut TlsContextConfig,
    ctx: &mut Context<'_>,
) -> Result<()> {
    let min = version(p.tls_minimum_protocol_version, TlsVersion::Tls12)
        .map_err(|e| e.within("tls_minimum_protocol_version"))?;
    let default_max = match side {
        Side::Downstream => TlsVersion::Tls13,
        Side::Upstream => TlsVersion::Tls12,
    };
    let max = version(p.tls_maximum_protocol_version, default_max)
        .map_err(|e| e.within("tls_maximum_protocol_version"))?;
    if min > max {
        return Err(ConvertError::new(
            "tls_minimum_protocol_version",
            "is above tls_maximum_protocol_version",
        ));
    }
    config.min_version = Some(min);
    config.max_version = Some(max);
    config.cipher_suites = cipher_suites(&std::mem::take(&mut p.cipher_suites), ctx)?;
    config.ecdh_curves = curves(&std::mem::take(&mut p.ecdh_curves))?;
    p.tls_minimum_protocol_version = 0;
    p.tls_maximum_protocol_version = 0;
    refuse_leftover(&p, "")
}

/// One `TlsProtocol`; `TLS_AUTO` is `default`.
fn version(value: i32, default: TlsVersion) -> Result<TlsVersion> {
    match TlsProtocol::try_from(value) {
        Ok(TlsProtocol::TlsAuto) => Ok(default),
        Ok(TlsProtocol::TlSv12) => Ok(TlsVersion::Tls12),
        Ok(TlsProtocol::TlSv13) => Ok(TlsVersion::Tls13),
        Ok(old) => Err(ConvertError::unsupported(
            "",
            format!("{} (mosn speaks TLS 1.2 and 1.3 only)", old.as_str_name()),
        )),
        Err(_) => Err(ConvertError::new(
            "",
            format!("unknown TLS version {value}"),
        )),
    }
}

/// `cipher_suites`: empty keeps mosn's defaults (Envoy's default client list, and its
/// server list without the legacy suites); a list keeps the suites mosn offers, drops
/// (and counts) Envoy's legacy ones, and gets the TLS 1.3 suites added.
fn cipher_suites(names: &[String], ctx: &mut Context<'_>) -> Result<Vec<String>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(names.len() + TLS13_SUITES.len());
    for (i, name) in names.iter().enumerate() {
        if TLS12_SUITES.contains(&name.as_str()) {
            out.push(canonical_suite(name)?);
        } else if LEGACY_TLS12_SUITES.contains(&name.as_str()) {
            ctx.ignore("tls.cipher_suites.unsupported");
            tracing::info!(suite = %name, "cipher suite not offered by mosn (CBC or static RSA): left out");
        } else {
            return Err(ConvertError::unsupported(
                format!("cipher_suites[{i}]"),
                format!(
                    "cipher suite {name:?} (mosn offers only ECDHE suites with AES-GCM or \
                     ChaCha20-Poly1305, without equal-preference groups)"
                ),
            ));
        }
    }
    if out.is_empty() {
        return Err(ConvertError::unsupported(
            "cipher_suites",
            "a list without any suite mosn offers (ECDHE with AES-GCM or ChaCha20-Poly1305)",
        ));
    }
    for name in TLS13_SUITES {
        out.push(canonical_suite(name)?);
    }
    Ok(out)
}

/// The model's name of a suite mosn offers.
fn canonical_suite(name: &str) -> Result<String> {
    mosn_tls::provider::cipher_suite_name(name)
        .map(str::to_owned)
        .map_err(|e| ConvertError::new("cipher_suites", e))
}

/// `ecdh_curves`, Envoy's default (X25519, P-256) when empty.
fn curves(names: &[String]) -> Result<Vec<String>> {
    if names.is_empty() {
        return Ok(DEFAULT_CURVES.map(str::to_owned).to_vec());
    }
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            CURVES
                .iter()
                .find(|(envoy, _)| envoy == name)
                .map(|(_, model)| (*model).to_owned())
                .ok_or_else(|| {
                    ConvertError::unsupported(
                        format!("ecdh_curves[{i}]"),
                        format!("curve {name:?}"),
                    )
                })
        })
        .collect()
}

/// The context's one certificate, inline or by SDS; `None` when there is none or its
/// secret has not arrived. mosn has one certificate per context (Envoy picks among several
/// by SNI and key type).
fn one_certificate(
    inline: Vec<TlsCertificate>,
    sds: Vec<SdsSecretConfig>,
    ctx: &mut Context<'_>,
) -> Result<Option<(PemSource, PemSource)>> {
    if inline.len() + sds.len() > 1 {
        let path = if sds.is_empty() {
            "tls_certificates[1]".to_owned()
        } else {
            format!("tls_certificate_sds_secret_configs[{}]", sds.len() - 1)
        };
        return Err(ConvertError::unsupported(
            path,
            "more than one certificate per context",
        ));
    }
    if let Some(cert) = inline.into_iter().next() {
        return certificate(cert)
            .map(Some)
            .map_err(|e| e.within("tls_certificates[0]"));
    }
    let Some(config) = sds.into_iter().next() else {
        return Ok(None);
    };
    let path = "tls_certificate_sds_secret_configs[0]";
    let Some(found) = ctx.secret(&config.name) else {
        return Ok(None);
    };
    match &found.r#type {
        Some(secret::Type::TlsCertificate(cert)) => certificate(cert.clone())
            .map(Some)
            .map_err(|e| in_secret(e, path, &config.name)),
        _ => Err(not_a(path, &config.name, "tls_certificate")),
    }
}

/// An error inside SDS secret `name`, reported at the field that names the secret.
fn in_secret(e: ConvertError, path: &str, name: &str) -> ConvertError {
    ConvertError::new(path, format!("SDS secret {name:?}: {e}"))
}

/// The error for a secret of the wrong kind.
fn not_a(path: &str, name: &str, kind: &str) -> ConvertError {
    ConvertError::new(path, format!("SDS secret {name:?} has no {kind}"))
}

/// A `TlsCertificate`: the chain and its key, nothing else.
fn certificate(mut cert: TlsCertificate) -> Result<(PemSource, PemSource)> {
    let chain = cert
        .certificate_chain
        .take()
        .ok_or_else(|| ConvertError::new("certificate_chain", "is required"))?;
    let key = cert
        .private_key
        .take()
        .ok_or_else(|| ConvertError::new("private_key", "is required"))?;
    refuse_leftover(&cert, "")?;
    Ok((
        pem(chain).map_err(|e| e.within("certificate_chain"))?,
        pem(key).map_err(|e| e.within("private_key"))?,
    ))
}

/// A `DataSource` of PEM text.
fn pem(source: DataSource) -> Result<PemSource> {
    if source.watched_directory.is_some() {
        return Err(ConvertError::unsupported(
            "watched_directory",
            "watched_directory",
        ));
    }
    match source.specifier {
        Some(Specifier::Filename(path)) => Ok(PemSource::File(path.into())),
        Some(Specifier::InlineString(text)) => Ok(PemSource::inline(&text)),
        Some(Specifier::InlineBytes(bytes)) => String::from_utf8(bytes)
            .map(|text| PemSource::inline(&text))
            .map_err(|_| ConvertError::new("inline_bytes", "is not PEM text (not UTF-8)")),
        Some(Specifier::EnvironmentVariable(_)) => Err(ConvertError::unsupported(
            "environment_variable",
            "PEM from an environment variable",
        )),
        None => Err(ConvertError::new("", "no data source set")),
    }
}

/// The validation context: trusted CA into `ca_cert`, SAN matchers into `spiffe_ids`.
fn validation_context(
    v: ValidationContextType,
    config: &mut TlsContextConfig,
    ctx: &mut Context<'_>,
) -> Result<Validation> {
    match v {
        ValidationContextType::ValidationContext(cvc) => {
            let field = "validation_context";
            apply_validation(cvc, false, config).map_err(|e| e.within(field))?;
            Ok(Validation::new(field, config, false))
        }
        ValidationContextType::ValidationContextSdsSecretConfig(sds) => {
            let field = "validation_context_sds_secret_config";
            let pending = match sds_validation(&sds, ctx).map_err(|e| e.within(field))? {
                Some(cvc) => {
                    apply_validation(cvc, false, config)
                        .map_err(|e| in_secret(e, field, &sds.name))?;
                    false
                }
                None => true,
            };
            Ok(Validation::new(field, config, pending))
        }
        ValidationContextType::CombinedValidationContext(mut combined) => {
            let field = "combined_validation_context";
            let mut merged = combined
                .default_validation_context
                .take()
                .unwrap_or_default();
            let sds = combined
                .validation_context_sds_secret_config
                .take()
                .ok_or_else(|| {
                    ConvertError::new(
                        format!("{field}.validation_context_sds_secret_config"),
                        "is required",
                    )
                })?;
            refuse_leftover(&combined, field)?;
            let path = format!("{field}.validation_context_sds_secret_config");
            let dynamic = sds_validation(&sds, ctx).map_err(|e| e.within(&path))?;
            let pending = dynamic.is_none();
            if let Some(dynamic) = dynamic {
                // Envoy's rule: the SDS context is merged into the default one
                // (protobuf MergeFrom).
                merged
                    .merge(dynamic.encode_to_vec().as_slice())
                    .map_err(|e| ConvertError::new(path.as_str(), e.to_string()))?;
            }
            apply_validation(merged, pending, config).map_err(|e| e.within(field))?;
            Ok(Validation::new(field, config, pending))
        }
        _ => Err(ConvertError::unsupported(
            "",
            "certificate providers for the validation context",
        )),
    }
}

impl Validation {
    /// The validation from `field`: it verifies when a CA is set or still to come.
    fn new(field: &'static str, config: &TlsContextConfig, pending: bool) -> Self {
        Self {
            field,
            verifies: pending || config.ca_cert.is_some(),
        }
    }
}

/// The `CertificateValidationContext` an SDS config names; `None` until it arrives.
fn sds_validation(
    sds: &SdsSecretConfig,
    ctx: &mut Context<'_>,
) -> Result<Option<CertificateValidationContext>> {
    let Some(found) = ctx.secret(&sds.name) else {
        return Ok(None);
    };
    match &found.r#type {
        Some(secret::Type::ValidationContext(cvc)) => Ok(Some(cvc.clone())),
        _ => Err(not_a("", &sds.name, "validation_context")),
    }
}

/// A `CertificateValidationContext` into `config`. Subject alt name matchers need a
/// trusted CA (Envoy's rule), unless it is still to come over SDS (`pending`).
fn apply_validation(
    mut cvc: CertificateValidationContext,
    pending: bool,
    config: &mut TlsContextConfig,
) -> Result<()> {
    if let Some(ca) = cvc.trusted_ca.take() {
        config.ca_cert = Some(pem(ca).map_err(|e| e.within("trusted_ca"))?);
    }
    // Deprecated by Envoy but what Istio sends.
    #[allow(deprecated)]
    let untyped = std::mem::take(&mut cvc.match_subject_alt_names);
    for (i, m) in untyped.iter().enumerate() {
        let id = uri_pattern(m).map_err(|e| e.within(format!("match_subject_alt_names[{i}]")))?;
        config.spiffe_ids.push(id);
    }
    for (i, m) in std::mem::take(&mut cvc.match_typed_subject_alt_names)
        .iter()
        .enumerate()
    {
        let path = format!("match_typed_subject_alt_names[{i}]");
        if m.san_type != SanType::Uri as i32 || !m.oid.is_empty() {
            return Err(ConvertError::unsupported(
                format!("{path}.san_type"),
                "matching subject alt names other than URIs",
            ));
        }
        let matcher = m
            .matcher
            .as_ref()
            .ok_or_else(|| ConvertError::new(format!("{path}.matcher"), "is required"))?;
        let id = uri_pattern(matcher).map_err(|e| e.within(format!("{path}.matcher")))?;
        config.spiffe_ids.push(id);
    }
    refuse_leftover(&cvc, "")?;
    if !pending && config.ca_cert.is_none() && !config.spiffe_ids.is_empty() {
        return Err(ConvertError::new(
            "trusted_ca",
            "matching subject alt names needs a trusted CA (Envoy refuses it too)",
        ));
    }
    Ok(())
}

/// A SAN matcher as a `spiffe_ids` entry: exact, or a prefix (ending in `/`, or marked
/// with `*`). Only values with a URI scheme (`://`) are accepted, so that no DNS, e-mail
/// or IP SAN could have matched in Envoy.
fn uri_pattern(m: &StringMatcher) -> Result<String> {
    if m.ignore_case {
        return Err(ConvertError::unsupported(
            "ignore_case",
            "case-insensitive SAN matching",
        ));
    }
    let not_uri = |field: &str, v: &str| {
        ConvertError::unsupported(
            field,
            format!("SAN matcher {v:?} that could match a non-URI SAN (mosn matches URI SANs)"),
        )
    };
    match &m.match_pattern {
        Some(MatchPattern::Exact(v)) if !v.contains("://") => Err(not_uri("exact", v)),
        Some(MatchPattern::Exact(v)) if v.ends_with('/') || v.ends_with('*') => Err(
            ConvertError::unsupported("exact", format!("exact SAN {v:?} ending in '/' or '*'")),
        ),
        Some(MatchPattern::Exact(v)) => Ok(v.clone()),
        Some(MatchPattern::Prefix(v)) if !v.contains("://") => Err(not_uri("prefix", v)),
        Some(MatchPattern::Prefix(v)) if v.ends_with('/') => Ok(v.clone()),
        Some(MatchPattern::Prefix(v)) => Ok(format!("{v}*")),
        _ => Err(ConvertError::unsupported(
            "",
            "SAN matchers other than exact and prefix",
        )),
    }
}
