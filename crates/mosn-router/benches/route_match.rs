//! Route matching in a table of 1,000 routes: the first route, the last one (every route
//! before it is tried), a header-matched route and a miss.
//!
//! `cargo bench -p mosn-router --bench route_match` (add `-- --quick` for a fast pass).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use http::HeaderMap;
use mosn_router::RouteTable;

const ROUTES: usize = 1000;

/// A config whose one router has `ROUTES` prefix routes, every tenth also matching a
/// header, before a catch-all-miss (no route for `/nothing`).
fn table() -> RouteTable {
    let routes: Vec<String> = (0..ROUTES)
        .map(|i| {
            let headers = if i % 10 == 9 {
                format!(r#", "headers": [{{"name": "x-tenant", "value": "t{i}"}}]"#)
            } else {
                String::new()
            };
            format!(
                r#"{{"match": {{"prefix": "/svc{i}/"{headers}}}, "route": {{"cluster_name": "c"}}}}"#
            )
        })
        .collect();
    let text = format!(
        r#"{{"servers": [{{"routers": [{{"router_config_name": "r", "virtual_hosts": [
            {{"name": "all", "domains": ["*"], "routers": [{}]}}]}}]}}],
           "cluster_manager": {{"clusters": [{{"name": "c", "type": "SIMPLE",
            "hosts": [{{"address": "127.0.0.1:8080"}}]}}]}}}}"#,
        routes.join(",")
    );
    let parsed = mosn_config::parse_str(&text).expect("bench config");
    RouteTable::from_config(&parsed.config.servers[0].routers[0]).expect("route table")
}

fn route_match(c: &mut Criterion) {
    let table = table();
    let plain = HeaderMap::new();
    let mut tenant = HeaderMap::new();
    tenant.insert("x-tenant", "t999".parse().unwrap());
    let mut g = c.benchmark_group("route_match_1000");
    g.bench_function("first", |b| {
        b.iter(|| table.route(black_box("a.example"), black_box("/svc0/x"), &plain))
    });
    g.bench_function("last", |b| {
        b.iter(|| table.route(black_box("a.example"), black_box("/svc998/x"), &plain))
    });
    g.bench_function("last_with_header", |b| {
        b.iter(|| table.route(black_box("a.example"), black_box("/svc999/x"), &tenant))
    });
    g.bench_function("miss", |b| {
        b.iter(|| table.route(black_box("a.example"), black_box("/nothing"), &plain))
    });
    g.finish();
}

criterion_group!(benches, route_match);
criterion_main!(benches);
