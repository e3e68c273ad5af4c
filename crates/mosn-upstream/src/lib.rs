//! The upstream world: clusters, their hosts, and the load balancers that pick one.
//!
//! A [`ClusterManager`] is built from the config model and published to workers as an
//! immutable snapshot; connection pools (stream layer) key on the hosts it holds.
#![forbid(unsafe_code)]

mod cluster;
mod lb;
mod manager;

pub use cluster::{Cluster, Host};
pub use lb::{LbContext, LoadBalancer, RandomLb, RoundRobinLb};
pub use manager::ClusterManager;
