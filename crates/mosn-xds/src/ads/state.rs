//! What the control plane has sent, converted, and what of it is live.
//!
//! The state is the same for state-of-the-world and delta streams (and for SDS): a stream
//! hands it the resources of one response ([`XdsState::update`]) and gets back the batch
//! for the configuration plane and the resources it refused. It keeps each resource's
//! bytes (an identical re-send is skipped without decoding), its conversion, and Envoy's
//! warming: a cluster waits for its endpoints, a listener for its route configurations,
//! either for the SDS secrets it names, until they arrive or `initial_fetch_timeout` passes.

use super::body::Body;
use super::types::XdsType;
use crate::convert::cluster::{cluster, ClusterPlan};
use crate::convert::endpoint::endpoints;
use crate::convert::listener::{listener, ListenerPlan};
use crate::convert::route::route_configuration_from_bytes;
use crate::convert::{Context, ConvertError};
use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::Secret;
use envoy_types::pb::google::protobuf::Any;
use mosn_config::model::{ClusterConfig, HostConfig};
use mosn_config::resources::{Batch, Resource, ResourceKind};
use prost::Message;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// One resource of a response.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Its name as the response gives it (Delta's `Resource.name`; SotW: read from the
    /// resource itself).
    pub name: Option<String>,
    /// Its version (Delta's per-resource version; SotW: the response's `version_info`).
    pub version: String,
    /// The resource.
    pub body: Any,
}

/// What one response did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The changes for the configuration plane.
    pub batch: Batch,
    /// Resources refused, as `(name, why)`: the NACK's detail.
    pub errors: Vec<(String, String)>,
}

impl Outcome {
    fn error(&mut self, name: &str, error: impl std::fmt::Display) {
        self.errors.push((name.to_owned(), error.to_string()));
    }
}

/// One stored resource: its bytes as received, its version and its conversion.
#[derive(Debug)]
struct Entry<P> {
    version: String,
    body: Body,
    plan: P,
    /// Since when it waits for what it depends on; `None` once live.
    warming_since: Option<Instant>,
    /// SDS secrets its conversion used.
    secrets: BTreeSet<String>,
    /// When it was stored (the config dump's `last_updated`).
    updated: std::time::SystemTime,
}

/// One stored resource as the config dump shows it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Its name.
    pub name: String,
    /// Its version as the control plane gave it.
    pub version: String,
    /// Its bytes as received (empty after the plane refused it).
    pub body: Vec<u8>,
    /// When it was stored.
    pub updated: std::time::SystemTime,
    /// Still waiting for what it depends on.
    pub warming: bool,
}

/// Everything received, by type and name.
#[derive(Debug, Default)]
pub struct XdsState {
    clusters: BTreeMap<String, Entry<ClusterPlan>>,
    endpoints: HashMap<String, Entry<Vec<HostConfig>>>,
    listeners: BTreeMap<String, Entry<ListenerPlan>>,
    /// Route configurations: only their bytes; the plane keeps the converted tables.
    routes: HashMap<String, Entry<()>>,
    secret_entries: HashMap<String, Entry<()>>,
    /// Secrets by name, as the converters look them up.
    secrets: HashMap<String, Secret>,
    /// Load assignment name → the clusters whose hosts it gives.
    eds_users: HashMap<String, BTreeSet<String>>,
    /// Route configuration name → the listeners that use it.
    rds_users: HashMap<String, BTreeSet<String>>,
    /// Secret name → the clusters and listeners that use it.
    secret_users: HashMap<String, BTreeSet<(XdsType, String)>>,
    /// Fields accepted without effect, by feature, over every conversion.
    ignored: BTreeMap<&'static str, u64>,
    /// How long a resource may warm before it goes live without what it waits for.
    initial_fetch_timeout: Option<Duration>,
}

impl XdsState {
    /// An empty state; `initial_fetch_timeout` of `None` waits forever.
    pub fn new(initial_fetch_timeout: Option<Duration>) -> Self {
        Self {
            initial_fetch_timeout,
            ..Self::default()
        }
    }

