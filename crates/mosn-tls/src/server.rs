//! Listener side: one rustls `ServerConfig` per `tls_context`, chosen per connection from
//! the ClientHello by SNI, then cipher suites, then ALPN (MOSN's `tls_context_set` rules,
//! plus suites so ShangMi and international certificates can share a port).

use crate::config::TlsContextConfig;
use crate::keys::{load_certified_key, load_roots, TlsError};
use crate::provider::{provider_for, ticketer, versions};
use crate::reload::Reloadable;
use crate::tlcp_context::TlcpServer;
use crate::verify::SpiffeClientVerifier;
use crate::{expiry, names};
use rustls::server::{
    ClientHello, ProducesTickets, ResolvesServerCert, ServerSessionMemoryCache,
    StoresServerSessions, WebPkiClientVerifier,
};
use rustls::sign::CertifiedKey;
use rustls::{CipherSuite, ServerConfig};
use std::sync::Arc;

/// TLS 1.2 session-ID cache size per listener context.
const SESSION_CACHE: usize = 4096;

/// Session-resumption state shared by every rebuild of one listener's contexts, so a
/// certificate rotation does not invalidate tickets or cached sessions.
#[derive(Clone)]
pub struct ServerResumption {
    ticketer: Arc<dyn ProducesTickets>,
    cache: Arc<dyn StoresServerSessions>,
}

impl std::fmt::Debug for ServerResumption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerResumption")
    }
}

impl ServerResumption {
    /// Fresh ticket keys and an empty session cache.
    pub fn new() -> Result<Self, TlsError> {
        Ok(ServerResumption {
            ticketer: ticketer().map_err(|e| TlsError::new("status", e.to_string()))?,
            cache: ServerSessionMemoryCache::new(SESSION_CACHE),
        })
    }
}

#[derive(Debug)]
struct OneCert(Arc<CertifiedKey>);

impl ResolvesServerCert for OneCert {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// One built listener context.
#[derive(Debug)]
struct ServerContext {
    config: Arc<ServerConfig>,
    /// Certificate CN and DNS SANs plus `server_name`: the SNIs this context answers.
    names: Vec<String>,
    alpn: Vec<Vec<u8>>,
    not_after: Option<i64>,
}

fn build_context(
    cfg: &TlsContextConfig,
    resumption: &ServerResumption,
) -> Result<ServerContext, TlsError> {
    let provider = provider_for(cfg)?;
    let (Some(chain), Some(key)) = (&cfg.cert_chain, &cfg.private_key) else {
        let missing = if cfg.cert_chain.is_none() {
            "cert_chain"
        } else {
            "private_key"
        };
        return Err(TlsError::new(
            missing,
            "a listener TLS context needs cert_chain and private_key",
        ));
    };
    let certified = load_certified_key(chain, key, &provider)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(cfg))
        .map_err(|e| TlsError::new("min_version", e.to_string()))?;
    let builder = if cfg.verify_client {
        let Some(ca) = &cfg.ca_cert else {
            return Err(TlsError::new(
                "ca_cert",
                "verify_client needs ca_cert to verify client certificates with",
            ));
        };
        let mut verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(load_roots(ca)?), provider);
        if !cfg.require_client_cert {
            verifier = verifier.allow_unauthenticated();
        }
        let inner = verifier
            .build()
            .map_err(|e| TlsError::new("ca_cert", e.to_string()))?;
        builder.with_client_cert_verifier(Arc::new(SpiffeClientVerifier {
            inner,
            allowed_ids: cfg.spiffe_ids.clone(),
        }))
    } else {
        builder.with_no_client_auth()
    };
    let mut names = certified
        .end_entity_cert()
        .map(names::cert_names)
        .unwrap_or_default();
    names.extend(cfg.server_name.iter().map(|n| n.to_ascii_lowercase()));
    let not_after = expiry::first_not_after(certified.cert.iter());
    let mut config = builder.with_cert_resolver(Arc::new(OneCert(Arc::new(certified))));
    config.alpn_protocols = cfg.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    config.ticketer = resumption.ticketer.clone();
    config.session_storage = resumption.cache.clone();
    Ok(ServerContext {
        config: Arc::new(config),
        names,
        alpn: cfg.alpn.iter().map(|p| p.as_bytes().to_vec()).collect(),
        not_after,
    })
}

