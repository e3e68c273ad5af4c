//! What an upstream connection is pooled under.
//!
//! Two connections are interchangeable only when they reach the same address under the
//! same TLS identity: SNI, client certificate, trust roots, ALPN, verification settings
//! and TLS versus TLCP all live in one built cluster context (`mosn_tls::ClusterTls`),
//! which carries a process-unique id. Keying on the address alone let two clusters that
//! reach one server under different names or client certificates share a connection, so
//! one cluster's requests went out under the other's identity.

use mosn_config::Address;
use mosn_upstream::{Cluster, Host};
use std::num::NonZeroU64;
use std::sync::Arc;

/// The key of every upstream pool (`ConnPool`, `H2Pool`, `MuxPool`): the host's address
/// and the id of the TLS context its connections handshake with (`None` for plaintext,
/// including hosts with `tls_disable`). Plaintext connections to one address from two
/// clusters are identical and may be shared; the cluster's name is deliberately not part
/// of the key, so a cluster rebuilt with the same context keeps its connections.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    address: Address,
    tls: Option<NonZeroU64>,
}

impl PoolKey {
    /// The key of connections to `host` of `cluster`. Cheap: no allocation for TCP hosts.
    pub fn new(cluster: &Cluster, host: &Host) -> Self {
        PoolKey {
            address: host.address.clone(),
            tls: client_tls(cluster, host).map(|t| t.id()),
        }
    }

    /// The address connections under this key go to.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The id of the TLS context the connections handshake with; `None` for plaintext.
    pub fn tls_id(&self) -> Option<NonZeroU64> {
        self.tls
    }
}

/// The TLS context connections to `host` of `cluster` handshake with: the cluster's,
/// unless the host has `tls_disable`. The one rule both the key and the connect follow.
pub(crate) fn client_tls<'c>(
    cluster: &'c Cluster,
    host: &Host,
) -> Option<&'c Arc<mosn_tls::ClusterTls>> {
    cluster.tls.as_ref().filter(|_| !host.tls_disable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosn_config::ClusterConfig;
    use mosn_tls::{cluster_tls, TlsContextConfig};

    fn cluster(addr: &Address, server_name: Option<&str>) -> Cluster {
        let cfg = ClusterConfig::static_hosts("c", std::slice::from_ref(addr));
        let mut cluster = Cluster::from_config(&cfg, Arc::default());
        cluster.tls = server_name.map(|name| {
            let ctx = TlsContextConfig {
                server_name: Some(name.to_owned()),
                ..Default::default()
            };
            cluster_tls(name, Arc::new(ctx)).expect("a client context with the default roots")
        });
        cluster
    }

    #[test]
    fn tls_identity_separates_keys_and_plaintext_shares_them() {
        let addr = Address::Tcp("127.0.0.1:8443".parse().unwrap());
        let (a, b) = (
            cluster(&addr, Some("a.test")),
            cluster(&addr, Some("b.test")),
        );
        let (ka, kb) = (
            PoolKey::new(&a, &a.hosts()[0]),
            PoolKey::new(&b, &b.hosts()[0]),
        );
        assert_eq!(ka.address(), kb.address());
        assert!(ka.tls_id().is_some() && kb.tls_id().is_some());
        assert_ne!(ka, kb, "same address, different TLS contexts");
        assert_eq!(ka, PoolKey::new(&a, &a.hosts()[0]), "stable per context");

        // Plaintext clusters to one address get the one plaintext key.
        let (p, q) = (cluster(&addr, None), cluster(&addr, None));
        let plain = PoolKey::new(&p, &p.hosts()[0]);
        assert_eq!(plain.tls_id(), None);
        assert_eq!(plain, PoolKey::new(&q, &q.hosts()[0]));

        // A `tls_disable` host of a TLS cluster is reached in plaintext: same key.
        let mut host = Host::new(addr.clone(), None, 1);
        host.tls_disable = true;
        assert_eq!(PoolKey::new(&a, &host), plain);
        assert_ne!(PoolKey::new(&a, &host), ka);
    }
}
