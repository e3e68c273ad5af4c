//! A cluster: its hosts, the set of them in rotation, and the balancer over that set.

use crate::circuit_breaker::CircuitBreakers;
use crate::host::{HealthFlag, Host};
use crate::lb::{self, LbContext, LoadBalancer};
use crate::subset::{SubsetChoice, Subsets};
use arc_swap::ArcSwap;
use mosn_api::stats::ClusterStats;
use mosn_config::{
    Address, ClusterConfig, HostConfig, LbConfig, LbSubsetConfig, LbType, Metadata,
    OriginalDstConfig,
};
use std::collections::HashMap;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every host, the hosts in rotation and the balancer built over them; replaced whole when
/// a host's health changes or the host list is replaced (DNS, later EDS), so a pick never
/// sees a half-updated set.
struct HostSet {
    /// Every host, in config (or resolution) order, healthy or not.
    hosts: Arc<[Arc<Host>]>,
    /// Hosts the balancer chooses among: the healthy ones, or all in panic mode.
    rotation: Vec<Arc<Host>>,
    lb: Box<dyn LoadBalancer>,
    /// True when the balancer was built on slow start's effective weights (some host was
    /// inside its window), so `crate::slow_start::run` rebuilds it again.
    slow_start_active: bool,
    /// The rotation grouped by label, when the cluster has `lb_subset_config`.
    subsets: Option<Subsets>,
}

/// One unit of a cluster's `max_requests` breaker, given back on drop.
#[derive(Debug)]
pub struct RequestSlot(Arc<Cluster>);

impl Drop for RequestSlot {
    fn drop(&mut self) {
        self.0.circuit_breakers.requests.release();
    }
}

/// A named group of hosts with the settings every connection to them shares.
pub struct Cluster {
    /// `name`.
    pub name: String,
    /// Counters shared across workers and config reloads.
    pub stats: Arc<ClusterStats>,
    /// How long a connect may take.
    pub connect_timeout: Duration,
    /// How long a pooled connection may sit idle.
    pub idle_timeout: Duration,
    /// Requests per upstream connection before it is retired; 0 = unlimited.
    pub max_request_per_conn: u32,
    /// Caps on connections, pending requests, requests and retries; shared with the
    /// cluster's later versions, so requests in flight during a change stay counted.
    pub circuit_breakers: Arc<CircuitBreakers>,
    /// `tls_context`: upstream connections handshake with it (hosts with `tls_disable`
    /// excepted); its certificates are hot-swapped when their files change.
    pub tls: Option<Arc<mosn_tls::ClusterTls>>,
    /// The HTTP protocol the cluster asks for upstream (Envoy's `HttpProtocolOptions`),
    /// over the `proxy` filter's; `None` leaves it to the filter.
    pub http_protocol: Option<mosn_config::Protocol>,
    /// TCP keepalive for the cluster's upstream TCP connections (Envoy's
    /// `upstream_connection_options.tcp_keepalive`); `None`: the kernel's default.
    pub tcp_keepalive: Option<mosn_config::TcpKeepalive>,
    lb_type: LbType,
    lb_config: LbConfig,
    set: ArcSwap<HostSet>,
    /// Serializes writers of `set` (health checks, outlier detection, DNS) so that a
    /// rotation refresh never stores a host list an update just replaced; readers never
    /// take it.
    writer: Mutex<()>,
    /// Outlier detection, when the cluster has `outlier_detection` (see `crate::outlier`).
    pub(crate) outlier: Option<crate::outlier::OutlierDetector>,
    /// `slow_start`, when set and the balancer is one it applies to (`crate::slow_start`).
    pub(crate) slow_start: Option<mosn_config::SlowStartConfig>,
    lb_subset: Option<LbSubsetConfig>,
    /// `original_dst_lb_config` of an `ORIGINAL_DST` cluster, whose hosts are made per
    /// destination and kept while in use (`dst_hosts`).
    original_dst: Option<OriginalDstConfig>,
    dst_hosts: Mutex<HashMap<SocketAddr, Arc<Host>>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("name", &self.name)
            .field("hosts", &self.hosts())
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Builds a cluster from validated config, attaching the stats it reports into.
    pub fn from_config(cfg: &ClusterConfig, stats: Arc<ClusterStats>) -> Self {
        let hosts: Arc<[Arc<Host>]> = cfg.hosts.iter().map(new_host).collect();
        Self::with_parts(
            cfg,
            stats,
            hosts,
            Arc::new(CircuitBreakers::from_config(&cfg.circuit_breakers)),
        )
    }

