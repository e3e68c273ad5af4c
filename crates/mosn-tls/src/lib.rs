//! NET/IO security: rustls configs built from the validated `tls_context` model, the
//! certificate files watched and hot-swapped, SNI/suite/ALPN context selection, SPIFFE peer
//! verification, certificate expiry, and the one crypto-provider seam (`provider`): rustls'
//! ring provider, or `gm-crypto`'s RFC 8998 one for contexts whose `cipher_suites` name
//! the ShangMi TLS 1.3 suites (`TLS_SM4_GCM_SM3`, `TLS_SM4_CCM_SM3`).
#![forbid(unsafe_code)]

mod client;
mod config;
mod expiry;
mod keys;
mod names;
pub mod provider;
mod reload;
mod server;
mod shangmi;
mod shared;
mod spiffe;
pub mod tlcp_context;
mod verify;

pub use client::{check_client_context, cluster_tls, ClientStream, ClientTls, ClusterTls};
pub use config::{PemSource, TlsContextConfig, TlsVersion};
pub use keys::TlsError;
pub use reload::{CertWatcher, Reloadable, Watched};
pub use server::{check_server_context, listener_tls, ListenerTls, ServerResumption, ServerTls};
pub use spiffe::peer_identity;
pub use tlcp;
pub use tokio_rustls;
pub use tokio_rustls::rustls;

/// The first byte of a TLS record carrying a handshake (a ClientHello starts with it);
/// plaintext HTTP, RPC magic bytes and the HTTP/2 preface never do.
pub const TLS_HANDSHAKE_BYTE: u8 = 0x16;
