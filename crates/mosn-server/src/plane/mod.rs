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
use mosn_api::FastMap;
use mosn_config::resources::{Batch, Rejection, Resource, ResourceKind};
use mosn_config::{CertificateConfig, ClusterConfig, ListenerConfig, RouterConfig};
use mosn_proxy::{ProxyState, SharedState};
use mosn_router::RouteTable;
use mosn_upstream::Cluster;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::mpsc::UnboundedSender;

/// A batch this heavy (resources plus virtual hosts) is a bulk push: once applied, the
/// heap it churned through is handed back to the kernel.
const LARGE_BATCH: usize = 1000;

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
    /// Named certificates: kept for their versions; the contexts that use one carry its
    /// files, so a changed certificate shows as a change of each of its users.
    certificates: BTreeMap<String, Entry<CertificateConfig>>,
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

/// The ADS client applies what the control plane sends through the plane, and NACKs
/// what it refuses.
impl mosn_xds::ads::ConfigSink for ConfigPlane {
    fn apply(&self, batch: Batch) -> Vec<Rejection> {
        ConfigPlane::apply(self, batch).rejected
    }
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
        let large = batch.weight() >= LARGE_BATCH;
        let mut inner = self.inner.lock();
        let report = inner.apply(batch, &self.state, &self.stats);
        if large {
            crate::sys::release_free_memory_soon();
        }
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

    /// How many listeners and clusters are live (Envoy's
    /// `listener_manager.total_listeners_active`, `cluster_manager.active_clusters`).
    pub fn counts(&self) -> (usize, usize) {
        let inner = self.inner.lock();
        (
            inner.resources.listeners.len(),
            inner.resources.clusters.len(),
        )
    }

