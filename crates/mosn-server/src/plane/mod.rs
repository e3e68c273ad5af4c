//! The configuration plane: the live configuration as named resources, changed by batches
//! from any source (the MOSN file at start and on reload; xDS next) while traffic flows.
//!
//! A batch is applied in one pass: every resource is validated on its own
//! (`mosn_config::validate`); clusters are changed in place or rebuilt keeping what still
//! applies (`Cluster::change`); route tables are rebuilt; the routes and clusters of the
//! result are published as one new `ProxyState` snapshot, so a request sees the old set or
//! the new one, never a mix; then the control threads (health checks, DNS, certificate
//! watching) follow, and the workers get their listener commands (sockets bound here
//! first, so a listener that cannot be bound is rejected, not half-applied). Resources
//! that fail come back as rejections; the rest of the batch still applies.

mod clusters;
mod dump;
mod file;
mod listeners;

pub use file::{FileError, FileSource};

use crate::tls_watch::TlsWatch;
use crate::worker::ListenerCommand;
use clusters::ClusterControl;
use listeners::ListenerControl;
use mosn_api::stats::StatsRegistry;
use mosn_config::resources::{Batch, Rejection, Resource, ResourceKind};
use mosn_config::{ClusterConfig, ListenerConfig, RouterConfig};
use mosn_proxy::{ProxyState, SharedState};
use mosn_router::RouteTable;
use mosn_upstream::Cluster;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::mpsc::UnboundedSender;

/// One resource as applied: its config, the version it got and when.
#[derive(Debug, Clone)]
pub(crate) struct Entry<T> {
    pub config: T,
    /// Increases with every change the plane applies (one counter for all resources).
    pub version: u64,
    /// When this version was applied.
    pub updated: SystemTime,
}

/// What one batch did.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// Resources added, changed or removed, as `(kind, name, what happened)`.
    pub applied: Vec<(ResourceKind, String, &'static str)>,
    /// Resources refused, with the reason.
    pub rejected: Vec<Rejection>,
}

impl ApplyReport {
    /// The report as JSON, for the admin API and `mosn reload`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "applied": self.applied.iter().map(|(kind, name, what)| serde_json::json!({
                "kind": kind.as_str(), "name": name, "change": what,
            })).collect::<Vec<_>>(),
            "rejected": self.rejected.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })
    }
}

/// The live resources.
#[derive(Default)]
struct Resources {
    listeners: BTreeMap<String, Entry<ListenerConfig>>,
    routers: BTreeMap<String, Entry<RouterConfig>>,
    clusters: BTreeMap<String, Entry<ClusterConfig>>,
    /// The last version handed out.
    version: u64,
}

/// Where the plane's changes go.
pub(crate) struct PlaneParts {
    /// The snapshot workers read.
    pub state: SharedState,
    /// Stats, kept across changes by name.
    pub stats: Arc<StatsRegistry>,
    /// Each worker's listener commands, in worker order.
    pub workers: Vec<UnboundedSender<ListenerCommand>>,
}

/// The configuration plane of one process; [`ConfigPlane::apply`] is what every source
/// calls.
pub struct ConfigPlane {
    inner: Mutex<Inner>,
    state: SharedState,
    stats: Arc<StatsRegistry>,
}

struct Inner {
    resources: Resources,
    listeners: ListenerControl,
    clusters: ClusterControl,
    tls: TlsWatch,
}

impl ConfigPlane {
    /// A plane with no resources yet, publishing into `parts`.
    pub(crate) fn new(parts: PlaneParts) -> Self {
        Self {
            inner: Mutex::new(Inner {
                resources: Resources::default(),
                listeners: ListenerControl::new(parts.workers),
                clusters: ClusterControl::default(),
                tls: TlsWatch::default(),
            }),
            state: parts.state,
            stats: parts.stats,
        }
    }

    /// A plane with no workers: its routes and clusters are published into `state`, its
    /// listeners are bound but serve nothing. For benchmarks and tools that need the
    /// routes and clusters alone.
    pub fn detached(state: SharedState, stats: Arc<StatsRegistry>) -> Self {
        Self::new(PlaneParts {
            state,
            stats,
            workers: Vec::new(),
        })
    }

