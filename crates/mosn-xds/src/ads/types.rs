//! The resource types the ADS client subscribes to, in Envoy's order.

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::Secret;
use prost::Name;

/// One xDS resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum XdsType {
    /// CDS.
    Cluster,
    /// EDS.
    Endpoint,
    /// LDS.
    Listener,
    /// RDS.
    Route,
    /// SDS.
    Secret,
}

impl XdsType {
    /// Every type, in the order Envoy initializes them (clusters and their endpoints
    /// before listeners and their routes).
    pub const ALL: [XdsType; 5] = [
        Self::Cluster,
        Self::Endpoint,
        Self::Listener,
        Self::Route,
        Self::Secret,
    ];

    /// The type URL on the wire.
    pub fn url(self) -> String {
        match self {
            Self::Cluster => Cluster::type_url(),
            Self::Endpoint => ClusterLoadAssignment::type_url(),
            Self::Listener => Listener::type_url(),
            Self::Route => RouteConfiguration::type_url(),
            Self::Secret => Secret::type_url(),
        }
    }

    /// The type a URL names, if the client knows it.
    pub fn from_url(url: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.url() == url)
    }

    /// Wildcard types: the subscription is "everything", and in state of the world a
    /// resource missing from a response has been removed.
    pub fn is_wildcard(self) -> bool {
        matches!(self, Self::Cluster | Self::Listener)
    }

    /// Whether resources of this type name others (clusters their load assignments and
    /// secrets, listeners their route configurations and secrets), so that a response
    /// of it may change what the other types are subscribed to.
    pub fn names_others(self) -> bool {
        matches!(self, Self::Cluster | Self::Listener)
    }

    /// Envoy's short name, used in stats (`cds`, `eds`, ...) and logs.
    pub fn short(self) -> &'static str {
        match self {
            Self::Cluster => "cds",
            Self::Endpoint => "eds",
            Self::Listener => "lds",
            Self::Route => "rds",
            Self::Secret => "sds",
        }
    }

    /// The name Envoy's NACK messages use for one resource of the type.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Cluster => "cluster",
            Self::Endpoint => "cluster load assignment",
            Self::Listener => "listener",
            Self::Route => "route configuration",
            Self::Secret => "secret",
        }
    }
}
