//! The TLS 1.3 record protection of RFC 8998: `AEAD_SM4_GCM` and `AEAD_SM4_CCM`
//! (16-byte key, 12-byte nonce, 16-byte tag) with RFC 8446's nonce and AAD.

use rustls::crypto::cipher::{
    make_tls13_aad, AeadKey, InboundOpaqueMessage, InboundPlainMessage, Iv, MessageDecrypter,
    MessageEncrypter, Nonce, OutboundOpaqueMessage, OutboundPlainMessage, PrefixedPayload,
    Tls13AeadAlgorithm, UnsupportedOperationError,
};
use rustls::{ConnectionTrafficSecrets, ContentType, ProtocolVersion};

use crate::sm4::{AeadMode, Sm4Aead, KEY_LEN, TAG_LEN};

/// An SM4 AEAD mode as a rustls TLS 1.3 AEAD algorithm.
pub(crate) struct Sm4Tls13(pub AeadMode);

impl Tls13AeadAlgorithm for Sm4Tls13 {
    fn encrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageEncrypter> {
        Box::new(Sm4Record::new(self.0, &key, iv))
    }

    fn decrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
        Box::new(Sm4Record::new(self.0, &key, iv))
    }

    fn key_len(&self) -> usize {
        KEY_LEN
    }

    fn extract_keys(
        &self,
        _key: AeadKey,
        _iv: Iv,
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        // Kernel TLS has no SM4 suites to hand keys to.
        Err(UnsupportedOperationError)
    }
}

/// One direction's record key.
struct Sm4Record {
    key: Sm4Aead,
    iv: Iv,
}

impl Sm4Record {
    fn new(mode: AeadMode, key: &AeadKey, iv: Iv) -> Self {
        let key = Sm4Aead::new(mode, key.as_ref()).expect("rustls sizes the key by key_len");
        Self { key, iv }
    }
}

impl MessageEncrypter for Sm4Record {
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        seq: u64,
    ) -> Result<OutboundOpaqueMessage, rustls::Error> {
        let total = self.encrypted_payload_len(msg.payload.len());
        let mut payload = PrefixedPayload::with_capacity(total);
        payload.extend_from_chunks(&msg.payload);
        payload.extend_from_slice(&msg.typ.to_array());
        let nonce = Nonce::new(&self.iv, seq).0;
        let tag = self
            .key
            .seal_in_place(&nonce, &make_tls13_aad(total), payload.as_mut())
            .map_err(|_| rustls::Error::EncryptError)?;
        payload.extend_from_slice(&tag);
        Ok(OutboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            payload,
        ))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len + 1 + TAG_LEN
    }
}

impl MessageDecrypter for Sm4Record {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, rustls::Error> {
        let payload = &mut msg.payload;
        let body = payload
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(rustls::Error::DecryptError)?;
        let aad = make_tls13_aad(payload.len());
        let nonce = Nonce::new(&self.iv, seq).0;
        let (data, tag) = payload.split_at_mut(body);
        self.key
            .open_in_place(&nonce, &aad, data, tag)
            .map_err(|_| rustls::Error::DecryptError)?;
        payload.truncate(body);
        msg.into_tls13_unpadded_message()
    }
}
