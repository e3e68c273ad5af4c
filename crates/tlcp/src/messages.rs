//! The handshake messages of GB/T 38636-2020 6.4.5, encoded and decoded. Only what
//! TLCP's full handshake carries: no extensions are sent, and those received are
//! skipped (this implementation offers none, so it needs none back).

use rustls_pki_types::CertificateDer;

use crate::codec::{put_u24, put_vec, Reader};
use crate::error::{AlertDescription, Error};
use crate::record::VERSION;

/// Handshake message types.
pub(crate) mod kind {
    pub(crate) const CLIENT_HELLO: u8 = 1;
    pub(crate) const SERVER_HELLO: u8 = 2;
    pub(crate) const CERTIFICATE: u8 = 11;
    pub(crate) const SERVER_KEY_EXCHANGE: u8 = 12;
    pub(crate) const CERTIFICATE_REQUEST: u8 = 13;
    pub(crate) const SERVER_HELLO_DONE: u8 = 14;
    pub(crate) const CERTIFICATE_VERIFY: u8 = 15;
    pub(crate) const CLIENT_KEY_EXCHANGE: u8 = 16;
    pub(crate) const FINISHED: u8 = 20;
}

/// Length of the hello randoms.
pub(crate) const RANDOM_LEN: usize = 32;
/// `ECParameters` of the ECDHE messages: a named curve (3), curve SM2 (0x0029).
pub(crate) const SM2_CURVE_PARAMS: [u8; 3] = [3, 0, 0x29];
/// Client certificate types a CertificateRequest lists: rsa_sign and ecdsa_sign (the
/// latter covers SM2), as Tongsuo sends them.
const CERT_TYPES: [u8; 2] = [1, 64];

/// A ClientHello's fields that matter to a TLCP server.
pub(crate) struct ClientHello {
    pub(crate) version: u16,
    pub(crate) random: [u8; RANDOM_LEN],
    pub(crate) suites: Vec<u16>,
}

impl ClientHello {
    /// The ClientHello body this client sends: no session to resume, no extensions.
    pub(crate) fn encode(random: &[u8; RANDOM_LEN], suites: &[u16]) -> Vec<u8> {
        let mut out = VERSION.to_be_bytes().to_vec();
        out.extend_from_slice(random);
        put_vec(&mut out, 1, &[]);
        let ids: Vec<u8> = suites.iter().flat_map(|s| s.to_be_bytes()).collect();
        put_vec(&mut out, 2, &ids);
        put_vec(&mut out, 1, &[0]);
        out
    }

    pub(crate) fn decode(body: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(body, "ClientHello");
        let version = r.u16()?;
        let random = r.take(RANDOM_LEN)?.try_into().expect("taken 32");
        if r.vec8()?.len() > 32 {
            return Err(Error::decode("ClientHello session id"));
        }
        let ids = r.vec16()?;
        if ids.is_empty() || !ids.len().is_multiple_of(2) {
            return Err(Error::decode("ClientHello cipher suites"));
        }
        let suites = ids
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        if !r.vec8()?.contains(&0) {
            return Err(Error::alert(
                AlertDescription::ILLEGAL_PARAMETER,
                "ClientHello does not offer the null compression method",
            ));
        }
        skip_extensions(&mut r)?;
        Ok(Self {
            version,
            random,
            suites,
        })
    }
}

/// A ServerHello's fields that matter to a TLCP client.
pub(crate) struct ServerHello {
    pub(crate) version: u16,
    pub(crate) random: [u8; RANDOM_LEN],
    pub(crate) suite: u16,
}

impl ServerHello {
    /// The ServerHello body this server sends: no session id (no resumption), no
    /// extensions.
    pub(crate) fn encode(random: &[u8; RANDOM_LEN], suite: u16) -> Vec<u8> {
        let mut out = VERSION.to_be_bytes().to_vec();
        out.extend_from_slice(random);
        put_vec(&mut out, 1, &[]);
        out.extend_from_slice(&suite.to_be_bytes());
        out.push(0);
        out
    }

    pub(crate) fn decode(body: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(body, "ServerHello");
        let version = r.u16()?;
        let random = r.take(RANDOM_LEN)?.try_into().expect("taken 32");
        if r.vec8()?.len() > 32 {
            return Err(Error::decode("ServerHello session id"));
        }
        let suite = r.u16()?;
        if r.u8()? != 0 {
            return Err(Error::alert(
                AlertDescription::ILLEGAL_PARAMETER,
                "ServerHello picks a compression method",
            ));
        }
        skip_extensions(&mut r)?;
        Ok(Self {
            version,
            random,
            suite,
        })
    }
}

