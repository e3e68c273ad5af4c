//! Tests of runtime host list replacement ([`Cluster::update_hosts`]).

use crate::cluster::Cluster;
use crate::host::{HealthFlag, Host};
use crate::lb::LbContext;
use mosn_config::{Address, ClusterConfig, HostConfig};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A round-robin cluster of `127.0.0.1:<port>` hosts.
pub(crate) fn test_config(ports: &[u16]) -> ClusterConfig {
    let hosts: Vec<Address> = ports.iter().map(|&p| addr(p)).collect();
    ClusterConfig::static_hosts("c", &hosts)
}

fn addr(port: u16) -> Address {
    Address::Tcp(([127, 0, 0, 1], port).into())
}

fn entries(ports: &[u16]) -> Vec<HostConfig> {
    ports
        .iter()
        .map(|&p| HostConfig::new(addr(p), None, 1))
        .collect()
}

fn port(h: &Host) -> u16 {
    match &h.address {
        Address::Tcp(a) => a.port(),
        Address::Unix(_) => 0,
    }
}

fn picked_ports(c: &Cluster, n: usize) -> Vec<u16> {
    let ctx = LbContext::default();
    let mut ports: Vec<u16> = (0..n)
        .map(|_| port(&c.choose_host(&ctx).unwrap()))
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

#[test]
fn staying_hosts_keep_their_state_and_rotation_follows() {
    let c = Cluster::from_config(&test_config(&[1, 2, 3]), Arc::default());
    let before = c.hosts();
    before[0].active_connections.store(7, Ordering::Relaxed);
    before[1].set_health_flag(HealthFlag::FailedActiveHealthCheck, true);
    c.refresh_rotation();
    assert_eq!(picked_ports(&c, 30), vec![1, 3]);

    // 3 leaves, 4 joins; 1 and 2 stay with their counters and flags.
    assert!(c.update_hosts(&entries(&[2, 1, 4])));
    let after = c.hosts();
    assert_eq!(
        after.iter().map(|h| port(h)).collect::<Vec<_>>(),
        vec![2, 1, 4]
    );
    assert!(Arc::ptr_eq(&after[1], &before[0]));
    assert!(Arc::ptr_eq(&after[0], &before[1]));
    assert_eq!(after[1].active_connections.load(Ordering::Relaxed), 7);
    assert!(!after[0].is_healthy(), "health flag kept");
    assert!(after[2].is_healthy(), "a new host starts healthy");
    assert_eq!(picked_ports(&c, 30), vec![1, 4]);

    // The same list again changes nothing.
    assert!(!c.update_hosts(&entries(&[2, 1, 4])));
    assert!(Arc::ptr_eq(&c.hosts()[2], &after[2]));
}

#[test]
fn weight_change_makes_a_new_host_and_duplicates_collapse() {
    let c = Cluster::from_config(&test_config(&[1]), Arc::default());
    let old = c.hosts()[0].clone();
    assert!(c.update_hosts(&[
        HostConfig::new(addr(1), None, 5),
        HostConfig::new(addr(1), None, 1)
    ]));
    let hosts = c.hosts();
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].weight, 5);
    assert!(!Arc::ptr_eq(&hosts[0], &old));
}

#[test]
fn empty_and_back() {
    let c = Cluster::from_config(&test_config(&[]), Arc::default());
    assert!(c.choose_host(&LbContext::default()).is_none());
    assert!(c.update_hosts(&entries(&[9])));
    assert_eq!(picked_ports(&c, 3), vec![9]);
    assert!(c.update_hosts(&[]));
    assert!(c.choose_host(&LbContext::default()).is_none());
}

#[test]
fn a_hosts_only_change_is_applied_in_place() {
    let old = test_config(&[1, 2]);
    let c = Cluster::from_config(&old, Arc::default());
    let kept = c.hosts()[1].clone();
    let mut new = old.clone();
    new.hosts = entries(&[2, 3]);
    let rebuilt = c.change(&old, &new, Arc::default()).unwrap();
    assert!(rebuilt.is_none(), "nothing but the hosts changed");
    assert!(Arc::ptr_eq(&c.hosts()[0], &kept));
    assert_eq!(picked_ports(&c, 30), vec![2, 3]);
}

#[test]
fn a_rebuilt_cluster_keeps_hosts_health_and_breaker_units() {
    let old = test_config(&[1, 2]);
    let c = Arc::new(Cluster::from_config(&old, Arc::default()));
    c.hosts()[0].set_health_flag(HealthFlag::FailedActiveHealthCheck, true);
    c.refresh_rotation();
    let in_flight = c.try_acquire_request().unwrap();
    let mut new = old.clone();
    new.connect_timeout = std::time::Duration::from_secs(9);
    new.circuit_breakers.max_requests = 1;
    new.hosts = entries(&[1, 2, 3]);
    let rebuilt = c.change(&old, &new, Arc::default()).unwrap().unwrap();
    assert_eq!(rebuilt.connect_timeout, std::time::Duration::from_secs(9));
    assert!(
        Arc::ptr_eq(&rebuilt.hosts()[0], &c.hosts()[0]),
        "host 1 kept"
    );
    assert!(!rebuilt.hosts()[0].is_healthy(), "its failed check kept");
    assert_eq!(picked_ports(&rebuilt, 30), vec![2, 3]);
    let rebuilt = Arc::new(rebuilt);
    assert!(
        rebuilt.try_acquire_request().is_none(),
        "the old cluster's request in flight counts against the new cap"
    );
    drop(in_flight);
    assert!(rebuilt.try_acquire_request().is_some());
}

#[test]
fn a_weight_change_keeps_a_failed_check_and_retire_marks_every_host() {
    let old = test_config(&[1]);
    let c = Cluster::from_config(&old, Arc::default());
    c.hosts()[0].set_health_flag(HealthFlag::FailedActiveHealthCheck, true);
    assert!(c.update_hosts(&[HostConfig::new(addr(1), None, 3)]));
    let host = c.hosts()[0].clone();
    assert_eq!(host.weight, 3);
    assert!(!host.is_healthy());
    c.retire();
    assert!(host.is_removed());
}

#[test]
fn a_rebuilt_dns_cluster_keeps_its_resolved_hosts_until_it_resolves_again() {
    let parsed = mosn_config::parse_str(
        r#"{"cluster_manager": {"clusters": [{"name": "d", "type": "STRICT_DNS",
            "hosts": [{"address": "localhost:80"}]}]}}"#,
    )
    .expect("valid config");
    let old = parsed.config.clusters[0].clone();
    let c = Cluster::from_config(&old, Arc::default());
    assert!(c.update_hosts(&entries(&[1, 2])), "resolved");
    let mut new = old.clone();
    new.connect_timeout = std::time::Duration::from_secs(9);
    let rebuilt = c.change(&old, &new, Arc::default()).unwrap().unwrap();
    assert_eq!(picked_ports(&rebuilt, 30), vec![1, 2]);
    assert!(c.hosts().iter().all(|h| !h.is_removed()));
}