    /// Builds a cluster with its TLS context (when it has one): what a configuration
    /// source adds. Fails when the context cannot be built (its files changed since the
    /// config was validated).
    pub fn build(cfg: &ClusterConfig, stats: Arc<ClusterStats>) -> Result<Self, String> {
        let mut cluster = Self::from_config(cfg, stats);
        cluster.tls = build_tls(cfg)?;
        Ok(cluster)
    }

    /// Applies `new`, the changed config of this cluster (`old` is the config it was
    /// built from). When only the hosts changed they are replaced in place
    /// ([`Cluster::update_hosts`]) and `None` is returned: nothing else is rebuilt.
    /// Otherwise the cluster is rebuilt and the new one returned; it keeps what still
    /// applies: the hosts that stay (health flags, ejections, load counters, and so their
    /// pooled connections; a DNS cluster keeps every resolved host until it resolves again),
    /// the circuit breakers' units in use (caps updated), and the TLS
    /// context when `tls_context` did not change (so pooled TLS connections are still
    /// reused). Hosts that left are marked removed.
    pub fn change(
        &self,
        old: &ClusterConfig,
        new: &ClusterConfig,
        stats: Arc<ClusterStats>,
    ) -> Result<Option<Self>, String> {
        if same_but_hosts(old, new) {
            self.update_hosts(&new.hosts);
            return Ok(None);
        }
        let tls = if old.tls == new.tls {
            self.tls.clone()
        } else {
            build_tls(new)?
        };
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.set.load().hosts.clone();
        // A DNS cluster's hosts come from resolution, not from its config: it keeps the
        // resolved ones until its (restarted) resolution replaces them.
        let hosts = if new.dns.is_some() {
            current.clone()
        } else {
            carry_hosts(&current, &new.hosts)
        };
        self.circuit_breakers.update(&new.circuit_breakers);
        let mut cluster = Self::with_parts(new, stats, hosts, self.circuit_breakers.clone());
        cluster.tls = tls;
        mark_gone(&current, &cluster.set.load().hosts);
        Ok(Some(cluster))
    }

    /// Marks every host removed: the cluster left the configuration. Requests in flight
    /// finish; pools close idle connections to its hosts at their next sweep.
    pub fn retire(&self) {
        for host in self.set.load().hosts.iter() {
            host.mark_removed();
        }
    }

    fn with_parts(
        cfg: &ClusterConfig,
        stats: Arc<ClusterStats>,
        hosts: Arc<[Arc<Host>]>,
        circuit_breakers: Arc<CircuitBreakers>,
    ) -> Self {
        let slow_start = cfg
            .slow_start
            .filter(|_| crate::slow_start::applies_to(cfg.lb_type));
        let balancing = Balancing {
            lb_type: cfg.lb_type,
            lb_config: &cfg.lb_config,
            slow_start: slow_start.as_ref(),
            subsets: cfg.lb_subset.as_ref(),
        };
        let set = ArcSwap::from_pointee(balancing.build(hosts, Instant::now()));
        Self {
            name: cfg.name.clone(),
            stats,
            connect_timeout: cfg.connect_timeout,
            idle_timeout: cfg.idle_timeout,
            max_request_per_conn: cfg.max_request_per_conn,
            circuit_breakers,
            tls: None,
            http_protocol: cfg.http_protocol,
            tcp_keepalive: cfg.tcp_keepalive,
            lb_type: cfg.lb_type,
            lb_config: cfg.lb_config,
            set,
            writer: Mutex::new(()),
            outlier: cfg
                .outlier_detection
                .as_deref()
                .map(|o| crate::outlier::OutlierDetector::new(*o)),
            slow_start,
            lb_subset: cfg.lb_subset.clone(),
            original_dst: cfg.original_dst.clone(),
            dst_hosts: Mutex::default(),
        }
    }