    /// Applies one batch (see the module doc); batches are applied one at a time.
    pub fn apply(&self, batch: Batch) -> ApplyReport {
        let mut inner = self.inner.lock();
        let report = inner.apply(batch, &self.state, &self.stats);
        let stats = &self.stats.config;
        stats.update_attempt.inc();
        if report.rejected.is_empty() {
            stats.update_success.inc();
        } else {
            stats.update_rejected.inc();
        }
        stats.resources_applied.add(report.applied.len() as u64);
        stats.resources_rejected.add(report.rejected.len() as u64);
        for r in &report.rejected {
            tracing::warn!(rejected = %r, "configuration change refused");
        }
        if !report.applied.is_empty() {
            tracing::info!(changes = report.applied.len(), "configuration changed");
        }
        report
    }

    /// Each live resource's version and last update time, for the admin API's config
    /// dump (built when asked, not on every change).
    pub fn versions_json(&self) -> serde_json::Value {
        dump::versions(&self.inner.lock().resources)
    }

    /// Counts a batch refused whole before it reached the plane (a file that failed to
    /// parse or validate).
    pub(crate) fn count_refused(&self) {
        self.stats.config.update_attempt.inc();
        self.stats.config.update_rejected.inc();
    }

    /// The kinds and names of every live resource, so a source that sends whole
    /// configurations (a file) can remove what it no longer has.
    pub(crate) fn names(&self) -> Vec<(ResourceKind, String)> {
        let inner = self.inner.lock();
        let r = &inner.resources;
        let named = |kind, names: Vec<&String>| {
            names
                .into_iter()
                .map(move |n| (kind, n.clone()))
                .collect::<Vec<_>>()
        };
        let mut all = named(ResourceKind::Listener, r.listeners.keys().collect());
        all.extend(named(ResourceKind::Router, r.routers.keys().collect()));
        all.extend(named(ResourceKind::Cluster, r.clusters.keys().collect()));
        all
    }

    /// Stops the control threads (after the workers drained).
    pub(crate) fn shutdown(&self) {
        self.inner.lock().clusters.shutdown();
    }
}