    /// Every live listener's name and address, for Envoy's `/listeners`.
    pub fn listeners(&self) -> Vec<(String, mosn_config::Address)> {
        let inner = self.inner.lock();
        inner
            .resources
            .listeners
            .iter()
            .map(|(name, e)| (name.clone(), e.config.address.clone()))
            .collect()
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
        all.extend(named(
            ResourceKind::Certificate,
            r.certificates.keys().collect(),
        ));
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
        let now = SystemTime::now();
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
                Resource::Certificate(c) => {
                    let r = &mut self.resources;
                    if !unchanged(&r.certificates, &c.name, &c) {
                        let name = c.name.clone();
                        let what =
                            record(&mut r.certificates, &mut r.version, name.clone(), c, now);
                        report.applied.push((ResourceKind::Certificate, name, what));
                    }
                }
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
        let current = state.load_full();

        // Clusters: changed in place, rebuilt or built.
        let mut new_clusters: Vec<Arc<Cluster>> = Vec::new();
        let mut changed: Vec<(Arc<Cluster>, ClusterConfig)> = Vec::new();
        for cfg in clusters {
            let r = &mut self.resources;
            if unchanged(&r.clusters, &cfg.name, &cfg) {
                continue;
            }
            let result = match (r.clusters.get(&cfg.name), current.clusters.get(&cfg.name)) {
                (Some(old), Some(live)) => live
                    .change(&old.config, &cfg, stats.cluster(&cfg.name))
                    .map(|rebuilt| rebuilt.map(Arc::new)),
                _ => Cluster::build(&cfg, stats.cluster(&cfg.name)).map(|c| Some(Arc::new(c))),
            };
            match result {
                Ok(rebuilt) => {
                    if let Some(cluster) = rebuilt {
                        new_clusters.push(cluster.clone());
                        changed.push((cluster, cfg.clone()));
                    }
                    let name = cfg.name.clone();
                    let what = record(&mut r.clusters, &mut r.version, name.clone(), cfg, now);
                    report.applied.push((ResourceKind::Cluster, name, what));
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
        let mut tables: FastMap<String, Arc<RouteTable>> = current.routers.clone();
        let mut routes_changed = false;
        for cfg in routers {
            let r = &mut self.resources;
            if unchanged(&r.routers, &cfg.name, &cfg) {
                continue;
            }
            match RouteTable::from_config(&cfg) {
                Ok(table) => {
                    tables.insert(cfg.name.clone(), Arc::new(table));
                    routes_changed = true;
                    let name = cfg.name.clone();
                    let what = record(&mut r.routers, &mut r.version, name.clone(), cfg, now);
                    report.applied.push((ResourceKind::Router, name, what));
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
        let mut taken = self.addresses_after(&listeners, &removed(ResourceKind::Listener));
        let mut prepared = Vec::new();
        for cfg in listeners {
            let old = self.resources.listeners.get(&cfg.name).map(|e| &e.config);
            if old == Some(&cfg) {
                continue;
            }
            if taken_by_another(&mut taken, &cfg) {
                // Envoy's rule (sockets are bound with SO_REUSEPORT, so the second
                // listener would silently take part of the first one's connections).
                report.rejected.push(Rejection {
                    kind: ResourceKind::Listener,
                    name: cfg.name.clone(),
                    path: "address".into(),
                    reason: format!(
                        "{} is the address of an existing listener",
                        address_text(&cfg.address)
                    ),
                });
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
            self.listeners.commit(&cfg, ready, &mut self.tls, stats);
            let r = &mut self.resources;
            let name = cfg.name.clone();
            let what = record(&mut r.listeners, &mut r.version, name.clone(), cfg, now);
            report.applied.push((ResourceKind::Listener, name, what));
        }
        for name in removed(ResourceKind::Certificate) {
            if self.resources.certificates.remove(&name).is_some() {
                report
                    .applied
                    .push((ResourceKind::Certificate, name, "removed"));
            }
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

impl Inner {
    /// The address each live listener will have after a batch that upserts `incoming`
    /// and removes `leaving` (by listener name), for the duplicate address check.
    fn addresses_after(
        &self,
        incoming: &[ListenerConfig],
        leaving: &[String],
    ) -> BTreeMap<String, mosn_config::Address> {
        let mut taken: BTreeMap<String, mosn_config::Address> = self
            .resources
            .listeners
            .iter()
            .filter(|(name, _)| !leaving.contains(name))
            .map(|(name, e)| (name.clone(), e.config.address.clone()))
            .collect();
        // A listener the batch moves leaves its old address (another of the batch may
        // take it); its new one is claimed when it is checked.
        for cfg in incoming {
            if taken.get(&cfg.name).is_some_and(|a| *a != cfg.address) {
                taken.remove(&cfg.name);
            }
        }
        taken
    }
}

/// True when a listener other than `cfg` has `cfg`'s address (port 0 excepted);
/// otherwise `cfg` claims it.
fn taken_by_another(
    taken: &mut BTreeMap<String, mosn_config::Address>,
    cfg: &ListenerConfig,
) -> bool {
    let any_port = matches!(&cfg.address, mosn_config::Address::Tcp(a) if a.port() == 0);
    if !any_port
        && taken
            .iter()
            .any(|(name, address)| *name != cfg.name && *address == cfg.address)
    {
        return true;
    }
    taken.insert(cfg.name.clone(), cfg.address.clone());
    false
}

fn address_text(address: &mosn_config::Address) -> String {
    match address {
        mosn_config::Address::Tcp(a) => a.to_string(),
        mosn_config::Address::Unix(p) => format!("unix:{}", p.display()),
    }
}

/// True when `table` holds `config` as `name` already (a re-send: nothing to do).
fn unchanged<T: PartialEq>(table: &BTreeMap<String, Entry<T>>, name: &str, config: &T) -> bool {
    table.get(name).is_some_and(|e| e.config == *config)
}

/// Stores `config` in `table` under the next version; "added" or "changed".
fn record<T>(
    table: &mut BTreeMap<String, Entry<T>>,
    version: &mut u64,
    name: String,
    config: T,
    updated: SystemTime,
) -> &'static str {
    *version += 1;
    let entry = Entry {
        config,
        version: *version,
        updated,
    };
    match table.insert(name, entry) {
        Some(_) => "changed",
        None => "added",
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

#[cfg(test)]
mod tests {
    use super::*;
    use mosn_config::{Address, CertificateConfig};

    fn plane() -> (ConfigPlane, SharedState) {
        let state: SharedState = Arc::default();
        let plane = ConfigPlane::detached(state.clone(), Arc::default());
        (plane, state)
    }

    fn batch(upserts: Vec<Resource>, removals: Vec<(ResourceKind, &str)>) -> Batch {
        Batch {
            upserts,
            removals: removals
                .into_iter()
                .map(|(k, n)| (k, n.to_owned()))
                .collect(),
        }
    }

    fn cluster(name: &str, port: u16) -> Resource {
        let host = Address::Tcp(([127, 0, 0, 1], port).into());
        Resource::Cluster(Box::new(ClusterConfig::static_hosts(name, &[host])))
    }

    fn certificate(key: &str) -> Resource {
        Resource::Certificate(CertificateConfig {
            name: "cert".into(),
            cert_chain: "/certs/a.pem".into(),
            private_key: key.into(),
            ca_cert: None,
        })
    }

    fn changes(report: &ApplyReport) -> Vec<String> {
        report
            .applied
            .iter()
            .map(|(k, n, what)| format!("{what} {} {n}", k.as_str()))
            .collect()
    }

    #[test]
    fn a_resource_sent_again_unchanged_keeps_its_version_and_changes_nothing() {
        let (plane, state) = plane();
        let first = plane.apply(batch(vec![cluster("c", 1), certificate("k1")], vec![]));
        assert_eq!(
            changes(&first),
            ["added certificate cert", "added cluster c"]
        );
        let snapshot = state.load_full();
        let v1 = plane.versions_json();
        let again = plane.apply(batch(vec![cluster("c", 1), certificate("k1")], vec![]));
        assert!(again.applied.is_empty(), "{:?}", again.applied);
        assert!(Arc::ptr_eq(&snapshot, &state.load_full()));
        assert_eq!(plane.versions_json(), v1);

        let changed = plane.apply(batch(vec![certificate("k2")], vec![]));
        assert_eq!(changes(&changed), ["changed certificate cert"]);
        let v2 = plane.versions_json();
        assert_ne!(
            v2["certificates"]["cert"]["version"],
            v1["certificates"]["cert"]["version"]
        );
        assert_eq!(v2["clusters"]["c"], v1["clusters"]["c"]);
    }

    /// A `tcp_proxy` listener named `name` on 127.0.0.1:`port` (a detached plane binds
    /// no socket).
    fn listener(name: &str, port: u16) -> Resource {
        let text = format!(
            r#"{{"servers": [{{"listeners": [{{"name": "{name}", "address": "127.0.0.1:{port}",
                "filter_chains": [{{"filters": [{{"type": "tcp_proxy", "config": {{"cluster": "c"}}}}]}}]}}]}}]}}"#
        );
        let parsed = mosn_config::parse_str(&text).expect("valid listener");
        Resource::Listener(parsed.config.servers[0].listeners[0].clone())
    }

    #[test]
    fn a_listener_on_the_address_of_another_is_refused_as_envoy_does() {
        let (plane, _state) = plane();
        let first = plane.apply(batch(vec![listener("a", 10001)], vec![]));
        assert_eq!(changes(&first), ["added listener a"]);
        let dup = plane.apply(batch(
            vec![listener("a", 10001), listener("b", 10001)],
            vec![],
        ));
        let rejected: Vec<String> = dup.rejected.iter().map(ToString::to_string).collect();
        assert_eq!(
            rejected,
            [r#"listener "b" address: 127.0.0.1:10001 is the address of an existing listener"#]
        );
        // Moved away in the same batch, or removed in it, the address is free.
        let swap = plane.apply(batch(
            vec![listener("b", 10001), listener("a", 10002)],
            vec![],
        ));
        assert!(swap.rejected.is_empty(), "{:?}", swap.rejected);
        let replaced = plane.apply(batch(
            vec![listener("c", 10002)],
            vec![(ResourceKind::Listener, "a")],
        ));
        assert!(replaced.rejected.is_empty(), "{:?}", replaced.rejected);
        // Updated in place, a listener keeps its own address.
        let again = plane.apply(batch(vec![listener("c", 10002)], vec![]));
        assert!(again.rejected.is_empty(), "{:?}", again.rejected);
    }

    #[test]
    fn invalid_resources_are_rejected_and_the_rest_of_the_batch_applies() {
        let (plane, state) = plane();
        let mut bad = ClusterConfig::static_hosts("bad", &[]);
        bad.connect_timeout = std::time::Duration::ZERO;
        let report = plane.apply(batch(
            vec![Resource::Cluster(Box::new(bad)), cluster("good", 1)],
            vec![(ResourceKind::Listener, "never-existed")],
        ));
        assert_eq!(changes(&report), ["added cluster good"]);
        let rejected: Vec<String> = report.rejected.iter().map(ToString::to_string).collect();
        assert_eq!(
            rejected,
            [r#"cluster "bad" connect_timeout: must be greater than 0"#]
        );
        assert!(state.load().clusters.get("good").is_some());
        assert!(state.load().clusters.get("bad").is_none());

        let removed = plane.apply(batch(vec![], vec![(ResourceKind::Cluster, "good")]));
        assert_eq!(changes(&removed), ["removed cluster good"]);
        assert!(state.load().clusters.is_empty());
        assert!(plane.names().is_empty());
    }
}
