//! One pick of each load balancer over 10 and 1,000 hosts.
//!
//! `cargo bench -p mosn-upstream --bench lb_pick` (add `-- --quick` for a fast pass).
//! Hosts have mixed weights (1..=4) for the weighted balancers, some requests and
//! connections in flight and recorded latencies, so the load-aware balancers compare
//! real numbers; hashing balancers get a different key on every pick.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use mosn_config::{Address, LbConfig, LbType};
use mosn_upstream::lb::{self, LbContext};
use mosn_upstream::Host;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// `(name, balancer, mixed weights?)`.
const LB_TYPES: [(&str, LbType, bool); 11] = [
    ("round_robin", LbType::RoundRobin, false),
    ("random", LbType::Random, false),
    ("weighted_round_robin", LbType::WeightedRoundRobin, true),
    ("least_request", LbType::LeastRequest, false),
    ("least_request_weighted", LbType::LeastRequest, true),
    ("least_connection", LbType::LeastConnection, false),
    ("maglev", LbType::Maglev, false),
    ("ring_hash", LbType::RingHash, false),
    ("peak_ewma", LbType::PeakEwma, false),
    ("peak_ewma_weighted", LbType::PeakEwma, true),
    ("request_round_robin", LbType::RequestRoundRobin, false),
];

fn hosts(n: u32, weighted: bool) -> Vec<Arc<Host>> {
    (0..n)
        .map(|i| {
            let addr = SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 8080));
            let weight = if weighted { 1 + i % 4 } else { 1 };
            let host = Host::new(Address::Tcp(addr), None, weight);
            host.active_requests
                .store(u64::from(i % 7), Ordering::Relaxed);
            host.active_connections
                .store(u64::from(i % 5), Ordering::Relaxed);
            host.record_latency(Duration::from_micros(500 + u64::from(i % 13) * 100));
            Arc::new(host)
        })
        .collect()
}

fn bench_picks(c: &mut Criterion) {
    let cfg = LbConfig::default();
    let mut group = c.benchmark_group("lb_pick");
    for (name, lb_type, weighted) in LB_TYPES {
        for n in [10u32, 1000] {
            let hosts = hosts(n, weighted);
            let lb = lb::build(lb_type, &hosts, &cfg);
            let mut key = 0u64;
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter(|| {
                    key = key.wrapping_add(0x9e37_79b9_7f4a_7c15);
                    let ctx = LbContext {
                        downstream_addr: None,
                        hash_key: Some(key),
                        original_dst: None,
                    };
                    black_box(lb.choose(black_box(&ctx)))
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = bench_picks
}
criterion_main!(benches);
