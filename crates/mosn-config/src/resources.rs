//! The configuration as a set of named resources, and the batches of changes every
//! source delivers (the MOSN file at start and on reload; xDS next).
//!
//! A source converts its own format into the model, then hands the configuration plane a
//! [`Batch`]: resources to add or replace (by name) and names to remove. Each resource is
//! checked on its own by [`validate`](crate::validate) over the model, so every source
//! shares one set of rules; the plane applies the valid ones and returns the others as
//! [`Rejection`]s (xDS turns them into NACKs).

use crate::model::{CertificateConfig, ClusterConfig, Config, ListenerConfig, RouterConfig};

/// The kinds of resource the plane manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// A listener, by `name`.
    Listener,
    /// A route configuration, by `router_config_name`.
    Router,
    /// A cluster, by `name`.
    Cluster,
    /// A named certificate (`certificates[]`), by `name`.
    Certificate,
}

impl ResourceKind {
    /// The kind's name in messages, dumps and stats.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Listener => "listener",
            Self::Router => "router",
            Self::Cluster => "cluster",
            Self::Certificate => "certificate",
        }
    }
}

/// One resource to add or replace.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    /// A listener.
    Listener(ListenerConfig),
    /// A route configuration.
    Router(RouterConfig),
    /// A cluster (boxed: a cluster's settings are several times a listener's).
    Cluster(Box<ClusterConfig>),
    /// A named certificate.
    Certificate(CertificateConfig),
}

impl Resource {
    /// What kind of resource it is.
    pub fn kind(&self) -> ResourceKind {
        match self {
            Self::Listener(_) => ResourceKind::Listener,
            Self::Router(_) => ResourceKind::Router,
            Self::Cluster(_) => ResourceKind::Cluster,
            Self::Certificate(_) => ResourceKind::Certificate,
        }
    }

    /// Its name, unique within its kind.
    pub fn name(&self) -> &str {
        match self {
            Self::Listener(l) => &l.name,
            Self::Router(r) => &r.name,
            Self::Cluster(c) => &c.name,
            Self::Certificate(c) => &c.name,
        }
    }
}

/// One batch of changes from a source, applied together: a request sees the routes and
/// clusters from before the batch or from after it, never a mix.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Resources to add, or to replace the one of the same kind and name.
    pub upserts: Vec<Resource>,
    /// Resources to remove, by kind and name.
    pub removals: Vec<(ResourceKind, String)>,
}

impl Batch {
    /// How much the batch holds: its resources plus the virtual hosts of its route
    /// configurations (one route configuration can carry 10,000); what the plane goes by
    /// to tell a bulk push from a small change.
    pub fn weight(&self) -> usize {
        let vhosts: usize = self
            .upserts
            .iter()
            .map(|r| match r {
                Resource::Router(router) => router.virtual_hosts.len(),
                _ => 0,
            })
            .sum();
        self.upserts.len() + self.removals.len() + vhosts
    }

    /// Every certificate, cluster, route configuration and listener of `config`, as
    /// upserts.
    pub fn from_config(config: &Config) -> Self {
        let servers = config.servers.iter();
        let upserts = config
            .certificates
            .iter()
            .cloned()
            .map(Resource::Certificate)
            .chain(
                config
                    .clusters
                    .iter()
                    .map(|c| Resource::Cluster(Box::new(c.clone()))),
            )
            .chain(
                servers
                    .clone()
                    .flat_map(|s| s.routers.iter().cloned().map(Resource::Router)),
            )
            .chain(servers.flat_map(|s| s.listeners.iter().cloned().map(Resource::Listener)))
            .collect();
        Self {
            upserts,
            removals: Vec::new(),
        }
    }
}

/// A resource the plane refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Its kind.
    pub kind: ResourceKind,
    /// Its name.
    pub name: String,
    /// Where in the resource the problem is (`filter_chains[0].filters`), empty for the
    /// resource as a whole.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}", self.kind.as_str(), self.name)?;
        if !self.path.is_empty() {
            write!(f, " {}", self.path)?;
        }
        write!(f, ": {}", self.reason)
    }
}
