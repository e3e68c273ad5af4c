//! Cluster side: the rustls `ClientConfig` of a cluster's `tls_context` and the
//! handshake on a fresh upstream connection.

use crate::config::TlsContextConfig;
use crate::expiry;
use crate::keys::{load_certified_key, load_roots, TlsError};
use crate::provider::{provider_for, versions};
use crate::reload::Reloadable;
use crate::shared::WeakMap;
use crate::verify::ServerCheck;
use rustls::client::{
    ClientSessionMemoryCache, ResolvesClientCert, Resumption, WebPkiServerVerifier,
};
use rustls::pki_types::ServerName;
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;
use rustls::{ClientConfig, RootCertStore};
use std::sync::{Arc, LazyLock};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Sessions remembered per context for resumption.
const SESSION_CACHE: usize = 1024;

#[derive(Debug)]
struct OneClientCert(Arc<CertifiedKey>);

impl ResolvesClientCert for OneClientCert {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A built cluster context: TLS (rustls) or TLCP.
pub struct ClientTls {
    handshake: Handshake,
    not_after: Option<i64>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.handshake {
            Handshake::Tls { .. } => "ClientTls(TLS)",
            Handshake::Tlcp { .. } => "ClientTls(TLCP)",
        })
    }
}

/// What a new upstream connection runs.
enum Handshake {
    Tls {
        context: Arc<ClientContext>,
        server_name: Option<ServerName<'static>>,
    },
    Tlcp {
        config: Arc<tlcp::ClientConfig>,
        server_name: Option<String>,
    },
}

/// An upstream connection after its handshake.
pub enum ClientStream {
    /// TLS, by rustls.
    Tls(Box<TlsStream<TcpStream>>),
    /// TLCP.
    Tlcp(Box<tlcp::TlcpStream<TcpStream>>),
}

/// Builds a cluster's context; `cache` is the cluster's own session cache when its PEMs
/// come from files (the context is then rebuilt when they change), `None` when they are
/// inline (the context is then shared).
fn build(
    cfg: &TlsContextConfig,
    cache: Option<&Arc<ClientSessionMemoryCache>>,
) -> Result<ClientTls, TlsError> {
    if cfg.tlcp {
        let built = crate::tlcp_context::client(cfg)?;
        return Ok(ClientTls {
            handshake: Handshake::Tlcp {
                config: built.config,
                server_name: cfg.server_name.clone(),
            },
            not_after: built.not_after,
        });
    }
    let server_name = match &cfg.server_name {
        Some(name) => Some(
            ServerName::try_from(name.clone())
                .map_err(|e| TlsError::new("server_name", format!("{name:?}: {e}")))?,
        ),
        None => None,
    };
    let context = match cache {
        Some(cache) => Arc::new(client_context(cfg, cache.clone())?),
        None => {
            // Inline PEMs only: one context for every cluster whose settings differ at
            // most in SNI, which is given per connection.
            let key = TlsContextConfig {
                server_name: None,
                ..cfg.clone()
            };
            SHARED_CONTEXTS.get_or_insert(key, || {
                let cache = Arc::new(ClientSessionMemoryCache::new(SESSION_CACHE));
                client_context(cfg, cache).map(Arc::new)
            })?
        }
    };
    Ok(ClientTls {
        not_after: context.not_after,
        handshake: Handshake::Tls {
            context,
            server_name,
        },
    })
}

/// A rustls client config and its certificate's expiry: what clusters share.
struct ClientContext {
    config: Arc<ClientConfig>,
    not_after: Option<i64>,
}

/// Contexts built from inline PEMs, by their settings without SNI.
static SHARED_CONTEXTS: LazyLock<WeakMap<TlsContextConfig, ClientContext>> =
    LazyLock::new(WeakMap::new);

