//! Slow start end to end: MOSN's slow-start sample (LB_WEIGHTED_ROUNDROBIN, weights 1, 2,
//! 3, a 30 s window, an Http1 health check), run unchanged except for its ports, starts and
//! spreads requests over all three upstreams while their windows run.

mod support;

use std::collections::HashMap;

use support::*;

#[test]
fn slow_start_sample_starts_and_proxies_to_every_host() {
    let (listener, admin) = (free_port(), free_port());
    let upstreams = [free_port(), free_port(), free_port()];
    let mut cfg = read_json(&samples_dir().join("slow-start-sample__config.json"));
    rewrite_ports(
        &mut cfg,
        &HashMap::from([
            (2046, listener),
            (8080, upstreams[0]),
            (8081, upstreams[1]),
            (8082, upstreams[2]),
            (34902, admin),
        ]),
    );
    let servers: Vec<(u16, String)> = upstreams
        .iter()
        .map(|&p| {
            (
                p,
                "        location / { return 200 \"port=$server_port\\n\"; }".to_owned(),
            )
        })
        .collect();
    let _nginx = Nginx::start(&servers);
    let mosn = Mosn::start(&cfg);

    let mut seen: HashMap<u16, u32> = HashMap::new();
    for _ in 0..60 {
        let got = curl(&[&format!("http://127.0.0.1:{listener}/")]);
        assert_eq!(
            got.status,
            200,
            "stderr: {}\nmosn log:\n{}",
            got.stderr,
            mosn.log()
        );
        let port: u16 = got
            .text()
            .trim()
            .strip_prefix("port=")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected body {:?}", got.text()));
        *seen.entry(port).or_default() += 1;
    }
    for p in upstreams {
        assert!(seen.contains_key(&p), "no request reached {p}: {seen:?}");
    }
}