/// Checks the optional extensions block that ends a hello is well formed, and skips
/// it: this implementation negotiates nothing through extensions.
fn skip_extensions(r: &mut Reader<'_>) -> Result<(), Error> {
    if !r.rest_is_empty() {
        let mut exts = Reader::new(r.vec16()?, "hello extensions");
        while !exts.rest_is_empty() {
            exts.u16()?;
            exts.vec16()?;
        }
    }
    r.finish()
}

/// A Certificate body: `opaque ASN.1Cert<1..2^24-1> certificate_list<0..2^24-1>`.
pub(crate) fn encode_certificates<'a>(certs: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut list = Vec::new();
    for cert in certs {
        put_vec(&mut list, 3, cert);
    }
    let mut out = Vec::with_capacity(list.len() + 3);
    put_vec(&mut out, 3, &list);
    out
}

pub(crate) fn decode_certificates(body: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let mut r = Reader::new(body, "Certificate");
    let list = r.vec24()?;
    r.finish()?;
    let mut r = Reader::new(list, "Certificate");
    let mut certs = Vec::new();
    while !r.rest_is_empty() {
        let cert = r.vec24()?;
        if cert.is_empty() {
            return Err(Error::decode("Certificate (empty entry)"));
        }
        certs.push(CertificateDer::from(cert.to_vec()));
    }
    Ok(certs)
}

/// The ECDHE `ECParameters` and public point, as ServerKeyExchange and
/// ClientKeyExchange carry them.
pub(crate) fn encode_ecdhe_point(point: &[u8]) -> Vec<u8> {
    let mut out = SM2_CURVE_PARAMS.to_vec();
    put_vec(&mut out, 1, point);
    out
}

/// Reads `ECParameters` (which must name curve SM2) and the point after them.
pub(crate) fn read_ecdhe_point<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], Error> {
    if r.take(3)? != SM2_CURVE_PARAMS {
        return Err(Error::alert(
            AlertDescription::ILLEGAL_PARAMETER,
            "ECDHE parameters do not name curve SM2",
        ));
    }
    r.vec8()
}

/// A CertificateRequest body: certificate types and the CAs' names (no signature
/// algorithms: TLCP has none to negotiate).
pub(crate) fn encode_certificate_request(ca_names: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    put_vec(&mut out, 1, &CERT_TYPES);
    let mut names = Vec::new();
    for name in ca_names {
        put_vec(&mut names, 2, name);
    }
    put_vec(&mut out, 2, &names);
    out
}

/// Checks a CertificateRequest is well formed (its content does not change which
/// certificates this client has).
pub(crate) fn check_certificate_request(body: &[u8]) -> Result<(), Error> {
    let mut r = Reader::new(body, "CertificateRequest");
    r.vec8()?;
    let mut names = Reader::new(r.vec16()?, "CertificateRequest");
    while !names.rest_is_empty() {
        names.vec16()?;
    }
    r.finish()
}

/// Wraps a handshake body in its header.
pub(crate) fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(kind);
    put_u24(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hellos_round_trip() {
        let random = [5u8; 32];
        let ch = ClientHello::decode(&ClientHello::encode(&random, &[0xe013, 0xe051])).unwrap();
        assert_eq!(
            (ch.version, ch.random, ch.suites),
            (VERSION, random, vec![0xe013, 0xe051])
        );
        let sh = ServerHello::decode(&ServerHello::encode(&random, 0xe053)).unwrap();
        assert_eq!((sh.version, sh.random, sh.suite), (VERSION, random, 0xe053));
    }

    #[test]
    fn malformed_hellos_are_decode_errors() {
        let good = ClientHello::encode(&[0; 32], &[0xe013]);
        for cut in [0, 1, 20, 34, 36, good.len() - 1] {
            assert!(ClientHello::decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut odd = good.clone();
        odd[36] = 1; // cipher suite list of one byte
        assert!(ClientHello::decode(&odd).is_err());
    }

    #[test]
    fn certificates_round_trip_and_refuse_empty_entries() {
        let body = encode_certificates([&b"abc"[..], &b"de"[..]]);
        let certs = decode_certificates(&body).unwrap();
        assert_eq!(certs.len(), 2);
        assert_eq!(certs[1].as_ref(), b"de");
        assert!(decode_certificates(&encode_certificates([&b""[..]])).is_err());
        assert!(decode_certificates(&body[..body.len() - 1]).is_err());
        assert!(decode_certificates(&encode_certificates([]))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn certificate_request_round_trips() {
        let body = encode_certificate_request(&[vec![0x30, 0]]);
        check_certificate_request(&body).unwrap();
        assert!(check_certificate_request(&body[..body.len() - 1]).is_err());
    }
}