    /// Every host, healthy or not, in config (or resolution) order: a snapshot, which
    /// [`Cluster::update_hosts`] may replace at any time.
    pub fn hosts(&self) -> Arc<[Arc<Host>]> {
        self.set.load().hosts.clone()
    }

    /// Picks a host for one request or connection; `None` when the cluster has no hosts,
    /// counted as `upstream_cx_none_healthy`.
    pub fn choose_host(&self, ctx: &LbContext) -> Option<Arc<Host>> {
        self.choose_host_for_attempt(ctx, 0)
    }

    /// Like [`Cluster::choose_host`], for the `attempt`-th try of one request (0 = first
    /// try, 1 = first retry): `LB_REQUEST_ROUNDROBIN` walks the hosts per request and the
    /// hashing balancers move to the next host on a retry; the others ignore it.
    pub fn choose_host_for_attempt(&self, ctx: &LbContext, attempt: u32) -> Option<Arc<Host>> {
        self.choose_host_in_subset(ctx, attempt, &Metadata::default())
    }

    /// Like [`Cluster::choose_host_for_attempt`] for a request whose route asks for the
    /// subset with `labels` (`metadata_match`); empty labels, or a cluster without
    /// `lb_subset_config`, balance over every host. A request the subset and its fallback
    /// cannot serve gets `None`, counted as `lb_subsets_no_host`.
    pub fn choose_host_in_subset(
        &self,
        ctx: &LbContext,
        attempt: u32,
        labels: &Metadata,
    ) -> Option<Arc<Host>> {
        if self.original_dst.is_some() {
            let host = ctx.original_dst.map(|dst| self.original_dst_host(dst));
            match &host {
                Some(h) => h.stats.lb_picks.inc(),
                None => self.stats.upstream_cx_none_healthy.inc(),
            }
            return host;
        }
        let set = self.set.load();
        let from_all = || {
            set.lb
                .choose_for_attempt(ctx, attempt)
                .and_then(|i| set.rotation.get(i))
                .cloned()
        };
        let host = match set.subsets.as_ref().filter(|_| !labels.is_empty()) {
            None => from_all(),
            Some(subsets) => match subsets.choose(labels, ctx, attempt) {
                SubsetChoice::Host(h) => Some(h),
                SubsetChoice::AnyHost => {
                    self.stats.lb_subsets_fallback.inc();
                    from_all()
                }
                SubsetChoice::NoHost => {
                    self.stats.lb_subsets_no_host.inc();
                    None
                }
            },
        };
        match &host {
            Some(h) => h.stats.lb_picks.inc(),
            None => self.stats.upstream_cx_none_healthy.inc(),
        }
        host
    }

    /// Takes a unit of the `max_requests` breaker held by the returned slot, for requests
    /// that outlive the caller's stack frame (multiplexed RPC streams); `None` when the
    /// cap is reached.
    pub fn try_acquire_request(self: &Arc<Self>) -> Option<RequestSlot> {
        self.circuit_breakers
            .requests
            .take()
            .then(|| RequestSlot(self.clone()))
    }

    /// The cluster's balancer.
    pub fn lb_type(&self) -> LbType {
        self.lb_type
    }

    /// True when the balancer picks by `LbContext::hash_key`, so the proxy computes the
    /// key (`mosn_router::hash_key`) only for these clusters.
    pub fn uses_hash_key(&self) -> bool {
        self.lb_type.uses_hash_key()
    }

    /// Rebuilds the rotation after a host's health changed (health checks and outlier
    /// detection call it off the request path).
    pub fn refresh_rotation(&self) {
        self.refresh_rotation_at(Instant::now());
    }

    /// [`Cluster::refresh_rotation`] as of `now`: slow start's effective weights are
    /// those at `now` (its periodic rebuild, `crate::slow_start::run`, calls this).
    pub fn refresh_rotation_at(&self, now: Instant) {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let hosts = self.set.load().hosts.clone();
        self.set.store(Arc::new(self.balancing().build(hosts, now)));
    }

    /// `original_dst_lb_config`, when this is an `ORIGINAL_DST` cluster.
    pub fn original_dst(&self) -> Option<&OriginalDstConfig> {
        self.original_dst.as_ref()
    }

