//! The four TLCP cipher suites (GB/T 38636-2020 6.4.5.2.1), their wire IDs and the names
//! Tongsuo (and so MOSN's `cipher_suites`) gives them.

/// A TLCP cipher suite: key exchange (ECC = SM2 encryption of the pre-master secret,
/// ECDHE = SM2 key agreement) and record protection (SM4-CBC + HMAC-SM3, or SM4-GCM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    /// `ECC_SM4_CBC_SM3` (0xE013).
    EccSm4CbcSm3,
    /// `ECC_SM4_GCM_SM3` (0xE053).
    EccSm4GcmSm3,
    /// `ECDHE_SM4_CBC_SM3` (0xE011).
    EcdheSm4CbcSm3,
    /// `ECDHE_SM4_GCM_SM3` (0xE051).
    EcdheSm4GcmSm3,
}

impl CipherSuite {
    /// Every suite, in the default preference order (forward secrecy and AEAD first).
    pub const ALL: [Self; 4] = [
        Self::EcdheSm4GcmSm3,
        Self::EccSm4GcmSm3,
        Self::EcdheSm4CbcSm3,
        Self::EccSm4CbcSm3,
    ];

    /// The suite's two-byte ID on the wire.
    pub fn id(self) -> u16 {
        match self {
            Self::EccSm4CbcSm3 => 0xe013,
            Self::EccSm4GcmSm3 => 0xe053,
            Self::EcdheSm4CbcSm3 => 0xe011,
            Self::EcdheSm4GcmSm3 => 0xe051,
        }
    }

    /// The suite with wire ID `id`.
    pub fn from_id(id: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id() == id)
    }

    /// Tongsuo's (OpenSSL-style) name, e.g. `ECC-SM2-SM4-CBC-SM3`.
    pub fn name(self) -> &'static str {
        match self {
            Self::EccSm4CbcSm3 => "ECC-SM2-SM4-CBC-SM3",
            Self::EccSm4GcmSm3 => "ECC-SM2-SM4-GCM-SM3",
            Self::EcdheSm4CbcSm3 => "ECDHE-SM2-SM4-CBC-SM3",
            Self::EcdheSm4GcmSm3 => "ECDHE-SM2-SM4-GCM-SM3",
        }
    }

    /// The suite a name denotes: Tongsuo's names, its older `*-WITH-SM4-SM3` aliases of
    /// the CBC suites, or the standard's `ECC_SM4_CBC_SM3` form; any case.
    pub fn from_name(name: &str) -> Option<Self> {
        let upper = name.trim().to_ascii_uppercase();
        match upper.as_str() {
            "ECC-SM2-WITH-SM4-SM3" => return Some(Self::EccSm4CbcSm3),
            "ECDHE-SM2-WITH-SM4-SM3" => return Some(Self::EcdheSm4CbcSm3),
            _ => {}
        }
        Self::ALL.into_iter().find(|s| {
            s.name() == upper || s.name().replace("-SM2-", "_").replace('-', "_") == upper
        })
    }

    /// Whether the key exchange is SM2 key agreement (which needs both sides' encryption
    /// certificates) rather than an SM2-encrypted pre-master secret.
    pub fn is_ecdhe(self) -> bool {
        matches!(self, Self::EcdheSm4CbcSm3 | Self::EcdheSm4GcmSm3)
    }

    /// Whether records are sealed with SM4-GCM (else SM4-CBC with HMAC-SM3).
    pub fn is_gcm(self) -> bool {
        matches!(self, Self::EccSm4GcmSm3 | Self::EcdheSm4GcmSm3)
    }
}

impl std::fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_round_trip() {
        for s in CipherSuite::ALL {
            assert_eq!(CipherSuite::from_id(s.id()), Some(s));
            assert_eq!(CipherSuite::from_name(s.name()), Some(s));
            assert_eq!(CipherSuite::from_name(&s.name().to_lowercase()), Some(s));
        }
        assert_eq!(
            CipherSuite::from_name("ECC_SM4_GCM_SM3"),
            Some(CipherSuite::EccSm4GcmSm3)
        );
        assert_eq!(
            CipherSuite::from_name("ECDHE-SM2-WITH-SM4-SM3"),
            Some(CipherSuite::EcdheSm4CbcSm3)
        );
        assert_eq!(CipherSuite::from_name("TLS_SM4_GCM_SM3"), None);
        assert_eq!(CipherSuite::from_id(0x00c6), None);
    }
}