/// Builds the rustls side of `cfg`, resuming sessions through `cache`.
fn client_context(
    cfg: &TlsContextConfig,
    cache: Arc<ClientSessionMemoryCache>,
) -> Result<ClientContext, TlsError> {
    let provider = provider_for(cfg)?;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(cfg))
        .map_err(|e| TlsError::new("min_version", e.to_string()))?;
    let check = if cfg.insecure_skip {
        ServerCheck::Insecure {
            provider: provider.clone(),
            allowed_ids: cfg.spiffe_ids.clone(),
        }
    } else {
        let roots = match &cfg.ca_cert {
            Some(ca) => load_roots(ca)?,
            None => RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            },
        };
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| TlsError::new("ca_cert", e.to_string()))?;
        ServerCheck::WebPki {
            inner,
            allowed_ids: cfg.spiffe_ids.clone(),
        }
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(check));
    let mut not_after = None;
    let mut config = match (&cfg.cert_chain, &cfg.private_key) {
        (Some(chain), Some(key)) => {
            let certified = load_certified_key(chain, key, &provider)?;
            not_after = expiry::first_not_after(certified.cert.iter());
            builder.with_client_cert_resolver(Arc::new(OneClientCert(Arc::new(certified))))
        }
        (Some(_), None) => {
            return Err(TlsError::new(
                "private_key",
                "cert_chain is set without private_key",
            ))
        }
        (None, Some(_)) => {
            return Err(TlsError::new(
                "cert_chain",
                "private_key is set without cert_chain",
            ))
        }
        (None, None) => builder.with_no_client_auth(),
    };
    config.alpn_protocols = cfg.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    config.resumption = Resumption::store(cache);
    Ok(ClientContext {
        config: Arc::new(config),
        not_after,
    })
}

/// Checks that a cluster context can be built, for config validation. An inline one is
/// built as the cluster will build it, shared: 10,000 clusters with the same certificate
/// are checked by parsing it once.
pub fn check_client_context(cfg: &TlsContextConfig) -> Result<(), TlsError> {
    let cache = (!cfg.files().is_empty()).then(|| Arc::new(ClientSessionMemoryCache::new(1)));
    build(cfg, cache.as_ref()).map(drop)
}

impl ClientTls {
    /// Handshakes over `tcp`. The SNI (for TLCP: the name the server's signing
    /// certificate must carry) is `server_name`, else `host_name` (the host's `hostname`
    /// or IP address).
    pub async fn connect(&self, tcp: TcpStream, host_name: &str) -> std::io::Result<ClientStream> {
        match &self.handshake {
            Handshake::Tls {
                context,
                server_name,
            } => {
                let name = match server_name {
                    Some(name) => name.clone(),
                    None => ServerName::try_from(host_name.to_owned())
                        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
                };
                TlsConnector::from(context.config.clone())
                    .connect(name, tcp)
                    .await
                    .map(|s| ClientStream::Tls(Box::new(s)))
            }
            Handshake::Tlcp {
                config,
                server_name,
            } => {
                let name = server_name.as_deref().unwrap_or(host_name);
                tlcp::connect(config.clone(), Some(name), tcp)
                    .await
                    .map(|s| ClientStream::Tlcp(Box::new(s)))
                    .map_err(Into::into)
            }
        }
    }

    /// Days until this side's client certificate expires (`None` without one).
    pub fn days_until_first_cert_expiring(&self) -> Option<i64> {
        self.not_after.map(expiry::days_until)
    }
}

/// A cluster's TLS context, rebuilt when its files change.
pub type ClusterTls = Reloadable<ClientTls>;

/// Builds a cluster's context and arranges its reload; `name` labels logs.
pub fn cluster_tls(name: &str, cfg: Arc<TlsContextConfig>) -> Result<Arc<ClusterTls>, TlsError> {
    let files = cfg.files();
    let cache = (!files.is_empty()).then(|| Arc::new(ClientSessionMemoryCache::new(SESSION_CACHE)));
    Reloadable::new(name, files, move || build(&cfg, cache.as_ref()))
}