impl Inner {
    fn apply(&mut self, batch: Batch, state: &SharedState, stats: &StatsRegistry) -> ApplyReport {
        let mut report = ApplyReport::default();
        let (mut clusters, mut routers, mut listeners) = (Vec::new(), Vec::new(), Vec::new());
        for resource in batch.upserts {
            let problems = mosn_config::validate::validate(&resource);
            if !problems.is_empty() {
                report.rejected.extend(problems);
                continue;
            }
            match resource {
                Resource::Cluster(c) => clusters.push(*c),
                Resource::Router(r) => routers.push(r),
                Resource::Listener(l) => listeners.push(l),
            }
        }
        let removed = |kind| {
            batch
                .removals
                .iter()
                .filter(move |(k, _)| *k == kind)
                .map(|(_, n)| n.clone())
                .collect::<Vec<_>>()
        };
        let now = SystemTime::now();
        let current = state.load_full();

        // Clusters: changed in place, rebuilt or built.
        let mut new_clusters: Vec<Arc<Cluster>> = Vec::new();
        let mut changed: Vec<(Arc<Cluster>, ClusterConfig)> = Vec::new();
        for cfg in clusters {
            let old = self.resources.clusters.get(&cfg.name);
            let result = match (old, current.clusters.get(&cfg.name)) {
                (Some(old), _) if old.config == cfg => continue,
                (Some(old), Some(live)) => live
                    .change(&old.config, &cfg, stats.cluster(&cfg.name))
                    .map(|rebuilt| (rebuilt.map(Arc::new), "changed")),
                _ => Cluster::build(&cfg, stats.cluster(&cfg.name))
                    .map(|c| (Some(Arc::new(c)), "added")),
            };
            match result {
                Ok((rebuilt, what)) => {
                    report
                        .applied
                        .push((ResourceKind::Cluster, cfg.name.clone(), what));
                    if let Some(cluster) = rebuilt {
                        new_clusters.push(cluster.clone());
                        changed.push((cluster, cfg.clone()));
                    }
                    self.resources.version += 1;
                    self.resources.clusters.insert(
                        cfg.name.clone(),
                        Entry {
                            config: cfg,
                            version: self.resources.version,
                            updated: now,
                        },
                    );
                }
                Err(reason) => {
                    report
                        .rejected
                        .push(rejection(ResourceKind::Cluster, &cfg.name, reason))
                }
            }
        }
        let removed_clusters: Vec<String> = removed(ResourceKind::Cluster)
            .into_iter()
            .filter(|n| self.resources.clusters.remove(n).is_some())
            .collect();

        // Route tables: rebuilt whole by name.
        let mut tables: HashMap<String, Arc<RouteTable>> = current.routers.clone();
        let mut routes_changed = false;
        for cfg in routers {
            if self
                .resources
                .routers
                .get(&cfg.name)
                .is_some_and(|old| old.config == cfg)
            {
                continue;
            }
            match RouteTable::from_config(&cfg) {
                Ok(table) => {
                    let what = if tables.insert(cfg.name.clone(), Arc::new(table)).is_some() {
                        "changed"
                    } else {
                        "added"
                    };
                    report
                        .applied
                        .push((ResourceKind::Router, cfg.name.clone(), what));
                    routes_changed = true;
                    self.resources.version += 1;
                    self.resources.routers.insert(
                        cfg.name.clone(),
                        Entry {
                            config: cfg,
                            version: self.resources.version,
                            updated: now,
                        },
                    );
                }
                Err(e) => {
                    report
                        .rejected
                        .push(rejection(ResourceKind::Router, &cfg.name, e.to_string()))
                }
            }
        }
        for name in removed(ResourceKind::Router) {
            if self.resources.routers.remove(&name).is_some() {
                tables.remove(&name);
                routes_changed = true;
                report.applied.push((ResourceKind::Router, name, "removed"));
            }
        }

        // Listeners: contexts built and sockets bound before anything is published.
        let mut prepared = Vec::new();
        for cfg in listeners {
            let old = self.resources.listeners.get(&cfg.name).map(|e| &e.config);
            if old == Some(&cfg) {
                continue;
            }
            match self.listeners.prepare(&cfg, old) {
                Ok(ready) => prepared.push((cfg, ready)),
                Err(reason) => {
                    report
                        .rejected
                        .push(rejection(ResourceKind::Listener, &cfg.name, reason))
                }
            }
        }

        // One snapshot with the new routes and clusters.
        if !new_clusters.is_empty() || !removed_clusters.is_empty() || routes_changed {
            state.store(Arc::new(ProxyState {
                routers: tables,
                clusters: current
                    .clusters
                    .with_changes(new_clusters, &removed_clusters),
            }));
        }
        for (cluster, cfg) in &changed {
            self.clusters.follow(cluster, cfg);
            self.tls.set_cluster(cluster);
        }
        for name in removed_clusters {
            if let Some(cluster) = current.clusters.get(&name) {
                cluster.retire();
            }
            self.clusters.forget(&name);
            self.tls.remove("cluster", &name);
            report
                .applied
                .push((ResourceKind::Cluster, name, "removed"));
        }
        // New DNS clusters get their hosts before new listeners can send them requests.
        self.clusters.wait_for_first_resolutions();

        // Then the workers.
        for (cfg, ready) in prepared {
            let what = if self.resources.listeners.contains_key(&cfg.name) {
                "changed"
            } else {
                "added"
            };
            self.listeners.commit(&cfg, ready, &mut self.tls, stats);
            report
                .applied
                .push((ResourceKind::Listener, cfg.name.clone(), what));
            self.resources.version += 1;
            self.resources.listeners.insert(
                cfg.name.clone(),
                Entry {
                    config: cfg,
                    version: self.resources.version,
                    updated: now,
                },
            );
        }
        for name in removed(ResourceKind::Listener) {
            if self.resources.listeners.remove(&name).is_some() {
                self.listeners.remove(&name, &mut self.tls);
                report
                    .applied
                    .push((ResourceKind::Listener, name, "removed"));
            }
        }
        report
    }
}

/// A rejection of a resource as a whole.
fn rejection(kind: ResourceKind, name: &str, reason: String) -> Rejection {
    Rejection {
        kind,
        name: name.to_owned(),
        path: String::new(),
        reason,
    }
}
