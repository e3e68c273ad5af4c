//! Tests of runtime host list replacement ([`Cluster::update_hosts`]).

use crate::cluster::Cluster;
use crate::host::{HealthFlag, Host};
use crate::lb::LbContext;
use mosn_config::{Address, ClusterConfig};
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

fn entries(ports: &[u16]) -> Vec<(Address, Option<String>, u32)> {
    ports.iter().map(|&p| (addr(p), None, 1)).collect()
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
    assert!(c.update_hosts(entries(&[2, 1, 4])));
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
    assert!(!c.update_hosts(entries(&[2, 1, 4])));
    assert!(Arc::ptr_eq(&c.hosts()[2], &after[2]));
}

#[test]
fn weight_change_makes_a_new_host_and_duplicates_collapse() {
    let c = Cluster::from_config(&test_config(&[1]), Arc::default());
    let old = c.hosts()[0].clone();
    assert!(c.update_hosts(vec![(addr(1), None, 5), (addr(1), None, 1)]));
    let hosts = c.hosts();
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].weight, 5);
    assert!(!Arc::ptr_eq(&hosts[0], &old));
}

#[test]
fn empty_and_back() {
    let c = Cluster::from_config(&test_config(&[]), Arc::default());
    assert!(c.choose_host(&LbContext::default()).is_none());
    assert!(c.update_hosts(entries(&[9])));
    assert_eq!(picked_ports(&c, 3), vec![9]);
    assert!(c.update_hosts(Vec::new()));
    assert!(c.choose_host(&LbContext::default()).is_none());
}
