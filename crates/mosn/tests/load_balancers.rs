//! Balancers end to end against real nginx upstreams that name themselves: maglev with a
//! header hash policy keeps a key on one host; weighted round robin honours weights.

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
