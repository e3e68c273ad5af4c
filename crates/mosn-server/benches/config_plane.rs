//! Applying configuration at scale, through the same plane the file and xDS use:
//! one batch of 10,000 clusters (two hosts each) and a route configuration of 10,000
//! virtual hosts; then changing the hosts of one cluster among them (applied in place:
//! nothing else is rebuilt, the snapshot is not even republished); then changing one
//! cluster's settings (it alone is rebuilt). Prints the times and the process's RSS growth.
//!
//! `cargo bench -p mosn-server --bench config_plane` (`-- --quick`: 1,000 instead of
//! 10,000).

use arc_swap::ArcSwap;
use mosn_api::stats::StatsRegistry;
use mosn_config::resources::{Batch, Resource};
use mosn_config::{
    Address, ClusterConfig, ClusterTarget, ForwardAction, HeaderEdits, HostConfig, PathMatch,
    RouteAction, RouteConfig, RouteMatch, RouterConfig, VirtualHostConfig,
};
use mosn_proxy::{ProxyState, SharedState};
use mosn_server::ConfigPlane;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let n = if std::env::args().any(|a| a == "--quick") {
        1_000
    } else {
        10_000
    };
    let state: SharedState = Arc::new(ArcSwap::from_pointee(ProxyState::default()));
    let plane = ConfigPlane::detached(state.clone(), Arc::new(StatsRegistry::default()));
    let clusters: Vec<ClusterConfig> = (0..n).map(|i| cluster(i, 1)).collect();
    let mut batch = Batch {
        upserts: clusters
            .iter()
            .map(|c| Resource::Cluster(Box::new(c.clone())))
            .collect(),
        removals: Vec::new(),
    };
    batch.upserts.push(Resource::Router(router(n)));

    let rss_before = rss_bytes();
    let (report, full) = timed(|| plane.apply(batch));
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(state.load().clusters.len(), n);
    let rss_after = rss_bytes();

    // The hosts of one cluster (a different one each time), moved back and forth.
    let snapshot = state.load_full();
    let hosts_only: Vec<Duration> = (0..CHANGES)
        .map(|k| {
            let i = (k * 7919) % n;
            let mut moved = clusters[i].clone();
            moved.hosts = cluster(i, 7 + (k % 2) as u8).hosts;
            let (report, took) = timed(|| plane.apply(single(moved)));
            assert_eq!(report.applied.len(), 1);
            took
        })
        .collect();
    assert!(
        Arc::ptr_eq(&snapshot, &state.load_full()),
        "a hosts-only change republished the snapshot"
    );

    // One cluster's settings: it alone is rebuilt, the snapshot republished.
    let rebuilt: Vec<Duration> = (0..CHANGES)
        .map(|k| {
            let mut slower = clusters[(k * 104_729) % n].clone();
            slower.connect_timeout = Duration::from_millis(1000 + k as u64);
            let (report, took) = timed(|| plane.apply(single(slower)));
            assert_eq!(report.applied.len(), 1);
            took
        })
        .collect();
    let untouched = &clusters[n - 1].name;
    let kept = state.load().clusters.get(untouched).cloned();
    assert!(kept.is_some_and(|c| snapshot
        .clusters
        .get(untouched)
        .is_some_and(|o| Arc::ptr_eq(o, &c))));

    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "config_plane: {n} clusters (2 hosts each) + a route configuration of {n} virtual hosts"
    );
    println!("  apply all at once          {:>10.1} ms", ms(full));
    println!(
        "  RSS growth                 {:>10.1} MiB",
        mib(rss_after.saturating_sub(rss_before))
    );
    println!("  hosts of one cluster       {}", spread(hosts_only));
    println!("  settings of one cluster    {}", spread(rebuilt));
}

/// Changes of one cluster timed, each a batch of its own.
const CHANGES: usize = 200;

/// `median ms (p99, max)` of `times`.
fn spread(mut times: Vec<Duration>) -> String {
    times.sort();
    let at = |q: f64| ms(times[((times.len() - 1) as f64 * q) as usize]);
    format!(
        "{:>10.3} ms median, p99 {:.3}, max {:.3} ({} changes)",
        at(0.5),
        at(0.99),
        at(1.0),
        times.len()
    )
}

fn single(cluster: ClusterConfig) -> Batch {
    Batch {
        upserts: vec![Resource::Cluster(Box::new(cluster))],
        removals: Vec::new(),
    }
}

/// Cluster `c{i}` with two hosts on 10.x addresses (never connected to), from `seed`.
fn cluster(i: usize, seed: u8) -> ClusterConfig {
    let host = |k: u8| {
        let b = i.to_be_bytes();
        HostConfig::new(
            Address::Tcp(([10, b[6], b[7], seed.wrapping_add(k)], 8080).into()),
            None,
            1,
        )
    };
    let mut c = ClusterConfig::static_hosts(&format!("c{i}"), &[]);
    c.hosts = vec![host(0), host(1)];
    c
}

/// A route configuration with one virtual host per cluster: `svc{i}.example` → `c{i}`.
fn router(n: usize) -> RouterConfig {
    RouterConfig {
        name: "r".into(),
        virtual_hosts: (0..n)
            .map(|i| VirtualHostConfig {
                name: format!("vh{i}"),
                domains: vec![format!("svc{i}.example")],
                routes: vec![RouteConfig {
                    matcher: RouteMatch {
                        path: PathMatch::Prefix("/".into()),
                        headers: Vec::new(),
                        query_parameters: Vec::new(),
                    },
                    action: RouteAction::Forward(std::sync::Arc::new(ForwardAction::to(
                        ClusterTarget::Single(format!("c{i}")),
                    ))),
                }],
                headers: HeaderEdits::default(),
                include_request_attempt_count: false,
            })
            .collect(),
        headers: HeaderEdits::default(),
        host_port: Default::default(),
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Resident set size from /proc/self/statm.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}
