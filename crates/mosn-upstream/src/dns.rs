//! `STRICT_DNS` and `LOGICAL_DNS` clusters: a `mosn-dns` thread resolves each cluster's
//! names at start and then every `dns_refresh_rate` (or when the records expire, with
//! `respect_dns_ttl`), and replaces the cluster's hosts through
//! [`Cluster::update_hosts`]. Resolution never happens on the request path: workers only
//! see the host set the last resolution stored.
//!
//! A failed lookup of one name (error, timeout, no records) keeps that name's last
//! resolved addresses, is logged and counted (`upstream_dns_failure`); a successful one
//! is counted in `upstream_dns_refresh`. Until a name has resolved once it contributes no
//! host, so a cluster none of whose names has resolved answers 503 (no healthy upstream).

use crate::cluster::Cluster;
use crate::control_thread::{ControlThread, GroupStart};
use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::TokioResolver;
use mosn_config::{Address, ClusterType, DnsConfig, DnsLookupFamily, HostConfig};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// With `respect_dns_ttl`, names are never resolved more often than this.
pub const MIN_TTL_REFRESH: Duration = Duration::from_secs(1);
/// How long one lookup may take (hickory retries within it).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// One DNS cluster to keep resolved.
#[derive(Debug)]
pub struct DnsCluster {
    cluster: Arc<Cluster>,
    cluster_type: ClusterType,
    config: DnsConfig,
}

impl DnsCluster {
    /// `cluster` (whose hosts get replaced) with its validated DNS settings; `cluster_type`
    /// `LogicalDns` keeps only the first address of each name.
    pub fn new(cluster: Arc<Cluster>, cluster_type: ClusterType, config: DnsConfig) -> Self {
        Self {
            cluster,
            cluster_type,
            config,
        }
    }
}

/// Starts resolving every cluster on a new `mosn-dns` thread, waits up to
/// `first_resolution` for each cluster's first round of lookups (so a server starts with
/// its hosts when DNS answers promptly; a cluster not resolved by then starts empty and
/// fills in when its lookups finish), and returns the handle that stops the thread.
/// Clusters added, changed or removed later are given to the thread with
/// [`ControlThread::set_group`] and [`group`].
pub fn spawn(clusters: Vec<DnsCluster>, first_resolution: Duration) -> io::Result<DnsHandle> {
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let count = clusters.len();
    let thread = ControlThread::spawn("mosn-dns", || {})?;
    for dns in clusters {
        let name = dns.cluster.name.clone();
        thread.set_group(&name, Some(group(dns, Some(ready_tx.clone()))));
    }
    let deadline = Instant::now() + first_resolution;
    for _ in 0..count {
        let left = deadline.saturating_duration_since(Instant::now());
        if ready_rx.recv_timeout(left).is_err() {
            tracing::warn!(
                ?first_resolution,
                "not every DNS cluster resolved in time; starting, they fill in when resolved"
            );
            break;
        }
    }
    Ok(thread)
}

/// The resolution loop of one cluster, as a group of the `mosn-dns` thread; `ready` hears
/// when its first round of lookups is done.
pub fn group(dns: DnsCluster, ready: Option<mpsc::Sender<()>>) -> GroupStart {
    Box::new(move || Box::pin(run(dns, ready)))
}

/// The running `mosn-dns` thread; stops it on `shutdown` or drop.
pub type DnsHandle = ControlThread;

/// Builds the resolver for `config`: its nameservers (UDP, then TCP on truncation), or
/// the system's (`/etc/resolv.conf`) when none is configured.
pub fn build_resolver(config: &DnsConfig) -> io::Result<TokioResolver> {
    let mut opts = ResolverOpts::default();
    let mut builder = if config.nameservers.is_empty() {
        TokioResolver::builder_tokio().map_err(io::Error::other)?
    } else {
        let mut rc = ResolverConfig::new();
        for &server in &config.nameservers {
            rc.add_name_server(NameServerConfig::new(server, Protocol::Udp));
            rc.add_name_server(NameServerConfig::new(server, Protocol::Tcp));
        }
        // Only the configured servers decide, not /etc/hosts.
        opts.use_hosts_file = ResolveHosts::Never;
        TokioResolver::builder_with_config(rc, TokioConnectionProvider::default())
    };
    opts.ip_strategy = match config.lookup_family {
        DnsLookupFamily::V4Only => LookupIpStrategy::Ipv4Only,
        DnsLookupFamily::V6Only => LookupIpStrategy::Ipv6Only,
        DnsLookupFamily::V4Preferred => LookupIpStrategy::Ipv4thenIpv6,
        DnsLookupFamily::Auto => LookupIpStrategy::Ipv6thenIpv4,
        DnsLookupFamily::All => LookupIpStrategy::Ipv4AndIpv6,
    };
    opts.timeout = LOOKUP_TIMEOUT / 2;
    opts.attempts = 2;
    if !config.respect_dns_ttl {
        // Each refresh asks the server again instead of answering from the cache.
        opts.positive_max_ttl = Some(config.refresh_rate);
        opts.negative_max_ttl = Some(config.refresh_rate);
    }
    *builder.options_mut() = opts;
    Ok(builder.build())
}

/// One cluster's resolution loop.
async fn run(dns: DnsCluster, mut ready: Option<mpsc::Sender<()>>) {
    let resolver = match build_resolver(&dns.config) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(cluster = %dns.cluster.name, error = %e, "cannot build the DNS resolver");
            if let Some(ready) = ready {
                let _ = ready.send(());
            }
            return;
        }
    };
    // The last good addresses of each name, `None` until it first resolves.
    let mut resolved: Vec<Option<Vec<IpAddr>>> = vec![None; dns.config.targets.len()];
    loop {
        let expires = refresh(&dns, &resolver, &mut resolved).await;
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        tokio::time::sleep(next_refresh(&dns.config, expires, Instant::now())).await;
    }
}

