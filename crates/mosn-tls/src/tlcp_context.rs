//! The TLCP (GB/T 38636) side of the TLS model: a `tls_context` with `type: "tlcp"`
//! becomes a `tlcp` crate server or client config — signing pair in
//! `cert_chain`/`private_key`, encryption pair in `enc_cert_chain`/`enc_private_key`,
//! suites by Tongsuo's names in `cipher_suites`, `ca_cert` for the peer's chains.

use crate::config::{PemSource, TlsContextConfig};
use crate::expiry;
use crate::keys::{read, TlsError};
use std::sync::Arc;
use tlcp::{CertifiedKey, CipherSuite, ClientAuth, RootCerts};

/// The canonical (Tongsuo) name of a TLCP suite, or why `name` is not one.
pub fn suite_name(name: &str) -> Result<&'static str, String> {
    CipherSuite::from_name(name)
        .map(CipherSuite::name)
        .ok_or_else(|| {
            let known: Vec<&str> = CipherSuite::ALL.iter().map(|s| s.name()).collect();
            format!(
                "unknown TLCP cipher suite {name:?}, expected one of {}",
                known.join(", ")
            )
        })
}

/// A built TLCP listener context.
#[derive(Clone)]
pub struct TlcpServer {
    /// The handshake config.
    pub config: Arc<tlcp::ServerConfig>,
    /// The earliest `notAfter` of both certificates.
    pub not_after: Option<i64>,
}

impl std::fmt::Debug for TlcpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlcpServer")
    }
}

/// Builds a listener context: both pairs required; `verify_client` verifies client
/// pairs against `ca_cert`, `require_client_cert` refuses clients without one.
pub fn server(cfg: &TlsContextConfig) -> Result<TlcpServer, TlsError> {
    let sign = pair(
        &cfg.cert_chain,
        "cert_chain",
        &cfg.private_key,
        "private_key",
    )?
    .ok_or_else(|| {
        TlsError::new(
            "cert_chain",
            "a TLCP listener needs cert_chain and private_key (the signing pair)",
        )
    })?;
    let enc = pair(
        &cfg.enc_cert_chain,
        "enc_cert_chain",
        &cfg.enc_private_key,
        "enc_private_key",
    )?
    .ok_or_else(|| {
        TlsError::new(
            "enc_cert_chain",
            "a TLCP listener needs enc_cert_chain and enc_private_key (the encryption pair)",
        )
    })?;
    let client_auth = if cfg.verify_client {
        let roots = roots(
            cfg,
            "verify_client needs ca_cert to verify client certificates with",
        )?;
        if cfg.require_client_cert {
            ClientAuth::Required(roots)
        } else {
            ClientAuth::Optional(roots)
        }
    } else {
        ClientAuth::None
    };
    let not_after = expiry::first_not_after(sign.chain().iter().chain(enc.chain()));
    let config = tlcp::ServerConfig::new(sign, enc, suites(cfg), client_auth)
        .map_err(|e| TlsError::new("cert_chain", e.to_string()))?;
    Ok(TlcpServer {
        config: Arc::new(config),
        not_after,
    })
}

/// A built TLCP cluster context.
pub struct TlcpClient {
    /// The handshake config.
    pub config: Arc<tlcp::ClientConfig>,
    /// The earliest `notAfter` of the client's certificates, if it has any.
    pub not_after: Option<i64>,
}

/// Builds a cluster context: `ca_cert` verifies the server (unless `insecure_skip`);
/// the optional client pairs are sent when the server asks (the ECDHE suites need them).
pub fn client(cfg: &TlsContextConfig) -> Result<TlcpClient, TlsError> {
    let roots = if cfg.insecure_skip {
        None
    } else {
        Some(roots(
            cfg,
            "a TLCP cluster needs ca_cert (SM2 roots are not in the web PKI), or insecure_skip",
        )?)
    };
    let mut config = tlcp::ClientConfig::new(roots, suites(cfg));
    let sign = pair(
        &cfg.cert_chain,
        "cert_chain",
        &cfg.private_key,
        "private_key",
    )?;
    let enc = pair(
        &cfg.enc_cert_chain,
        "enc_cert_chain",
        &cfg.enc_private_key,
        "enc_private_key",
    )?;
    let mut not_after = None;
    match (sign, enc) {
        (Some(sign), Some(enc)) => {
            not_after = expiry::first_not_after(sign.chain().iter().chain(enc.chain()));
            config = config
                .with_client_certs(sign, enc)
                .map_err(|e| TlsError::new("cert_chain", e.to_string()))?;
        }
        (None, None) => {
            if cfg
                .cipher_suites
                .iter()
                .all(|n| CipherSuite::from_name(n).is_some_and(CipherSuite::is_ecdhe))
                && !cfg.cipher_suites.is_empty()
            {
                return Err(TlsError::new(
                    "cipher_suites",
                    "the ECDHE TLCP suites need the client's signing and encryption pairs",
                ));
            }
        }
        (Some(_), None) => {
            return Err(TlsError::new(
                "enc_cert_chain",
                "a TLCP client certificate needs its encryption pair too",
            ))
        }
        (None, Some(_)) => {
            return Err(TlsError::new(
                "cert_chain",
                "a TLCP client certificate needs its signing pair too",
            ))
        }
    }
    Ok(TlcpClient {
        config: Arc::new(config),
        not_after,
    })
}

fn suites(cfg: &TlsContextConfig) -> Vec<CipherSuite> {
    cfg.cipher_suites
        .iter()
        .filter_map(|n| CipherSuite::from_name(n))
        .collect()
}

fn roots(cfg: &TlsContextConfig, missing: &str) -> Result<RootCerts, TlsError> {
    let ca = cfg
        .ca_cert
        .as_ref()
        .ok_or_else(|| TlsError::new("ca_cert", missing))?;
    RootCerts::from_pem(&read(ca, "ca_cert")?)
        .map_err(|e| TlsError::new("ca_cert", format!("{}: {e}", ca.describe())))
}

/// One certificate pair, `None` when neither half is set.
fn pair(
    chain: &Option<PemSource>,
    chain_key: &'static str,
    key: &Option<PemSource>,
    key_key: &'static str,
) -> Result<Option<CertifiedKey>, TlsError> {
    match (chain, key) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(TlsError::new(
            key_key,
            format!("{chain_key} is set without {key_key}"),
        )),
        (None, Some(_)) => Err(TlsError::new(
            chain_key,
            format!("{key_key} is set without {chain_key}"),
        )),
        (Some(chain), Some(key)) => {
            CertifiedKey::from_pem(&read(chain, chain_key)?, &read(key, key_key)?)
                .map(Some)
                .map_err(|e| {
                    TlsError::new(
                        chain_key,
                        format!("{} with {}: {e}", chain.describe(), key.describe()),
                    )
                })
        }
    }
}