/// Checks that a listener context can be built (files readable, key matching the
/// certificate, CA parseable), for config validation.
pub fn check_server_context(cfg: &TlsContextConfig) -> Result<(), TlsError> {
    if cfg.tlcp {
        return crate::tlcp_context::server(cfg).map(drop);
    }
    build_context(cfg, &ServerResumption::new()?).map(drop)
}

/// The contexts of one filter chain (`tls_context`, or `tls_context_set` in order):
/// TLS ones (rustls) and TLCP ones.
#[derive(Debug)]
pub struct ServerTls {
    contexts: Vec<ServerContext>,
    tlcp: Vec<TlcpServer>,
}

impl ServerTls {
    /// Builds every context; the first failure is returned.
    pub fn build(
        cfgs: &[TlsContextConfig],
        resumption: &ServerResumption,
    ) -> Result<Self, TlsError> {
        let contexts = cfgs
            .iter()
            .filter(|c| !c.tlcp)
            .map(|c| build_context(c, resumption))
            .collect::<Result<_, _>>()?;
        let tlcp = cfgs
            .iter()
            .filter(|c| c.tlcp)
            .map(crate::tlcp_context::server)
            .collect::<Result<_, _>>()?;
        Ok(ServerTls { contexts, tlcp })
    }

    /// Whether the chain answers TLS ClientHellos.
    pub fn serves_tls(&self) -> bool {
        !self.contexts.is_empty()
    }

    /// The chain's TLCP context (the first, when a set has several), if any.
    pub fn tlcp(&self) -> Option<Arc<tlcp::ServerConfig>> {
        self.tlcp.first().map(|t| t.config.clone())
    }

    /// The config for a ClientHello: the contexts whose names match the SNI (all when none
    /// does), of those the ones sharing a cipher suite with the client (so ShangMi and
    /// international certificates can serve one port; all when none does), then the
    /// first of them that shares an ALPN protocol with the client, else the first of them.
    pub fn select<'a>(
        &self,
        sni: Option<&str>,
        alpn: impl Iterator<Item = &'a [u8]> + Clone,
        suites: &[CipherSuite],
    ) -> Option<Arc<ServerConfig>> {
        let by_sni: Vec<&ServerContext> = match sni {
            Some(sni) => self
                .contexts
                .iter()
                .filter(|c| names::sni_matches(&c.names, sni))
                .collect(),
            None => Vec::new(),
        };
        let by_sni: Vec<&ServerContext> = if by_sni.is_empty() {
            self.contexts.iter().collect()
        } else {
            by_sni
        };
        let by_suite: Vec<&ServerContext> = by_sni
            .iter()
            .copied()
            .filter(|c| {
                let ours = &c.config.crypto_provider().cipher_suites;
                ours.iter().any(|s| suites.contains(&s.suite()))
            })
            .collect();
        let candidates = if by_suite.is_empty() {
            by_sni
        } else {
            by_suite
        };
        candidates
            .iter()
            .find(|c| alpn.clone().any(|p| c.alpn.iter().any(|a| a == p)))
            .or(candidates.first())
            .map(|c| c.config.clone())
    }

    /// Days until the first certificate of any context expires.
    pub fn days_until_first_cert_expiring(&self) -> Option<i64> {
        self.contexts
            .iter()
            .filter_map(|c| c.not_after)
            .chain(self.tlcp.iter().filter_map(|t| t.not_after))
            .min()
            .map(expiry::days_until)
    }
}

/// A filter chain's TLS contexts, rebuilt when their files change.
pub type ListenerTls = Reloadable<ServerTls>;

/// Builds a chain's contexts and arranges their reload; `name` labels logs.
pub fn listener_tls(name: &str, cfgs: Vec<TlsContextConfig>) -> Result<Arc<ListenerTls>, TlsError> {
    let resumption = ServerResumption::new()?;
    let files = cfgs.iter().flat_map(TlsContextConfig::files).collect();
    Reloadable::new(name, files, move || ServerTls::build(&cfgs, &resumption))
}
