//! Upstream world: clusters, hosts, load balancers.
#![forbid(unsafe_code)]
