//! The validated TLS model (`tls_context` of listeners and clusters), as `mosn-config`
//! produces it and every builder in this crate reads it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where PEM text comes from: MOSN accepts a file path or the PEM itself in the same key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PemSource {
    /// A file, re-read when its modification time changes.
    File(PathBuf),
    /// PEM given inline in the config.
    Inline(Arc<str>),
}

impl PemSource {
    /// Inline PEM `text`, sharing one copy with every other source of equal text (a
    /// mesh's clusters all carry the same workload certificate).
    pub fn inline(text: &str) -> Self {
        PemSource::Inline(crate::shared::pem_text(text))
    }

    /// Inline PEM when `text` holds a PEM header, otherwise a path. A relative path is
    /// looked up in the process CWD (as MOSN does) and, when nothing is there, next to the
    /// config file (`base_dir`), so configs that name `../certs/x.pem` work from anywhere.
    pub fn from_config(text: &str, base_dir: Option<&Path>) -> Self {
        if text.contains("-----BEGIN") {
            return PemSource::inline(text);
        }
        let path = PathBuf::from(text);
        match base_dir {
            Some(dir) if path.is_relative() && !path.exists() => PemSource::File(dir.join(path)),
            _ => PemSource::File(path),
        }
    }

    /// The file behind this source, if any (what the certificate watcher polls).
    pub fn path(&self) -> Option<&Path> {
        match self {
            PemSource::File(path) => Some(path),
            PemSource::Inline(_) => None,
        }
    }

    /// The PEM bytes; a file is read now.
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        match self {
            PemSource::File(path) => std::fs::read(path),
            PemSource::Inline(text) => Ok(text.as_bytes().to_vec()),
        }
    }

    /// A short description for messages: the path, or `inline PEM`.
    pub fn describe(&self) -> String {
        match self {
            PemSource::File(path) => path.display().to_string(),
            PemSource::Inline(_) => "inline PEM".to_owned(),
        }
    }
}

/// A TLS protocol version rustls offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// One `tls_context` with `status: true` (MOSN's `v2.TLSConfig`), names already checked
/// against the crypto provider (see [`crate::provider`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TlsContextConfig {
    /// `server_name`: on a cluster the SNI sent (and the name the server certificate must
    /// carry); on a listener one more name this context answers for in a `tls_context_set`.
    pub server_name: Option<String>,
    /// `ca_cert`: trusted roots for verifying the peer.
    pub ca_cert: Option<PemSource>,
    /// `cert_chain`: this side's certificate chain, leaf first.
    pub cert_chain: Option<PemSource>,
    /// `private_key`: the key of `cert_chain`'s leaf.
    pub private_key: Option<PemSource>,
    /// `verify_client` (listeners): ask clients for a certificate and verify it against
    /// `ca_cert`.
    pub verify_client: bool,
    /// `require_client_cert` (listeners, with `verify_client`): refuse clients without one.
    pub require_client_cert: bool,
    /// `insecure_skip` (clusters): do not verify the server certificate.
    pub insecure_skip: bool,
    /// `cipher_suites` (`:`-separated), canonical IANA names; empty means the provider's
    /// defaults. Naming `TLS_SM4_GCM_SM3`/`TLS_SM4_CCM_SM3` selects the ShangMi provider.
    pub cipher_suites: Vec<String>,
    /// `ecdh_curves` (`,`-separated), lower-case (`x25519`, `p256`, `p384`, `curvesm2`);
    /// empty means the provider's defaults.
    pub ecdh_curves: Vec<String>,
    /// `min_version`; `None` is the lowest rustls offers (TLS 1.2).
    pub min_version: Option<TlsVersion>,
    /// `max_version`; `None` is TLS 1.3.
    pub max_version: Option<TlsVersion>,
    /// `alpn` (`,`-separated): protocols offered (clusters) or accepted (listeners), in
    /// preference order, e.g. `h2`, `http/1.1`.
    pub alpn: Vec<String>,
    /// `extend_verify.spiffe_ids` (a mosn-rs key): the peer certificate must carry one of
    /// these URI SANs (exact, or a prefix ending in `/` or `*`, e.g.
    /// `spiffe://cluster.local/ns/default/*`); empty accepts any verified peer.
    pub spiffe_ids: Vec<String>,
    /// `type: "tlcp"`: the context speaks TLCP (GB/T 38636) with a signing pair
    /// (`cert_chain`/`private_key`) and an encryption pair, not TLS. `cipher_suites` then
    /// holds TLCP suites (Tongsuo's names, e.g. `ECC-SM2-SM4-CBC-SM3`).
    pub tlcp: bool,
    /// `enc_cert_chain` (TLCP): the encryption certificate, leaf first.
    pub enc_cert_chain: Option<PemSource>,
    /// `enc_private_key` (TLCP): the key of `enc_cert_chain`'s leaf.
    pub enc_private_key: Option<PemSource>,
}

impl TlsContextConfig {
    /// The files this context reads, for the certificate watcher.
    pub fn files(&self) -> Vec<PathBuf> {
        [
            &self.ca_cert,
            &self.cert_chain,
            &self.private_key,
            &self.enc_cert_chain,
            &self.enc_private_key,
        ]
        .into_iter()
        .flatten()
        .filter_map(|s| s.path().map(Path::to_path_buf))
        .collect()
    }
}