    /// The host for `dst` in an `ORIGINAL_DST` cluster: made on first use and shared by
    /// later requests to the same destination (so they share pooled connections); hosts
    /// no request or connection holds any more are dropped as the map grows.
    fn original_dst_host(&self, dst: SocketAddr) -> Arc<Host> {
        let mut hosts = self.dst_hosts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = hosts.get(&dst) {
            return h.clone();
        }
        if hosts.len() >= MAX_IDLE_DST_HOSTS {
            hosts.retain(|_, h| Arc::strong_count(h) > 1);
        }
        let host = Arc::new(Host::new(Address::Tcp(dst), None, 1));
        hosts.insert(dst, host.clone());
        host
    }

    fn balancing(&self) -> Balancing<'_> {
        Balancing {
            lb_type: self.lb_type,
            lb_config: &self.lb_config,
            slow_start: self.slow_start.as_ref(),
            subsets: self.lb_subset.as_ref(),
        }
    }

    /// True when the current rotation was built on slow start's effective weights, so it
    /// needs rebuilding as the windows advance (and once more when they end).
    pub fn slow_start_active(&self) -> bool {
        self.set.load().slow_start_active
    }

    /// Replaces the host list (DNS resolution, a configuration change of the hosts alone;
    /// EDS later) with `new`, and rebuilds the rotation. A host whose address, name,
    /// weight, labels and `tls_disable` stay keeps its `Arc<Host>` (load counters, health
    /// flags, ejection, latency estimate), so its pooled connections are untouched; a host
    /// at the same address with other settings is new but keeps a failed active health
    /// check (it stays out of rotation until a check passes); other hosts start fresh and
    /// healthy. Hosts that left are marked ([`Host::is_removed`]): pools close their idle
    /// connections at the next checkout or sweep, and connections in use finish their
    /// request first. Duplicate addresses keep the first entry. Returns true when the list
    /// changed. Off the request path: picks in flight keep the set they loaded.
    pub fn update_hosts(&self, new: &[HostConfig]) -> bool {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let old = self.set.load().hosts.clone();
        let hosts = carry_hosts(&old, new);
        let changed = hosts.len() != old.len()
            || hosts
                .iter()
                .zip(old.iter())
                .any(|(a, b)| !Arc::ptr_eq(a, b));
        if changed {
            mark_gone(&old, &hosts);
            self.set
                .store(Arc::new(self.balancing().build(hosts, Instant::now())));
        }
        changed
    }
}

/// A new host from its config.
fn new_host(h: &HostConfig) -> Arc<Host> {
    let mut host = Host::new(h.address.clone(), h.hostname.clone(), h.weight)
        .with_metadata(h.metadata.clone());
    host.tls_disable = h.tls_disable;
    Arc::new(host)
}

/// The host list `new` describes, reusing the hosts of `old` that stay (see
/// [`Cluster::update_hosts`]); duplicate addresses keep their first entry.
fn carry_hosts(old: &[Arc<Host>], new: &[HostConfig]) -> Arc<[Arc<Host>]> {
    let by_address: HashMap<&Address, &Arc<Host>> = old.iter().map(|h| (&h.address, h)).collect();
    let mut seen = HashSet::with_capacity(new.len());
    new.iter()
        .filter(|h| seen.insert(&h.address))
        .map(|cfg| match by_address.get(&cfg.address) {
            Some(kept) if same_host(kept, cfg) => Arc::clone(kept),
            Some(previous) => {
                let host = new_host(cfg);
                if previous
                    .health_flags()
                    .contains(&HealthFlag::FailedActiveHealthCheck)
                {
                    host.set_health_flag(HealthFlag::FailedActiveHealthCheck, true);
                }
                host
            }
            None => new_host(cfg),
        })
        .collect()
}

/// True when `host` is what `cfg` describes.
fn same_host(host: &Host, cfg: &HostConfig) -> bool {
    host.address == cfg.address
        && host.weight == cfg.weight.max(1)
        && host.hostname == cfg.hostname
        && host.metadata == cfg.metadata
        && host.tls_disable == cfg.tls_disable
}

