//! Checking the peer's certificates: both chains (signing and encryption) up to a
//! trusted SM2 root with webpki and gm-crypto's SM2-with-SM3, the server name on the
//! signing certificate, and each certificate's key usage, so an encryption certificate
//! cannot stand in for a signing one or the reverse.

use gm_crypto::sm2::webpki::SM2_SM3;
use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::{AlertDescription, Error};

/// What a certificate of a TLCP pair is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Usage {
    /// The signing certificate: ServerKeyExchange and CertificateVerify signatures.
    Sign,
    /// The encryption certificate: the ECC pre-master secret or ECDHE key agreement.
    Enc,
}

impl Usage {
    fn name(self) -> &'static str {
        match self {
            Self::Sign => "signing",
            Self::Enc => "encryption",
        }
    }
}

/// Fails when `cert` has a key-usage extension that does not allow `usage` (a
/// certificate without the extension allows every usage, as in RFC 5280).
pub(crate) fn check_key_usage(cert: &[u8], usage: Usage) -> Result<(), String> {
    let (_, parsed) =
        X509Certificate::from_der(cert).map_err(|e| format!("unparsable certificate: {e}"))?;
    let Ok(Some(ku)) = parsed.key_usage() else {
        return Ok(());
    };
    let ku = ku.value;
    let allowed = match usage {
        Usage::Sign => ku.digital_signature() || ku.non_repudiation(),
        Usage::Enc => ku.key_encipherment() || ku.data_encipherment() || ku.key_agreement(),
    };
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "certificate {:?} is not for {} (key usage: {ku})",
            parsed.subject().to_string(),
            usage.name()
        ))
    }
}

/// Which peer is being checked, for the extended key usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    Server,
    Client,
}

/// Verifies the peer's certificate list `[sign, enc, intermediates...]`: both end
/// certificates chain to `anchors`, carry the right key usage, and (for a server with
/// `name`) the signing certificate is valid for `name`.
pub(crate) fn verify_pair(
    certs: &[CertificateDer<'static>],
    anchors: Option<&[TrustAnchor<'static>]>,
    peer: Peer,
    name: Option<&str>,
) -> Result<(), Error> {
    let bad = |reason: String| Error::alert(AlertDescription::BAD_CERTIFICATE, reason);
    for (cert, usage) in certs.iter().zip([Usage::Sign, Usage::Enc]) {
        check_key_usage(cert, usage).map_err(bad)?;
    }
    let Some(anchors) = anchors else {
        return Ok(());
    };
    let intermediates = certs.get(2..).unwrap_or_default();
    for cert in certs.iter().take(2) {
        let ee = webpki::EndEntityCert::try_from(cert)
            .map_err(|e| bad(format!("unparsable certificate: {e}")))?;
        let eku = match peer {
            Peer::Server => webpki::KeyUsage::server_auth(),
            Peer::Client => webpki::KeyUsage::client_auth(),
        };
        ee.verify_for_usage(
            &[SM2_SM3],
            anchors,
            intermediates,
            UnixTime::now(),
            eku,
            None,
            None,
        )
        .map_err(chain_error)?;
    }
    if let Some(name) = name {
        let server_name = ServerName::try_from(name)
            .map_err(|_| Error::Config(format!("{name:?} is not a valid server name")))?;
        let ee = webpki::EndEntityCert::try_from(&certs[0])
            .map_err(|e| bad(format!("unparsable certificate: {e}")))?;
        ee.verify_is_valid_for_subject_name(&server_name)
            .map_err(|e| {
                bad(format!(
                    "signing certificate is not valid for {name:?}: {e}"
                ))
            })?;
    }
    Ok(())
}

fn chain_error(e: webpki::Error) -> Error {
    let alert = match e {
        webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
            AlertDescription::CERTIFICATE_EXPIRED
        }
        webpki::Error::UnknownIssuer => AlertDescription::UNKNOWN_CA,
        webpki::Error::InvalidSignatureForPublicKey
        | webpki::Error::UnsupportedSignatureAlgorithmContext(_)
        | webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            AlertDescription::BAD_CERTIFICATE
        }
        _ => AlertDescription::CERTIFICATE_UNKNOWN,
    };
    Error::alert(alert, format!("certificate chain: {e}"))
}
