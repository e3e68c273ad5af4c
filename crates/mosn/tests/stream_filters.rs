//! Stream filters end to end: MOSN's filter__ipaccess sample, run unchanged except for its
//! ports (and its 0.0.0.0 addresses moved to loopback), denies 127.0.0.1 with 403 before
//! any upstream is contacted; a rule allowing the client lets the request through.

mod support;

use std::collections::HashMap;

use serde_json::json;
use support::*;

#[test]
fn ip_access_sample_denies_the_listed_client_with_403() {
    let (listener, upstream, admin) = (free_port(), free_port(), free_port());
    let mut cfg = read_json(&samples_dir().join("filter__ipaccess__config.json"));
    rewrite_ports(
        &mut cfg,
        &HashMap::from([(2046, listener), (8080, upstream), (34902, admin)]),
    );
    let _nginx = Nginx::echo(upstream);
    let mosn = Mosn::start(&cfg);

    let denied = curl(&[&format!("http://127.0.0.1:{listener}/small")]);
    assert_eq!(denied.status, 403, "stderr: {}", denied.stderr);
    assert_eq!(denied.text(), "access denied by ip_access\n");
    mosn.wait_stat(
        "listener",
        "serverListener",
        "downstream_rq_4xx",
        IO_TIMEOUT,
        |n| n == 1,
    );
    assert_eq!(
        mosn.stat("cluster", "serverCluster", "upstream_rq_total"),
        0
    );

    // The same config with an allow rule for the client ahead of the deny rule.
    let mut allow_cfg = cfg.clone();
    let (listener2, admin2) = (free_port(), free_port());
    rewrite_ports(
        &mut allow_cfg,
        &HashMap::from([(listener, listener2), (admin, admin2)]),
    );
    allow_cfg["servers"][0]["listeners"][0]["stream_filters"][0]["config"]["ips"]
        .as_array_mut()
        .expect("ips is an array")
        .insert(0, json!({"action": "allow", "addrs": ["127.0.0.0/8"]}));
    let _mosn2 = Mosn::start(&allow_cfg);
    let allowed = curl(&[&format!("http://127.0.0.1:{listener2}/small")]);
    assert_eq!(allowed.status, 200, "stderr: {}", allowed.stderr);
    assert_eq!(allowed.text(), SMALL_BODY);
}
