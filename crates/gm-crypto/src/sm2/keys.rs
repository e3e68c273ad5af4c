//! Loading SM2 keys as Tongsuo/OpenSSL write them: private keys in PKCS#8 or SEC1
//! (PEM or DER, curve OID 1.2.156.10197.1.301), public keys from X.509 certificates.

use ::sm2::elliptic_curve::pkcs8::DecodePrivateKey;
use ::sm2::{PublicKey, SecretKey};
use rustls_pki_types::PrivateKeyDer;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::Error;

/// OID of the SM2 curve (`sm2p256v1`), as the EC parameters of SM2 keys.
pub const SM2_CURVE_OID: &str = "1.2.156.10197.1.301";
const EC_PUBLIC_KEY_OID: &str = "1.2.840.10045.2.1";

/// Parses a PEM private key: `PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY` (SEC1).
pub fn private_key_from_pem(pem: &str) -> Result<SecretKey, Error> {
    if pem.contains("-----BEGIN EC PRIVATE KEY-----") {
        SecretKey::from_sec1_pem(pem).map_err(|e| Error::Key(format!("SEC1 PEM: {e}")))
    } else {
        SecretKey::from_pkcs8_pem(pem).map_err(|e| Error::Key(format!("PKCS#8 PEM: {e}")))
    }
}

/// Parses a DER private key as rustls hands it over; PKCS#1 (RSA) is never SM2.
pub fn private_key_from_der(key: &PrivateKeyDer<'_>) -> Result<SecretKey, Error> {
    match key {
        PrivateKeyDer::Pkcs8(k) => SecretKey::from_pkcs8_der(k.secret_pkcs8_der())
            .map_err(|e| Error::Key(format!("PKCS#8: {e}"))),
        PrivateKeyDer::Sec1(k) => SecretKey::from_sec1_der(k.secret_sec1_der())
            .map_err(|e| Error::Key(format!("SEC1: {e}"))),
        _ => Err(Error::Key("an RSA (PKCS#1) key".into())),
    }
}

/// The SM2 public key of a DER certificate, or an error if its key is not SM2.
pub fn public_key_from_cert(cert_der: &[u8]) -> Result<PublicKey, Error> {
    let (_, cert) =
        X509Certificate::from_der(cert_der).map_err(|e| Error::Key(format!("certificate: {e}")))?;
    let spki = cert.public_key();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    if spki.algorithm.algorithm.to_id_string() != EC_PUBLIC_KEY_OID
        || curve.as_deref() != Some(SM2_CURVE_OID)
    {
        return Err(Error::Key("certificate key is not on the SM2 curve".into()));
    }
    PublicKey::from_sec1_bytes(&spki.subject_public_key.data)
        .map_err(|_| Error::Key("certificate holds an invalid SM2 point".into()))
}

/// Parses an uncompressed (or compressed) SEC1 point as an SM2 public key.
pub fn public_key_from_sec1(bytes: &[u8]) -> Result<PublicKey, Error> {
    PublicKey::from_sec1_bytes(bytes).map_err(|_| Error::Invalid("SM2 point"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    use std::path::PathBuf;

    /// The shared GM test data (SM2 CA, TLCP sign/enc pairs), beside the project.
    pub fn certs_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/gmtls/certs")
    }

    pub fn read(name: &str) -> String {
        std::fs::read_to_string(certs_dir().join(name)).unwrap()
    }

    pub fn cert_der(name: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(read(name).as_bytes()).unwrap()
    }

    #[test]
    fn tongsuo_keys_match_their_certificates() {
        for who in ["server_sign", "server_enc", "client_sign", "ca"] {
            let secret = private_key_from_pem(&read(&format!("{who}.key"))).unwrap();
            let public = public_key_from_cert(&cert_der(&format!("{who}.crt"))).unwrap();
            assert_eq!(secret.public_key(), public, "{who}");
        }
    }

    #[test]
    fn sec1_and_der_forms_load() {
        let secret = private_key_from_pem(&read("server_sign.key")).unwrap();
        let sec1 = secret.to_sec1_pem(Default::default()).unwrap();
        assert_eq!(private_key_from_pem(&sec1).unwrap(), secret);
        let der = PrivateKeyDer::from_pem_slice(read("server_sign.key").as_bytes()).unwrap();
        assert_eq!(private_key_from_der(&der).unwrap(), secret);
        assert!(private_key_from_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        )
        .is_err());
    }
}
