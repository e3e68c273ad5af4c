//! A rustls `CryptoProvider` for the ShangMi TLS 1.3 suites of RFC 8998:
//! `TLS_SM4_GCM_SM3` (0x00C6) and `TLS_SM4_CCM_SM3` (0x00C7), key exchange on
//! curveSM2 (0x0029), and `sm2sig_sm3` (0x0708) signatures.
//!
//! SM2 IDs: certificate signatures use the default ID "1234567812345678"; TLS 1.3
//! CertificateVerify signatures use RFC 8998's "TLSv1.3+GM+Cipher+Suite". Tongsuo
//! 8.5.0 signs and checks CertificateVerify with that RFC 8998 ID (its
//! `HANDSHAKE_SM2_ID`): tried both ways on loopback, a CertificateVerify made with
//! "1234567812345678" fails there with "bad signature" / decrypt_error, and Tongsuo's
//! own fails rustls' check under that ID.

mod aead;
mod hash;
mod kx;
mod sign;

use rustls::crypto::tls13::HkdfUsingHmac;
use rustls::crypto::{CryptoProvider, GetRandomFailed, SecureRandom, WebPkiSupportedAlgorithms};
use rustls::{
    CipherSuite, CipherSuiteCommon, SignatureScheme, SupportedCipherSuite, Tls13CipherSuite,
};

use crate::sm2::webpki::{Sm2Sm3, SM2_SM3};
use crate::sm4::AeadMode;

pub use kx::CURVE_SM2;

/// The SM2 distinguishing ID of TLS 1.3 CertificateVerify signatures (RFC 8998 3.2.1).
pub const TLS13_SM2_ID: &str = "TLSv1.3+GM+Cipher+Suite";
/// `sm2sig_sm3` (rustls has no name for it).
pub const SM2SIG_SM3: SignatureScheme = SignatureScheme::Unknown(0x0708);
/// `TLS_SM4_GCM_SM3` (rustls has no name for it).
pub const TLS_SM4_GCM_SM3_ID: CipherSuite = CipherSuite::Unknown(0x00c6);
/// `TLS_SM4_CCM_SM3` (rustls has no name for it).
pub const TLS_SM4_CCM_SM3_ID: CipherSuite = CipherSuite::Unknown(0x00c7);

static HKDF_SM3: HkdfUsingHmac<'static> = HkdfUsingHmac(&hash::Sm3Hmac);

/// TLS_SM4_GCM_SM3.
pub static TLS_SM4_GCM_SM3: SupportedCipherSuite = SupportedCipherSuite::Tls13(&Tls13CipherSuite {
    common: CipherSuiteCommon {
        suite: TLS_SM4_GCM_SM3_ID,
        hash_provider: &hash::Sm3Hash,
        // As for AES-GCM (RFC 8446 5.5): SM4 has AES's 128-bit block.
        confidentiality_limit: 1 << 24,
    },
    hkdf_provider: &HKDF_SM3,
    aead_alg: &aead::Sm4Tls13(AeadMode::Gcm),
    quic: None,
});

/// TLS_SM4_CCM_SM3.
pub static TLS_SM4_CCM_SM3: SupportedCipherSuite = SupportedCipherSuite::Tls13(&Tls13CipherSuite {
    common: CipherSuiteCommon {
        suite: TLS_SM4_CCM_SM3_ID,
        hash_provider: &hash::Sm3Hash,
        // As for AES-128-CCM (RFC 9147 4.5.3).
        confidentiality_limit: 1 << 23,
    },
    hkdf_provider: &HKDF_SM3,
    aead_alg: &aead::Sm4Tls13(AeadMode::Ccm),
    quic: None,
});

/// Both suites, GCM first (the one RFC 8998 makes mandatory).
pub static ALL_CIPHER_SUITES: &[SupportedCipherSuite] = &[TLS_SM4_GCM_SM3, TLS_SM4_CCM_SM3];

/// The IANA name of an RFC 8998 suite (rustls prints them as numbers).
pub fn suite_name(suite: CipherSuite) -> Option<&'static str> {
    match suite {
        TLS_SM4_GCM_SM3_ID => Some("TLS_SM4_GCM_SM3"),
        TLS_SM4_CCM_SM3_ID => Some("TLS_SM4_CCM_SM3"),
        _ => None,
    }
}

static SM2_TLS13: Sm2Sm3 = Sm2Sm3 { id: TLS13_SM2_ID };

/// SM2 certificate chains (default ID) and `sm2sig_sm3` handshake signatures (TLS 1.3 ID).
pub static SIGNATURE_ALGORITHMS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[SM2_SM3],
    mapping: &[(SM2SIG_SM3, &[&SM2_TLS13])],
};

/// The RFC 8998 provider: both SM suites, curveSM2, SM2 keys and SM2 verification.
/// TLS 1.3 only: build configs with `rustls::version::TLS13`.
pub fn provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: ALL_CIPHER_SUITES.to_vec(),
        kx_groups: vec![&kx::CurveSm2],
        signature_verification_algorithms: SIGNATURE_ALGORITHMS,
        secure_random: &OsRandom,
        key_provider: &sign::Sm2KeyProvider,
    }
}

/// The operating system's CSPRNG (getrandom).
#[derive(Debug)]
struct OsRandom;

impl SecureRandom for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        use rand_core::RngCore;
        rand_core::OsRng
            .try_fill_bytes(buf)
            .map_err(|_| GetRandomFailed)
    }
}
