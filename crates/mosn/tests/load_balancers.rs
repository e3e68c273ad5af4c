//! Balancers end to end against real nginx upstreams that name themselves: maglev with a
//! header hash policy keeps a key on one host; weighted round robin honours weights;
//! subsets send each route's requests to the hosts with its labels, with MOSN's
//! fallbacks.

mod support;

use std::collections::HashMap;

use serde_json::json;
use support::*;

fn named_upstreams(ports: &[u16]) -> Nginx {
    let servers: Vec<(u16, String)> = ports
        .iter()
        .map(|p| (*p, format!("location / {{ return 200 \"{p}\\n\"; }}")))
        .collect();
    Nginx::start(&servers)
}

#[test]
fn maglev_with_a_header_hash_policy_pins_each_key_to_one_host() {
    let ports = [free_port(), free_port(), free_port()];
    let _nginx = named_upstreams(&ports);
    let (listen, admin) = (free_port(), free_port());
    let hosts: Vec<_> = ports.iter().map(|p| local(*p)).collect();
    let mut c = cluster("c", &hosts);
    c["lb_type"] = json!("LB_MAGLEV");
    let vhosts = json!([{
        "name": "all", "domains": ["*"],
        "routers": [{ "match": { "prefix": "/" },
                      "route": { "cluster_name": "c", "hash_policy": [{ "header": { "key": "x-user" } }] } }]
    }]);
    let cfg = http_config(
        local(listen),
        Some(admin),
        vhosts,
        json!([c]),
        json!({}),
        json!({}),
    );
    let _mosn = Mosn::start(&cfg);

    let mut seen_hosts = std::collections::HashSet::new();
    for user in 0..12 {
        let header = format!("x-user: user-{user}");
        let first = curl(&["-H", &header, &format!("http://127.0.0.1:{listen}/")]);
        assert_eq!(first.status, 200);
        for _ in 0..4 {
            let again = curl(&["-H", &header, &format!("http://127.0.0.1:{listen}/")]);
            assert_eq!(
                again.text(),
                first.text(),
                "user-{user} moved between hosts"
            );
        }
        seen_hosts.insert(first.text());
    }
    assert!(
        seen_hosts.len() >= 2,
        "12 keys all hashed to one host: {seen_hosts:?}"
    );
}

#[test]
fn weighted_round_robin_sends_traffic_by_weight() {
    let ports = [free_port(), free_port()];
    let _nginx = named_upstreams(&ports);
    let (listen, admin) = (free_port(), free_port());
    let c = json!({
        "name": "c", "type": "SIMPLE", "lb_type": "LB_WEIGHTED_ROUNDROBIN",
        "hosts": [
            { "address": local(ports[0]).to_string(), "weight": 1 },
            { "address": local(ports[1]).to_string(), "weight": 3 }
        ]
    });
    // One worker: the exact weighted cycle is per cluster, shared by workers, so with one
    // client in sequence every window of 4 requests holds 1 + 3.
    let cfg = http_config(
        local(listen),
        Some(admin),
        forward_all("c"),
        json!([c]),
        json!({}),
        json!({ "processor": 1 }),
    );
    let _mosn = Mosn::start(&cfg);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..40 {
        let r = curl(&[&format!("http://127.0.0.1:{listen}/")]);
        assert_eq!(r.status, 200);
        *counts.entry(r.text().trim().to_owned()).or_default() += 1;
    }
    assert_eq!(counts.get(&ports[0].to_string()), Some(&10), "{counts:?}");
    assert_eq!(counts.get(&ports[1].to_string()), Some(&30), "{counts:?}");
}

/// Three labelled hosts (v1 in zone a, v1 in zone b, v2 in zone a) and routes by the
/// `x-want` header to `metadata_match` labels; returns the ports each route reached.
fn subset_run(fallback: serde_json::Value) -> (Mosn, [u16; 3], HashMap<&'static str, Vec<u16>>) {
    let ports = [free_port(), free_port(), free_port()];
    let _nginx = named_upstreams(&ports);
    let listen = free_port();
    let labels = [("v1", "a"), ("v1", "b"), ("v2", "a")];
    let hosts: Vec<_> = ports
        .iter()
        .zip(labels)
        .map(|(p, (version, zone))| json!({
            "address": local(*p).to_string(),
            "metadata": { "filter_metadata": { "mosn.lb": { "version": version, "zone": zone } } }
        }))
        .collect();
    let mut c = cluster("c", &[]);
    c["hosts"] = json!(hosts);
    c["lb_subset_config"] = json!({
        "subset_selectors": [["version"], ["version", "zone"]],
        "fall_back_policy": fallback,
        "default_subset": { "zone": "b" }
    });
    let route = |want: &str, labels: serde_json::Value| {
        json!({
            "match": { "prefix": "/", "headers": [{ "name": "x-want", "value": want }] },
            "route": { "cluster_name": "c", "metadata_match": { "filter_metadata": { "mosn.lb": labels } } }
        })
    };
    let vhosts = json!([{
        "name": "all", "domains": ["*"],
        "routers": [
            route("v1", json!({ "version": "v1" })),
            route("v2-a", json!({ "version": "v2", "zone": "a" })),
            route("v9", json!({ "version": "v9" })),
            { "match": { "prefix": "/" }, "route": { "cluster_name": "c" } }
        ]
    }]);
    let cfg = http_config(
        local(listen),
        Some(free_port()),
        vhosts,
        json!([c]),
        json!({}),
        json!({}),
    );
    let mosn = Mosn::start(&cfg);
    let mut reached: HashMap<&'static str, Vec<u16>> = HashMap::new();
    for want in ["v1", "v2-a", "v9", "none"] {
        let mut seen = Vec::new();
        for _ in 0..12 {
            let r = curl(&[
                "-H",
                &format!("x-want: {want}"),
                &format!("http://127.0.0.1:{listen}/"),
            ]);
            if r.status == 200 {
                seen.push(r.text().trim().parse::<u16>().expect("port"));
            } else {
                assert_eq!(r.status, 503, "{want}: {}", r.text());
            }
        }
        seen.sort();
        seen.dedup();
        reached.insert(want, seen);
    }
    (mosn, ports, reached)
}

#[test]
fn subsets_route_requests_by_labels_and_fall_back_as_configured() {
    let (mosn, [a, b, c], reached) = subset_run(json!(0));
    let mut v1 = vec![a, b];
    v1.sort();
    assert_eq!(reached["v1"], v1);
    assert_eq!(reached["v2-a"], vec![c]);
    assert!(
        reached["v9"].is_empty(),
        "NO_FALLBACK: 503 for an unknown subset"
    );
    assert_eq!(reached["none"].len(), 3, "no labels: every host");
    assert_eq!(mosn.stat("cluster", "c", "lb_subsets_no_host"), 12);

    let (_mosn, [_, b, _], reached) = subset_run(json!("DEFAULT_SUBSET"));
    assert_eq!(reached["v9"], vec![b], "the default subset (zone b)");

    let (mosn, _, reached) = subset_run(json!(1));
    assert_eq!(reached["v9"].len(), 3, "ANY_ENDPOINT: any host");
    assert_eq!(mosn.stat("cluster", "c", "lb_subsets_fallback"), 12);
}
