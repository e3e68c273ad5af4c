//! The curveSM2 key-exchange group of RFC 8998 (TLS 1.3 only): ECDH on the SM2 curve,
//! uncompressed 65-byte key shares, the shared secret being the x coordinate.

use rustls::crypto::{ActiveKeyExchange, SharedSecret, SupportedKxGroup};
use rustls::{NamedGroup, PeerMisbehaved, ProtocolVersion};

use crate::sm2::exchange::EphemeralKey;

/// curveSM2's code point (RFC 8998 section 2; rustls has no name for it).
pub const CURVE_SM2: NamedGroup = NamedGroup::Unknown(0x0029);

/// curveSM2 as a rustls key-exchange group.
#[derive(Debug)]
pub(crate) struct CurveSm2;

impl SupportedKxGroup for CurveSm2 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, rustls::Error> {
        let key = EphemeralKey::generate();
        let public = key.public_sec1();
        Ok(Box::new(ActiveSm2 { key, public }))
    }

    fn name(&self) -> NamedGroup {
        CURVE_SM2
    }

    fn usable_for_version(&self, version: ProtocolVersion) -> bool {
        // RFC 8998 defines curveSM2 for TLS 1.3; TLCP has its own key exchange.
        version == ProtocolVersion::TLSv1_3
    }
}

struct ActiveSm2 {
    key: EphemeralKey,
    public: Vec<u8>,
}

impl ActiveKeyExchange for ActiveSm2 {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, rustls::Error> {
        // RFC 8998 allows only the uncompressed form.
        if peer_pub_key.len() != 65 {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        self.key
            .diffie_hellman(peer_pub_key)
            .map(|x| SharedSecret::from(&x[..]))
            .map_err(|_| PeerMisbehaved::InvalidKeyShare.into())
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn group(&self) -> NamedGroup {
        CURVE_SM2
    }
}
