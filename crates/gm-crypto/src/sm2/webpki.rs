//! SM2-with-SM3 for rustls/webpki: the `SignatureVerificationAlgorithm` that checks SM2
//! certificate signatures (ID "1234567812345678", as GM/T 0015 certificates are signed)
//! and, with an ID of its own choosing, TLS 1.3 CertificateVerify signatures.

use ::sm2::PublicKey;
use rustls_pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};

use super::sign::verify;

/// DER contents of the SPKI algorithm of SM2 keys: `id-ecPublicKey` with the SM2 curve.
const SM2_PUBLIC_KEY_ALG: &[u8] = &[
    0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, // 1.2.840.10045.2.1
    0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d, // 1.2.156.10197.1.301
];
/// DER contents of the `SM2-with-SM3` signature algorithm (no parameters).
const SM2_SM3_ALG: &[u8] = &[
    0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75, // 1.2.156.10197.1.501
];

/// SM2 signature verification with a fixed distinguishing ID.
#[derive(Debug)]
pub struct Sm2Sm3 {
    /// The signer's distinguishing ID the signatures were made with.
    pub id: &'static str,
}

/// For certificate chains: X.509 SM2 signatures use the default ID.
pub static SM2_SM3: &Sm2Sm3 = &Sm2Sm3 {
    id: super::DEFAULT_ID,
};

impl SignatureVerificationAlgorithm for Sm2Sm3 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key = PublicKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        verify(&key, self.id, message, signature).map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        AlgorithmIdentifier::from_slice(SM2_PUBLIC_KEY_ALG)
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        AlgorithmIdentifier::from_slice(SM2_SM3_ALG)
    }

    fn fips(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm2::keys::tests::cert_der;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::crypto::WebPkiSupportedAlgorithms;
    use rustls::pki_types::{ServerName, UnixTime};
    use rustls::RootCertStore;
    use std::sync::Arc;

    fn verifier(root: &str) -> Arc<rustls::client::WebPkiServerVerifier> {
        static ALGS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
            all: &[SM2_SM3],
            mapping: &[(rustls::SignatureScheme::Unknown(0x0708), &[SM2_SM3])],
        };
        let mut roots = RootCertStore::empty();
        roots.add(cert_der(root)).unwrap();
        let provider = rustls::crypto::CryptoProvider {
            cipher_suites: vec![],
            kx_groups: vec![],
            signature_verification_algorithms: ALGS,
            secure_random: &Rand,
            key_provider: &NoKeys,
        };
        rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::new(provider),
        )
        .build()
        .unwrap()
    }

    /// Tongsuo's SM2 CA signed server_sign.crt: webpki accepts the chain for its names.
    #[test]
    fn webpki_verifies_an_sm2_chain() {
        let v = verifier("ca.crt");
        let leaf = cert_der("server_sign.crt");
        let now = UnixTime::now();
        for name in ["localhost", "127.0.0.1"] {
            let name = ServerName::try_from(name).unwrap();
            v.verify_server_cert(&leaf, &[], &name, &[], now).unwrap();
        }
        let mut tampered = leaf.to_vec();
        let at = tampered.len() - 10;
        tampered[at] ^= 1;
        let name = ServerName::try_from("localhost").unwrap();
        assert!(v
            .verify_server_cert(&tampered.into(), &[], &name, &[], now)
            .is_err());
        // A CA that did not sign it.
        let other = verifier("server_enc.crt");
        assert!(other
            .verify_server_cert(&leaf, &[], &name, &[], now)
            .is_err());
    }

    #[derive(Debug)]
    struct Rand;
    impl rustls::crypto::SecureRandom for Rand {
        fn fill(&self, _: &mut [u8]) -> Result<(), rustls::crypto::GetRandomFailed> {
            Err(rustls::crypto::GetRandomFailed)
        }
    }
    #[derive(Debug)]
    struct NoKeys;
    impl rustls::crypto::KeyProvider for NoKeys {
        fn load_private_key(
            &self,
            _: rustls::pki_types::PrivateKeyDer<'static>,
        ) -> Result<Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
            Err(rustls::Error::General("none".into()))
        }
    }
}