/// Resolves every name once and stores the resulting hosts; returns when the records
/// expire (the earliest of the successful lookups).
async fn refresh(
    dns: &DnsCluster,
    resolver: &TokioResolver,
    resolved: &mut [Option<Vec<IpAddr>>],
) -> Option<Instant> {
    let stats = &dns.cluster.stats;
    let mut expires: Option<Instant> = None;
    for (target, slot) in dns.config.targets.iter().zip(resolved.iter_mut()) {
        let lookup = tokio::time::timeout(LOOKUP_TIMEOUT, resolver.lookup_ip(target.name.as_str()));
        let result = match lookup.await {
            Ok(Ok(found)) => {
                let ips: Vec<IpAddr> = found.iter().collect();
                if ips.is_empty() {
                    Err("no addresses".to_owned())
                } else {
                    let until = found.valid_until();
                    expires = Some(expires.map_or(until, |e| e.min(until)));
                    Ok(ips)
                }
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("timed out after {LOOKUP_TIMEOUT:?}")),
        };
        match result {
            Ok(ips) => {
                stats.upstream_dns_refresh.inc();
                if slot.as_ref() != Some(&ips) {
                    tracing::info!(cluster = %dns.cluster.name, name = %target.name, addresses = ?ips, "DNS resolved");
                }
                *slot = Some(ips);
            }
            Err(error) => {
                stats.upstream_dns_failure.inc();
                tracing::warn!(
                    cluster = %dns.cluster.name,
                    name = %target.name,
                    %error,
                    "DNS resolution failed; keeping the last resolved hosts"
                );
            }
        }
    }
    let hosts = hosts_of(dns, resolved);
    let count = hosts.len();
    dns.cluster.update_hosts(&hosts);
    stats
        .membership_total
        .set(i64::try_from(count).unwrap_or(i64::MAX));
    expires
}

/// The host list the resolved addresses make: every address of every name for
/// `STRICT_DNS`, the first of each for `LOGICAL_DNS`.
fn hosts_of(dns: &DnsCluster, resolved: &[Option<Vec<IpAddr>>]) -> Vec<HostConfig> {
    let take = if dns.cluster_type == ClusterType::LogicalDns {
        1
    } else {
        usize::MAX
    };
    dns.config
        .targets
        .iter()
        .zip(resolved)
        .flat_map(|(target, ips)| {
            ips.iter().flatten().take(take).map(move |&ip| {
                HostConfig::new(
                    Address::Tcp(SocketAddr::new(ip, target.port)),
                    target.hostname.clone(),
                    target.weight,
                )
            })
        })
        .collect()
}

/// When to resolve again: `refresh_rate`, or with `respect_dns_ttl` when the records
/// expire (at least [`MIN_TTL_REFRESH`] away; `refresh_rate` when nothing resolved).
fn next_refresh(config: &DnsConfig, expires: Option<Instant>, now: Instant) -> Duration {
    match expires {
        Some(until) if config.respect_dns_ttl => {
            until.saturating_duration_since(now).max(MIN_TTL_REFRESH)
        }
        _ => config.refresh_rate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosn_config::DnsTarget;

    fn config(respect_dns_ttl: bool) -> DnsConfig {
        DnsConfig {
            targets: vec![
                DnsTarget {
                    name: "a.test".into(),
                    port: 80,
                    hostname: None,
                    weight: 1,
                },
                DnsTarget {
                    name: "b.test".into(),
                    port: 81,
                    hostname: None,
                    weight: 2,
                },
            ],
            refresh_rate: Duration::from_secs(5),
            respect_dns_ttl,
            lookup_family: DnsLookupFamily::V4Only,
            nameservers: vec![],
        }
    }

    #[test]
    fn refresh_interval_follows_ttl_only_when_asked() {
        let now = Instant::now();
        let soon = Some(now + Duration::from_millis(10));
        let later = Some(now + Duration::from_secs(30));
        assert_eq!(
            next_refresh(&config(false), later, now),
            Duration::from_secs(5)
        );
        assert_eq!(
            next_refresh(&config(true), later, now),
            Duration::from_secs(30)
        );
        assert_eq!(next_refresh(&config(true), soon, now), MIN_TTL_REFRESH);
        assert_eq!(
            next_refresh(&config(true), None, now),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn strict_takes_every_address_logical_the_first() {
        let cluster = Arc::new(Cluster::from_config(
            &crate::cluster_hosts_tests::test_config(&[]),
            Arc::default(),
        ));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let resolved = vec![Some(vec![ip("127.0.0.1"), ip("127.0.0.2")]), None];
        let strict = DnsCluster::new(cluster.clone(), ClusterType::StrictDns, config(false));
        let hosts = hosts_of(&strict, &resolved);
        assert_eq!(hosts.len(), 2);
        assert_eq!(
            hosts[1].address,
            Address::Tcp("127.0.0.2:80".parse().unwrap())
        );
        let logical = DnsCluster::new(cluster, ClusterType::LogicalDns, config(false));
        let resolved = vec![
            Some(vec![ip("127.0.0.1"), ip("127.0.0.2")]),
            Some(vec![ip("127.0.0.3")]),
        ];
        let hosts = hosts_of(&logical, &resolved);
        assert_eq!(
            hosts.iter().map(|h| h.address.clone()).collect::<Vec<_>>(),
            vec![
                Address::Tcp("127.0.0.1:80".parse().unwrap()),
                Address::Tcp("127.0.0.3:81".parse().unwrap()),
            ]
        );
        assert_eq!(hosts[1].weight, 2);
    }
}