/// Marks the hosts of `old` that are not in `new` as removed.
fn mark_gone(old: &[Arc<Host>], new: &[Arc<Host>]) {
    let kept: HashSet<*const Host> = new.iter().map(Arc::as_ptr).collect();
    for gone in old.iter().filter(|h| !kept.contains(&Arc::as_ptr(h))) {
        gone.mark_removed();
    }
}

/// True when two configs of one cluster differ in their hosts at most.
fn same_but_hosts(old: &ClusterConfig, new: &ClusterConfig) -> bool {
    let strip = |c: &ClusterConfig| ClusterConfig {
        hosts: Vec::new(),
        ..c.clone()
    };
    strip(old) == strip(new)
}

/// The cluster's client TLS context, when it has a `tls_context`.
fn build_tls(cfg: &ClusterConfig) -> Result<Option<Arc<mosn_tls::ClusterTls>>, String> {
    cfg.tls
        .as_ref()
        .map(|tls| {
            mosn_tls::cluster_tls(&cfg.name, tls.clone())
                .map_err(|e| format!("cluster {:?}: tls_context.{}: {e}", cfg.name, e.key))
        })
        .transpose()
}

/// `ORIGINAL_DST` destinations remembered before unused ones are swept.
const MAX_IDLE_DST_HOSTS: usize = 1024;

/// How a cluster balances: what a host set is built with.
struct Balancing<'a> {
    lb_type: LbType,
    lb_config: &'a LbConfig,
    slow_start: Option<&'a mosn_config::SlowStartConfig>,
    subsets: Option<&'a LbSubsetConfig>,
}

impl Balancing<'_> {
    /// The healthy hosts and their balancer; when none is healthy, every host (Envoy's
    /// panic mode: better to try than to fail everything). With `slow_start`, hosts inside
    /// their window at `now` balance on reduced weights; with subsets, the rotation is
    /// also grouped by label.
    fn build(&self, hosts: Arc<[Arc<Host>]>, now: Instant) -> HostSet {
        let healthy: Vec<Arc<Host>> = hosts.iter().filter(|h| h.is_healthy()).cloned().collect();
        let rotation = if healthy.is_empty() {
            hosts.to_vec()
        } else {
            healthy
        };
        let weights = self
            .slow_start
            .and_then(|cfg| crate::slow_start::effective_weights(cfg, &rotation, now));
        let lb = lb::build_weighted(self.lb_type, &rotation, weights.as_deref(), self.lb_config);
        let subsets = self
            .subsets
            .map(|cfg| Subsets::build(cfg, &rotation, self.lb_type, self.lb_config));
        HostSet {
            hosts,
            rotation,
            lb,
            slow_start_active: weights.is_some(),
            subsets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster_hosts_tests::test_config;

    fn cluster(ports: &[u16]) -> Cluster {
        Cluster::from_config(&test_config(ports), Arc::default())
    }

    fn port(h: &Host) -> u16 {
        match &h.address {
            Address::Tcp(a) => a.port(),
            Address::Unix(_) => 0,
        }
    }

    #[test]
    fn unhealthy_hosts_leave_rotation_and_return() {
        let c = cluster(&[1, 2, 3]);
        let ctx = LbContext::default();
        c.hosts()[1].set_health_flag(HealthFlag::FailedActiveHealthCheck, true);
        c.refresh_rotation();
        assert!((0..30).all(|_| port(&c.choose_host(&ctx).unwrap()) != 2));
        c.hosts()[1].set_health_flag(HealthFlag::FailedActiveHealthCheck, false);
        c.refresh_rotation();
        assert!((0..30).any(|_| port(&c.choose_host(&ctx).unwrap()) == 2));
    }

    #[test]
    fn all_unhealthy_means_panic_mode_and_empty_means_none() {
        let c = cluster(&[1, 2]);
        for h in c.hosts().iter() {
            h.set_health_flag(HealthFlag::FailedOutlierCheck, true);
        }
        c.refresh_rotation();
        assert!(c.choose_host(&LbContext::default()).is_some());
        let empty = cluster(&[]);
        assert!(empty.choose_host(&LbContext::default()).is_none());
        assert_eq!(empty.stats.upstream_cx_none_healthy.get(), 1);
    }
}