    /// Handles one response of type `ty`: `incoming` resources, `removed` names (Delta),
    /// and with `full_set` (SotW wildcard types) every stored resource of the type that
    /// `incoming` lacks is removed.
    pub fn update(
        &mut self,
        ty: XdsType,
        incoming: Vec<Incoming>,
        removed: &[String],
        full_set: bool,
        now: Instant,
    ) -> Outcome {
        let mut out = Outcome::default();
        let mut present = BTreeSet::new();
        for resource in incoming {
            if resource.body.type_url != ty.url() {
                let name = resource.name.unwrap_or_default();
                out.error(
                    &name,
                    format!("type {} in a {} response", resource.body.type_url, ty.url()),
                );
                continue;
            }
            match self.upsert(ty, resource, now, &mut out) {
                Ok(name) => {
                    present.insert(name);
                }
                Err((name, error)) => {
                    out.error(&name, error);
                    present.insert(name);
                }
            }
        }
        let mut gone: Vec<String> = removed.to_vec();
        if full_set {
            gone.extend(
                self.names(ty)
                    .into_iter()
                    .filter(|name| !present.contains(name)),
            );
        }
        for name in gone {
            self.remove(ty, &name, &mut out);
        }
        self.prune(&mut out);
        out
    }

    /// Resources that waited longer than `initial_fetch_timeout` go live without what
    /// they wait for (a cluster with no hosts, a listener whose routes answer 404).
    pub fn expire_warming(&mut self, now: Instant) -> Batch {
        let mut out = Outcome::default();
        let Some(timeout) = self.initial_fetch_timeout else {
            return out.batch;
        };
        let expired = |since: Option<Instant>| since.is_some_and(|s| now >= s + timeout);
        let clusters: Vec<String> = self
            .clusters
            .iter()
            .filter(|(_, e)| {
                expired(e.warming_since) && e.plan.eds.is_some() && e.secrets_ready(&self.secrets)
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in clusters {
            tracing::warn!(cluster = %name, "no endpoints within initial_fetch_timeout; serving without");
            self.emit_cluster(&name, true, None, &mut out);
        }
        let listeners: Vec<String> = self
            .listeners
            .iter()
            .filter(|(_, e)| expired(e.warming_since) && e.secrets_ready(&self.secrets))
            .map(|(name, _)| name.clone())
            .collect();
        for name in listeners {
            tracing::warn!(listener = %name, "routes missing after initial_fetch_timeout; serving without");
            self.emit_listener(&name, true, &mut out);
        }
        out.batch
    }

    /// When the next warming resource times out, if any does.
    pub fn next_deadline(&self) -> Option<Instant> {
        let timeout = self.initial_fetch_timeout?;
        let clusters = self.clusters.values().map(|e| e.warming_since);
        let listeners = self.listeners.values().map(|e| e.warming_since);
        clusters
            .chain(listeners)
            .flatten()
            .min()
            .map(|s| s + timeout)
    }

    /// True while a cluster waits for its endpoints or secrets (Envoy holds LDS back
    /// until the clusters it starts with are warm).
    pub fn clusters_warming(&self) -> bool {
        self.clusters.values().any(|e| e.warming_since.is_some())
    }

    /// How many clusters and listeners wait for what they depend on (Envoy's
    /// `cluster_manager.warming_clusters`, `listener_manager.total_listeners_warming`).
    pub fn warming_counts(&self) -> (usize, usize) {
        (
            self.clusters
                .values()
                .filter(|e| e.warming_since.is_some())
                .count(),
            self.listeners
                .values()
                .filter(|e| e.warming_since.is_some())
                .count(),
        )
    }

    /// True while any cluster or listener waits for what it depends on.
    pub fn warming(&self) -> bool {
        self.clusters_warming() || self.listeners.values().any(|e| e.warming_since.is_some())
    }

    /// The names a non-wildcard type is subscribed to: what the live and warming
    /// resources refer to.
    pub fn subscriptions(&self, ty: XdsType) -> BTreeSet<String> {
        match ty {
            XdsType::Endpoint => self.eds_users.keys().cloned().collect(),
            XdsType::Route => self.rds_users.keys().cloned().collect(),
            XdsType::Secret => self.secret_users.keys().cloned().collect(),
            XdsType::Cluster | XdsType::Listener => BTreeSet::new(),
        }
    }

    /// The version of each resource held of `ty` (Delta's `initial_resource_versions`).
    pub fn versions(&self, ty: XdsType) -> HashMap<String, String> {
        fn of<'a, P: 'a>(
            entries: impl Iterator<Item = (&'a String, &'a Entry<P>)>,
        ) -> HashMap<String, String> {
            entries
                .map(|(name, e)| (name.clone(), e.version.clone()))
                .collect()
        }
        match ty {
            XdsType::Cluster => of(self.clusters.iter()),
            XdsType::Endpoint => of(self.endpoints.iter()),
            XdsType::Listener => of(self.listeners.iter()),
            XdsType::Route => of(self.routes.iter()),
            XdsType::Secret => of(self.secret_entries.iter()),
        }
    }

    /// Forgets the bytes of a resource the configuration plane refused, so that the
    /// same bytes sent again are tried again rather than skipped as unchanged.
    pub fn forget(&mut self, kind: ResourceKind, name: &str) {
        let body = match kind {
            ResourceKind::Cluster => self.clusters.get_mut(name).map(|e| &mut e.body),
            ResourceKind::Listener => self.listeners.get_mut(name).map(|e| &mut e.body),
            ResourceKind::Router => self.routes.get_mut(name).map(|e| &mut e.body),
            ResourceKind::Certificate => None,
        };
        if let Some(body) = body {
            body.forget();
        }
    }

    /// Fields accepted without effect so far, by feature (`xds_ignored`).
    pub fn ignored(&self) -> &BTreeMap<&'static str, u64> {
        &self.ignored
    }

    /// Every stored resource of `ty`, sorted by name, for the config dump.
    pub fn stored(&self, ty: XdsType) -> Vec<Stored> {
        fn of<'a, P: 'a>(entries: impl Iterator<Item = (&'a String, &'a Entry<P>)>) -> Vec<Stored> {
            let mut all: Vec<Stored> = entries
                .map(|(name, e)| Stored {
                    name: name.clone(),
                    version: e.version.clone(),
                    body: e.body.bytes(),
                    updated: e.updated,
                    warming: e.warming_since.is_some(),
                })
                .collect();
            all.sort_by(|a, b| a.name.cmp(&b.name));
            all
        }
        match ty {
            XdsType::Cluster => of(self.clusters.iter()),
            XdsType::Endpoint => of(self.endpoints.iter()),
            XdsType::Listener => of(self.listeners.iter()),
            XdsType::Route => of(self.routes.iter()),
            XdsType::Secret => of(self.secret_entries.iter()),
        }
    }

    fn names(&self, ty: XdsType) -> Vec<String> {
        match ty {
            XdsType::Cluster => self.clusters.keys().cloned().collect(),
            XdsType::Endpoint => self.endpoints.keys().cloned().collect(),
            XdsType::Listener => self.listeners.keys().cloned().collect(),
            XdsType::Route => self.routes.keys().cloned().collect(),
            XdsType::Secret => self.secret_entries.keys().cloned().collect(),
        }
    }

    /// Decodes, converts and stores one resource; `Ok(name)` also when unchanged.
    fn upsert(
        &mut self,
        ty: XdsType,
        resource: Incoming,
        now: Instant,
        out: &mut Outcome,
    ) -> Result<String, (String, String)> {
        let given = resource.name.clone().unwrap_or_default();
        let bytes = resource.body.value;
        let decoded = decode_name(&bytes).map_err(|e| (given.clone(), e))?;
        if resource.name.as_ref().is_some_and(|n| *n != decoded) {
            let why = format!("the resource is named {decoded:?}, not {given:?}");
            return Err((given, why));
        }
        let name = decoded;
        if self.stored_body(ty, &name).is_some_and(|b| b.is(&bytes)) {
            return Ok(name);
        }
        self.convert_and_store(ty, &name, resource.version, bytes, now, out)
            .map_err(|e| (name.clone(), e.to_string()))?;
        Ok(name)
    }

    fn stored_body(&self, ty: XdsType, name: &str) -> Option<&Body> {
        let body = match ty {
            XdsType::Cluster => self.clusters.get(name).map(|e| &e.body),
            XdsType::Endpoint => self.endpoints.get(name).map(|e| &e.body),
            XdsType::Listener => self.listeners.get(name).map(|e| &e.body),
            XdsType::Route => self.routes.get(name).map(|e| &e.body),
            XdsType::Secret => self.secret_entries.get(name).map(|e| &e.body),
        };
        body
    }

    fn convert_and_store(
        &mut self,
        ty: XdsType,
        name: &str,
        version: String,
        body: Vec<u8>,
        now: Instant,
        out: &mut Outcome,
    ) -> Result<(), ConvertError> {
        match ty {
            XdsType::Cluster => self.store_cluster(name, version, body, now, out),
            XdsType::Endpoint => self.store_endpoints(name, version, body, now, out),
            XdsType::Listener => self.store_listener(name, version, body, now, out),
            XdsType::Route => self.store_route(name, version, body, now, out),
            XdsType::Secret => self.store_secret(name, version, body, now, out),
        }
    }

    fn store_cluster(
        &mut self,
        name: &str,
        version: String,
        body: Vec<u8>,
        now: Instant,
        out: &mut Outcome,
    ) -> Result<(), ConvertError> {
        let proto = Cluster::decode(body.as_slice()).map_err(decode_error)?;
        let mut ctx = Context::with_secrets(&self.secrets);
        let plan = cluster(&proto, &mut ctx)?;
        let secrets = ctx.secret_refs.clone();
        let missing = !ctx.missing_secrets.is_empty();
        merge_ignored(&mut self.ignored, ctx);
        if let Some(old) = self.clusters.get(name).and_then(|e| e.plan.eds.clone()) {
            unindex(&mut self.eds_users, &old, name);
        }
        if let Some(eds) = &plan.eds {
            self.eds_users
                .entry(eds.clone())
                .or_default()
                .insert(name.to_owned());
        }
        self.index_secrets(XdsType::Cluster, name, &secrets);
        self.clusters.insert(
            name.to_owned(),
            Entry {
                warming_since: Some(now),
                secrets,
                ..Entry::new(version, &body, plan)
            },
        );
        if !missing {
            self.emit_cluster(name, false, None, out);
        }
        Ok(())
    }

    /// Puts a cluster into the batch when it has what it needs (its endpoints, unless
    /// `anyway`); it stays warming otherwise. `decoded` is its load assignment when the
    /// caller just decoded it (not decoded again for the socket matches).
    fn emit_cluster(
        &mut self,
        name: &str,
        anyway: bool,
        decoded: Option<&ClusterLoadAssignment>,
        out: &mut Outcome,
    ) {
        let Some(entry) = self.clusters.get_mut(name) else {
            return;
        };
        let hosts = match &entry.plan.eds {
            None => None,
            Some(eds) => match self.endpoints.get(eds) {
                Some(e) => Some(cluster_hosts(&entry.plan, e, decoded)),
                None if anyway => Some(Vec::new()),
                None => return,
            },
        };
        entry.warming_since = None;
        out.batch
            .upserts
            .push(Resource::Cluster(Box::new(cluster_config(
                &entry.plan,
                hosts,
            ))));
    }

    fn store_endpoints(
        &mut self,
        name: &str,
        version: String,
        body: Vec<u8>,
        _now: Instant,
        out: &mut Outcome,
    ) -> Result<(), ConvertError> {
        let proto = ClusterLoadAssignment::decode(body.as_slice()).map_err(decode_error)?;
        let mut ctx = Context::with_secrets(&self.secrets);
        let hosts = endpoints(&proto, &mut ctx)?;
        merge_ignored(&mut self.ignored, ctx);
        self.endpoints
            .insert(name.to_owned(), Entry::new(version, &body, hosts));
        for cluster in self.eds_users.get(name).cloned().unwrap_or_default() {
            if self
                .clusters
                .get(&cluster)
                .is_some_and(|e| e.secrets_ready(&self.secrets))
            {
                self.emit_cluster(&cluster, false, Some(&proto), out);
            }
        }
        Ok(())
    }

    fn store_listener(
        &mut self,
        name: &str,
        version: String,
        body: Vec<u8>,
        now: Instant,
        out: &mut Outcome,
    ) -> Result<(), ConvertError> {
        let proto = Listener::decode(body.as_slice()).map_err(decode_error)?;
        if proto.api_listener.is_some() {
            // For proxyless gRPC clients; Envoy's server ignores these too (with a warning).
            tracing::info!(listener = %name, "api_listener ignored: it configures gRPC clients, not proxies");
            *self.ignored.entry("listener.api_listener").or_default() += 1;
            return Ok(());
        }
        let mut ctx = Context::with_secrets(&self.secrets);
        let plan = listener(&proto, &mut ctx)?;
        let secrets = ctx.secret_refs.clone();
        merge_ignored(&mut self.ignored, ctx);
        if let Some(old) = self.listeners.get(name) {
            for route in old.plan.rds.clone() {
                unindex(&mut self.rds_users, &route, name);
            }
        }
        for route in &plan.rds {
            self.rds_users
                .entry(route.clone())
                .or_default()
                .insert(name.to_owned());
        }
        self.index_secrets(XdsType::Listener, name, &secrets);
        let old_inline: Vec<String> = self
            .listeners
            .get(name)
            .map(|e| {
                e.plan
                    .inline_routes
                    .iter()
                    .map(|r| r.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        for stale in old_inline
            .into_iter()
            .filter(|n| !plan.inline_routes.iter().any(|r| r.name == *n))
        {
            out.batch.removals.push((ResourceKind::Router, stale));
        }
        self.listeners.insert(
            name.to_owned(),
            Entry {
                warming_since: Some(now),
                secrets,
                ..Entry::new(version, &body, plan)
            },
        );
        self.emit_listener(name, false, out);
        Ok(())
    }

    /// Puts a listener (and its inline route tables) into the batch once its secrets and
    /// route configurations are here (or, with `anyway`, once its secrets are).
    fn emit_listener(&mut self, name: &str, anyway: bool, out: &mut Outcome) {
        let Some(entry) = self.listeners.get_mut(name) else {
            return;
        };
        if !entry.secrets_ready(&self.secrets) {
            return;
        }
        if !anyway && !entry.plan.rds.iter().all(|r| self.routes.contains_key(r)) {
            return;
        }
        entry.warming_since = None;
        out.batch.upserts.extend(
            entry
                .plan
                .inline_routes
                .iter()
                .cloned()
                .map(Resource::Router),
        );
        out.batch
            .upserts
            .push(Resource::Listener(entry.plan.listener.clone()));
    }

    fn store_route(
        &mut self,
        name: &str,
        version: String,
        body: Vec<u8>,
        _now: Instant,
        out: &mut Outcome,
    ) -> Result<(), ConvertError> {
        let mut ctx = Context::with_secrets(&self.secrets);
        let config = route_configuration_from_bytes(&body, &mut ctx)?;
        merge_ignored(&mut self.ignored, ctx);
        out.batch.upserts.push(Resource::Router(config));
        self.routes
            .insert(name.to_owned(), Entry::new(version, &body, ()));
        for listener in self.rds_users.get(name).cloned().unwrap_or_default() {
            if self
                .listeners
                .get(&listener)
                .is_some_and(|e| e.warming_since.is_some())
            {
                self.emit_listener(&listener, false, out);
            }
        }
        Ok(())
    }

    fn store_secret(
        &mut self,
        name: &str,
        version: String,
        body: Vec<u8>,
        now: Instant,
        out: &mut Outcome,
    ) -> Result<(), ConvertError> {
        let proto = Secret::decode(body.as_slice()).map_err(decode_error)?;
        self.secrets.insert(name.to_owned(), proto);
        self.secret_entries
            .insert(name.to_owned(), Entry::new(version, &body, ()));
        // Everything that uses the secret is converted again with it.
        for (ty, user) in self.secret_users.get(name).cloned().unwrap_or_default() {
            let stored = match ty {
                XdsType::Cluster => self
                    .clusters
                    .get(&user)
                    .map(|e| (e.version.clone(), e.body.bytes())),
                XdsType::Listener => self
                    .listeners
                    .get(&user)
                    .map(|e| (e.version.clone(), e.body.bytes())),
                _ => None,
            };
            if let Some((version, body)) = stored {
                if let Err(e) = self.convert_and_store(ty, &user, version, body, now, out) {
                    out.error(&user, e);
                }
            }
        }
        Ok(())
    }

    fn index_secrets(&mut self, ty: XdsType, name: &str, secrets: &BTreeSet<String>) {
        let key = (ty, name.to_owned());
        for users in self.secret_users.values_mut() {
            users.remove(&key);
        }
        for secret in secrets {
            self.secret_users
                .entry(secret.clone())
                .or_default()
                .insert(key.clone());
        }
        self.secret_users.retain(|_, users| !users.is_empty());
    }

    fn remove(&mut self, ty: XdsType, name: &str, out: &mut Outcome) {
        match ty {
            XdsType::Cluster => {
                if let Some(entry) = self.clusters.remove(name) {
                    if let Some(eds) = &entry.plan.eds {
                        unindex(&mut self.eds_users, eds, name);
                    }
                    self.index_secrets(ty, name, &BTreeSet::new());
                    out.batch
                        .removals
                        .push((ResourceKind::Cluster, name.to_owned()));
                }
            }
            XdsType::Listener => {
                if let Some(entry) = self.listeners.remove(name) {
                    for route in &entry.plan.rds {
                        unindex(&mut self.rds_users, route, name);
                    }
                    self.index_secrets(ty, name, &BTreeSet::new());
                    out.batch
                        .removals
                        .push((ResourceKind::Listener, name.to_owned()));
                    out.batch.removals.extend(
                        entry
                            .plan
                            .inline_routes
                            .iter()
                            .map(|r| (ResourceKind::Router, r.name.clone())),
                    );
                }
            }
            XdsType::Endpoint => {
                if self.endpoints.remove(name).is_some() {
                    // Delta removed the assignment: its clusters have no hosts now.
                    for cluster in self.eds_users.get(name).cloned().unwrap_or_default() {
                        if let Some(entry) = self.clusters.get(&cluster) {
                            let config = cluster_config(&entry.plan, Some(Vec::new()));
                            out.batch.upserts.push(Resource::Cluster(Box::new(config)));
                        }
                    }
                }
            }
            XdsType::Route => {
                if self.routes.remove(name).is_some() {
                    out.batch
                        .removals
                        .push((ResourceKind::Router, name.to_owned()));
                }
            }
            XdsType::Secret => {
                self.secret_entries.remove(name);
                self.secrets.remove(name);
            }
        }
    }

    /// Drops what nothing refers to any more: route configurations no listener names
    /// (removed from the plane too), load assignments no cluster uses, unused secrets.
    fn prune(&mut self, out: &mut Outcome) {
        let unused_routes: Vec<String> = self
            .routes
            .keys()
            .filter(|name| !self.rds_users.contains_key(*name))
            .cloned()
            .collect();
        for name in unused_routes {
            self.remove(XdsType::Route, &name, out);
        }
        self.endpoints
            .retain(|name, _| self.eds_users.contains_key(name));
        let unused_secrets: Vec<String> = self
            .secret_entries
            .keys()
            .filter(|name| !self.secret_users.contains_key(*name))
            .cloned()
            .collect();
        for name in unused_secrets {
            self.remove(XdsType::Secret, &name, out);
        }
    }
}

impl<P> Entry<P> {
    /// A resource just stored: live (not warming), using no secret.
    fn new(version: String, body: &[u8], plan: P) -> Self {
        Self {
            version,
            body: Body::new(body),
            plan,
            warming_since: None,
            secrets: BTreeSet::new(),
            updated: std::time::SystemTime::now(),
        }
    }

    fn secrets_ready(&self, secrets: &HashMap<String, Secret>) -> bool {
        self.secrets.iter().all(|s| secrets.contains_key(s))
    }
}

/// The model cluster of `plan`, with `hosts` when it gets them from a load assignment.
fn cluster_config(plan: &ClusterPlan, hosts: Option<Vec<HostConfig>>) -> ClusterConfig {
    let mut config = plan.cluster.clone();
    if let Some(hosts) = hosts {
        config.hosts = hosts;
    }
    config.http_protocol = plan.http_protocol;
    config
}

/// A load assignment's hosts for one cluster: its transport socket matches decide which
/// hosts use TLS (the stored hosts when it has none).
fn cluster_hosts(
    plan: &ClusterPlan,
    endpoints: &Entry<Vec<HostConfig>>,
    decoded: Option<&ClusterLoadAssignment>,
) -> Vec<HostConfig> {
    if plan.socket_matches.is_empty() {
        return endpoints.plan.clone();
    }
    let hosts = match decoded {
        Some(cla) => plan.hosts(cla, &mut Context::default()),
        None => ClusterLoadAssignment::decode(endpoints.body.bytes().as_slice())
            .map_err(decode_error)
            .and_then(|cla| plan.hosts(&cla, &mut Context::default())),
    };
    hosts.unwrap_or_else(|e| {
        tracing::warn!(cluster = %plan.cluster.name, error = %e, "load assignment refused for this cluster");
        Vec::new()
    })
}

fn unindex(index: &mut HashMap<String, BTreeSet<String>>, key: &str, user: &str) {
    if let Some(users) = index.get_mut(key) {
        users.remove(user);
        if users.is_empty() {
            index.remove(key);
        }
    }
}

fn merge_ignored(total: &mut BTreeMap<&'static str, u64>, ctx: Context<'_>) {
    for (feature, n) in ctx.ignored {
        *total.entry(feature).or_default() += n;
    }
}

fn decode_error(e: prost::DecodeError) -> ConvertError {
    ConvertError::new("", format!("cannot decode: {e}"))
}

/// The name of a resource: field 1 of every resource type (`name`, or the load
/// assignment's `cluster_name`), read without converting the rest.
fn decode_name(bytes: &[u8]) -> Result<String, String> {
    #[derive(Message)]
    struct Named {
        #[prost(string, tag = "1")]
        name: String,
    }
    Named::decode(bytes)
        .map(|n| n.name)
        .map_err(|e| format!("cannot decode: {e}"))
}
