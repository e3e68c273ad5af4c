//! SM2 certificate keys for rustls: loading them and signing the TLS 1.3
//! CertificateVerify with `sm2sig_sm3` under RFC 8998's handshake ID.

use std::sync::Arc;

use ::sm2::pkcs8::EncodePublicKey;
use ::sm2::SecretKey;
use rustls::crypto::KeyProvider;
use rustls::pki_types::{PrivateKeyDer, SubjectPublicKeyInfoDer};
use rustls::sign::{Signer, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme};

use super::{SM2SIG_SM3, TLS13_SM2_ID};
use crate::sm2::keys::private_key_from_der;
use crate::sm2::sign::sign;

/// Loads SM2 private keys (PKCS#8 or SEC1 DER) as rustls signing keys.
#[derive(Debug)]
pub(crate) struct Sm2KeyProvider;

impl KeyProvider for Sm2KeyProvider {
    fn load_private_key(
        &self,
        key_der: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn SigningKey>, rustls::Error> {
        let key =
            private_key_from_der(&key_der).map_err(|e| rustls::Error::General(e.to_string()))?;
        Ok(Arc::new(Sm2SigningKey(Arc::new(key))))
    }
}

/// An SM2 certificate key; signs only with `sm2sig_sm3`.
#[derive(Debug)]
struct Sm2SigningKey(Arc<SecretKey>);

impl SigningKey for Sm2SigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered
            .contains(&SM2SIG_SM3)
            .then(|| Box::new(Sm2Signer(self.0.clone())) as Box<dyn Signer>)
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        let der = self.0.public_key().to_public_key_der().ok()?;
        Some(SubjectPublicKeyInfoDer::from(der.as_bytes().to_vec()))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        // rustls names no SM2 algorithm; this only matters for TLS 1.2 suite choice,
        // which SM2 keys never take part in.
        SignatureAlgorithm::Unknown(0x08)
    }
}

#[derive(Debug)]
struct Sm2Signer(Arc<SecretKey>);

impl Signer for Sm2Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        sign(&self.0, TLS13_SM2_ID, message).map_err(|e| rustls::Error::General(e.to_string()))
    }

    fn scheme(&self) -> SignatureScheme {
        SM2SIG_SM3
    }
}
