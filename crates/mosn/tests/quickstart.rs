//! The bundled example, `examples/quickstart.json`, started as shipped except for its
//! ports (2045, 2046, 34901 are moved to free ones: tests run in parallel).

mod support;

use std::collections::HashMap;

use support::*;

#[test]
fn quickstart_example_answers_through_the_proxy() {
    let mut config = read_json(&workspace_root().join("examples/quickstart.json"));
    let (edge, backend, admin) = (free_port(), free_port(), free_port());
    let map = HashMap::from([(2045, edge), (2046, backend), (34901, admin)]);
    rewrite_ports(&mut config, &map);
    let mosn = Mosn::start(&config);

    let resp = curl(&[&format!("http://127.0.0.1:{edge}/")]);
    assert_eq!(resp.exit, 0, "curl failed: {}", resp.stderr);
    assert_eq!(resp.status, 200, "body: {}", resp.text());
    assert!(
        resp.text().contains("Hello from mosn-rs"),
        "unexpected body: {:?}",
        resp.text()
    );

    // The request really crossed the proxy: the edge cluster forwarded one request to
    // the backend listener, which answered it.
    mosn.expect_stat("cluster", "backend", "upstream_rq_2xx", 1);
    mosn.expect_stat("listener", "edge", "downstream_rq_2xx", 1);
    mosn.expect_stat("listener", "backend", "downstream_rq_2xx", 1);
}
