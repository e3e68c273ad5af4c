//! What each side of a TLCP connection needs: its certificate pairs (signing and
//! encryption, each with its SM2 key), the CAs it trusts, and the suites it allows.
//! Everything is checked when the config is built, so a handshake never finds a key
//! that does not match its certificate.

use gm_crypto::sm2::keys::{private_key_from_der, public_key_from_cert};
use gm_crypto::sm2::SecretKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, TrustAnchor};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::Error;
use crate::suite::CipherSuite;
use crate::verify::{check_key_usage, Usage};

/// A certificate chain (end-entity first) with the SM2 private key of its first
/// certificate.
pub struct CertifiedKey {
    chain: Vec<CertificateDer<'static>>,
    key: SecretKey,
}

impl CertifiedKey {
    /// Pairs `chain` with `key`, checking the certificate holds `key`'s public half.
    pub fn new(chain: Vec<CertificateDer<'static>>, key: SecretKey) -> Result<Self, Error> {
        let first = chain
            .first()
            .ok_or_else(|| Error::Config("certificate chain is empty".into()))?;
        let public = public_key_from_cert(first).map_err(|e| Error::Config(e.to_string()))?;
        if public != key.public_key() {
            return Err(Error::Config(
                "private key does not match its certificate".into(),
            ));
        }
        Ok(Self { chain, key })
    }

    /// Reads a PEM certificate chain and a PEM private key (PKCS#8 or SEC1).
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, Error> {
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Config(format!("certificate PEM: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| Error::Config(format!("private key PEM: {e}")))?;
        let key = private_key_from_der(&key).map_err(|e| Error::Config(e.to_string()))?;
        Self::new(chain, key)
    }

    /// The chain, end-entity first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    pub(crate) fn key(&self) -> &SecretKey {
        &self.key
    }

    fn check_usage(&self, usage: Usage) -> Result<(), Error> {
        check_key_usage(&self.chain[0], usage).map_err(Error::Config)
    }
}

/// The CAs a side trusts to sign the peer's certificates.
pub struct RootCerts {
    anchors: Vec<TrustAnchor<'static>>,
    /// DER `Name`s of the CAs, as a CertificateRequest lists them.
    names: Vec<Vec<u8>>,
}

impl RootCerts {
    /// Reads PEM CA certificates.
    pub fn from_pem(pem: &[u8]) -> Result<Self, Error> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Config(format!("CA certificate PEM: {e}")))?;
        Self::from_der(&certs)
    }

    /// Trusts these DER CA certificates.
    pub fn from_der(certs: &[CertificateDer<'_>]) -> Result<Self, Error> {
        if certs.is_empty() {
            return Err(Error::Config("no CA certificate".into()));
        }
        let mut anchors = Vec::new();
        let mut names = Vec::new();
        for cert in certs {
            let anchor = webpki::anchor_from_trusted_cert(cert)
                .map_err(|e| Error::Config(format!("CA certificate: {e}")))?;
            anchors.push(anchor.to_owned());
            let (_, parsed) = X509Certificate::from_der(cert)
                .map_err(|e| Error::Config(format!("CA certificate: {e}")))?;
            names.push(parsed.subject().as_raw().to_vec());
        }
        Ok(Self { anchors, names })
    }

    pub(crate) fn anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }

    pub(crate) fn names(&self) -> &[Vec<u8>] {
        &self.names
    }
}

/// Whether and how a server asks for client certificates.
pub enum ClientAuth {
    /// Ask only when the suite needs it (ECDHE: the client's encryption certificate
    /// takes part in the key agreement); its chain is then not verified.
    None,
    /// Ask; verify what the client sends against these CAs, accept none.
    Optional(RootCerts),
    /// Ask and refuse clients without a certificate pair these CAs signed.
    Required(RootCerts),
}

impl ClientAuth {
    pub(crate) fn roots(&self) -> Option<&RootCerts> {
        match self {
            Self::None => None,
            Self::Optional(r) | Self::Required(r) => Some(r),
        }
    }
}

/// A TLCP server's configuration.
pub struct ServerConfig {
    pub(crate) sign: CertifiedKey,
    pub(crate) enc: CertifiedKey,
    pub(crate) suites: Vec<CipherSuite>,
    pub(crate) client_auth: ClientAuth,
}

impl ServerConfig {
    /// A server with its signing and encryption pairs, allowing `suites` (in its
    /// order of preference; empty means [`CipherSuite::ALL`]).
    pub fn new(
        sign: CertifiedKey,
        enc: CertifiedKey,
        suites: Vec<CipherSuite>,
        client_auth: ClientAuth,
    ) -> Result<Self, Error> {
        sign.check_usage(Usage::Sign)?;
        enc.check_usage(Usage::Enc)?;
        Ok(Self {
            sign,
            enc,
            suites: or_all(suites),
            client_auth,
        })
    }

    /// The suites offered, in preference order.
    pub fn suites(&self) -> &[CipherSuite] {
        &self.suites
    }
}

/// A TLCP client's configuration.
pub struct ClientConfig {
    pub(crate) roots: Option<RootCerts>,
    pub(crate) certs: Option<(CertifiedKey, CertifiedKey)>,
    pub(crate) suites: Vec<CipherSuite>,
}

impl ClientConfig {
    /// A client trusting `roots` (`None`: the server's certificates are not verified,
    /// for tests only) and offering `suites` (empty means [`CipherSuite::ALL`]).
    /// Without client certificates the ECDHE suites are not offered: their key
    /// agreement needs the client's encryption key.
    pub fn new(roots: Option<RootCerts>, suites: Vec<CipherSuite>) -> Self {
        Self {
            roots,
            certs: None,
            suites: or_all(suites),
        }
    }

    /// Adds the client's signing and encryption pairs, sent when the server asks.
    pub fn with_client_certs(
        mut self,
        sign: CertifiedKey,
        enc: CertifiedKey,
    ) -> Result<Self, Error> {
        sign.check_usage(Usage::Sign)?;
        enc.check_usage(Usage::Enc)?;
        self.certs = Some((sign, enc));
        Ok(self)
    }

    /// The suites this client offers: ECDHE only with client certificates.
    pub(crate) fn offered(&self) -> impl Iterator<Item = CipherSuite> + '_ {
        self.suites
            .iter()
            .copied()
            .filter(|s| !s.is_ecdhe() || self.certs.is_some())
    }
}

fn or_all(suites: Vec<CipherSuite>) -> Vec<CipherSuite> {
    if suites.is_empty() {
        CipherSuite::ALL.to_vec()
    } else {
        suites
    }
}
