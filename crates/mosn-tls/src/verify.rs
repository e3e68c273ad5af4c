//! Certificate verifiers: rustls' WebPKI verifiers plus the SPIFFE allowed list, and the
//! `insecure_skip` verifier (handshake signatures still checked, the chain not).

use crate::spiffe;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use std::sync::Arc;

fn check_spiffe(end_entity: &CertificateDer<'_>, allowed_ids: &[String]) -> Result<(), Error> {
    if spiffe::allowed(&spiffe::uri_sans(end_entity), allowed_ids) {
        Ok(())
    } else {
        Err(Error::InvalidCertificate(
            CertificateError::ApplicationVerificationFailure,
        ))
    }
}

/// Verifies client certificates with an inner verifier, then against the SPIFFE list.
#[derive(Debug)]
pub(crate) struct SpiffeClientVerifier {
    pub(crate) inner: Arc<dyn ClientCertVerifier>,
    pub(crate) allowed_ids: Vec<String>,
}

impl ClientCertVerifier for SpiffeClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        check_spiffe(end_entity, &self.allowed_ids)?;
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// How a cluster checks its servers' certificates.
#[derive(Debug)]
pub(crate) enum ServerCheck {
    /// Chain and name verified by WebPKI; with SPIFFE IDs the URI SAN replaces the name
    /// check (a mesh peer is named by its identity, not its address).
    WebPki {
        inner: Arc<dyn ServerCertVerifier>,
        allowed_ids: Vec<String>,
    },
    /// `insecure_skip`: any certificate (still checked against the SPIFFE list).
    Insecure {
        provider: Arc<CryptoProvider>,
        allowed_ids: Vec<String>,
    },
}

impl ServerCertVerifier for ServerCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self {
            ServerCheck::WebPki { inner, allowed_ids } => {
                match inner.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
                    Ok(ok) => check_spiffe(end_entity, allowed_ids).map(|()| ok),
                    Err(Error::InvalidCertificate(
                        CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. },
                    )) if !allowed_ids.is_empty() => check_spiffe(end_entity, allowed_ids)
                        .map(|()| ServerCertVerified::assertion()),
                    Err(e) => Err(e),
                }
            }
            ServerCheck::Insecure { allowed_ids, .. } => {
                check_spiffe(end_entity, allowed_ids).map(|()| ServerCertVerified::assertion())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        match self {
            ServerCheck::WebPki { inner, .. } => inner.verify_tls12_signature(message, cert, dss),
            ServerCheck::Insecure { provider, .. } => verify_tls12_signature(
                message,
                cert,
                dss,
                &provider.signature_verification_algorithms,
            ),
        }
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        match self {
            ServerCheck::WebPki { inner, .. } => inner.verify_tls13_signature(message, cert, dss),
            ServerCheck::Insecure { provider, .. } => verify_tls13_signature(
                message,
                cert,
                dss,
                &provider.signature_verification_algorithms,
            ),
        }
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        match self {
            ServerCheck::WebPki { inner, .. } => inner.supported_verify_schemes(),
            ServerCheck::Insecure { provider, .. } => provider
                .signature_verification_algorithms
                .supported_schemes(),
        }
    }
}
