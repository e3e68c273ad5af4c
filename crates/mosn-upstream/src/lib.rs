//! The upstream world: clusters, their hosts, and the load balancers that pick one.
//!
//! A [`ClusterManager`] is built from the config model and published to workers as an
//! immutable snapshot; within a cluster, the hosts in rotation and their balancer are
//! swapped whole when health changes. Connection pools (stream layer) key on host address.
#![forbid(unsafe_code)]

mod circuit_breaker;
mod cluster;
mod cluster_hosts;
#[cfg(test)]
mod cluster_hosts_tests;
mod control_thread;
pub mod dns;
pub mod health;
mod host;
mod host_stats;
pub mod lb;
mod manager;
pub mod outlier;
pub mod slow_start;
mod subset;

pub use circuit_breaker::{CircuitBreakers, Resource, ResourceGuard};
pub use cluster::{Cluster, RequestSlot};
pub use control_thread::{ControlThread, GroupStart};
pub use host::{ActiveRequest, HealthFlag, Host};
pub use host_stats::HostStats;
pub use lb::{LbContext, LoadBalancer};
pub use manager::ClusterManager;
pub use outlier::Outcome;
