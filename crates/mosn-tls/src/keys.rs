//! Reading certificates, private keys and trusted roots from their [`PemSource`]s, with
//! errors that name the config key at fault.

use crate::config::PemSource;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;

/// A TLS context that cannot be built, with the `tls_context` key it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TlsError {
    /// The key of `tls_context` at fault (`cert_chain`, `private_key`, `ca_cert`...).
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

impl TlsError {
    pub(crate) fn new(key: &'static str, message: impl Into<String>) -> Self {
        TlsError {
            key,
            message: message.into(),
        }
    }
}

pub(crate) fn read(source: &PemSource, key: &'static str) -> Result<Vec<u8>, TlsError> {
    source
        .read()
        .map_err(|e| TlsError::new(key, format!("cannot read {}: {e}", source.describe())))
}

/// The certificates of `source` (`key` names it in errors), leaf first.
pub fn load_certs(
    source: &PemSource,
    key: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(source, key)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::new(key, format!("{}: bad PEM: {e}", source.describe())))?;
    if certs.is_empty() {
        return Err(TlsError::new(
            key,
            format!("{}: no CERTIFICATE in PEM", source.describe()),
        ));
    }
    Ok(certs)
}

/// The leaf certificate and its key, checked to belong together.
pub fn load_certified_key(
    chain: &PemSource,
    key: &PemSource,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let certs = load_certs(chain, "cert_chain")?;
    let pem = read(key, "private_key")?;
    let der = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        TlsError::new(
            "private_key",
            format!("{}: no usable private key in PEM: {e}", key.describe()),
        )
    })?;
    // An SM2 key the provider cannot load: the context forgot the ShangMi suites.
    let needs_sm = gm_crypto::sm2::keys::private_key_from_der(&der).is_ok()
        && provider
            .key_provider
            .load_private_key(der.clone_key())
            .is_err();
    CertifiedKey::from_der(certs, der, provider).map_err(|e| {
        let message = match e {
            _ if needs_sm => format!(
                "{} is an SM2 key: serve it with cipher_suites TLS_SM4_GCM_SM3 or TLS_SM4_CCM_SM3",
                key.describe()
            ),
            rustls::Error::InconsistentKeys(_) => {
                format!(
                    "{} does not match the certificate of cert_chain",
                    key.describe()
                )
            }
            other => format!("{}: {other}", key.describe()),
        };
        TlsError::new("private_key", message)
    })
}

/// Trusted roots from `ca_cert`.
pub fn load_roots(ca: &PemSource) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(ca, "ca_cert")? {
        roots
            .add(cert)
            .map_err(|e| TlsError::new("ca_cert", format!("{}: {e}", ca.describe())))?;
    }
    Ok(roots)
}
