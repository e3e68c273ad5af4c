//! The real Istio sidecar configuration through ADS: mosn, started from an Envoy
//! bootstrap with Istio's `sds-grpc` agent socket, follows `ads_server.py --resources
//! istio` (Istio's own listeners, Bookinfo routes, clusters and endpoints, NOT sanitized:
//! the Istio-only filters stay in), over SotW and over Delta.
//!
//! What is checked, for both:
//! - every pushed type is answered, by an ACK or a NACK;
//! - each NACK line (`<kind> "<name>": <field path>: <reason>`) is one of [`REFUSED`], the
//!   explicit list of what mosn refuses in this set and why, and every entry of that list
//!   is refused; each entry names the row and the item of README.md's policy table that
//!   lists it as refused, and the table is read to check that it does. A new refusal, or
//!   a fix, fails the test until the list (and the table) are looked at;
//! - what is accepted without effect is counted (`xds_ignored.*` in `/stats`) and is
//!   exactly [`NO_OPS`], each listed by the policy table as a counted no-op;
//! - everything not refused is live in Envoy's admin `/config_dump` (active, none
//!   warming): clusters, listeners, endpoints, the SDS secrets, and — once listeners of
//!   the test's own name them, since every Istio listener that uses RDS is refused —
//!   all 13 route configurations;
//! - a request goes through one of Istio's converted outbound listeners (`10.96.0.1_443`,
//!   a tcp_proxy to `outbound|443||kubernetes.default.svc.cluster.local`, Istio's EDS
//!   cluster with its mTLS socket matches and telemetry filters) to a local backend. In
//!   Istio that listener does not bind (`bind_to_port: false`): only `virtualOutbound`
//!   (`use_original_dst`, refused) hands it connections that iptables redirected. So the
//!   test pushes a copy of it that binds 127.0.0.1, and points the cluster's endpoints at
//!   the backend; the rest of the two resources is Istio's. No Istio listener can be
//!   reached as served: the converted ones do not bind, the three that bind
//!   (`virtualOutbound`, `virtualInbound`, `connect_terminate`) are refused;
//! - an HTTP request goes through Istio's Bookinfo route configuration `http.8080` (from
//!   a listener of the test's own on 127.0.0.1) to `outbound|9080||productpage…`, whose
//!   endpoints the test points at a local nginx; a path the table does not route is 404.

mod support;

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::*;

/// The served set binds fixed ports (15001, 15006, 15008) on 127.0.0.1 should its binding
/// listeners ever convert: the two modes run one after the other.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// One resource mosn refuses, and why.
struct Refusal {
    /// The NACK line's kind (`cluster`, `listener`, `route configuration`, ...).
    kind: &'static str,
    /// The resource's name.
    name: &'static str,
    /// The field path the NACK names.
    path: &'static str,
    /// A part of the NACK's reason.
    reason: &'static str,
    /// The README policy table's row that lists it as refused.
    row: &'static str,
    /// The item of that row's "refused" column.
    policy: &'static str,
}

const fn refusal(
    kind: &'static str,
    name: &'static str,
    path: &'static str,
    reason: &'static str,
    row: &'static str,
    policy: &'static str,
) -> Refusal {
    Refusal {
        kind,
        name,
        path,
        reason,
        row,
        policy,
    }
}

/// Plaintext protocol detection on Istio's outbound HTTP listeners (and the one the
/// server adds for route `http.8080`). Behind it, those listeners would be refused for
/// `normalize_path` and `istio.alpn` too (`listener_conversion.rs`).
const fn http_inspector(name: &'static str) -> Refusal {
    refusal(
        "listener",
        name,
        "listener_filters[1].typed_config",
        "envoy.extensions.filters.listener.http_inspector.v3.HttpInspector is not supported",
        "Listener",
        "`http_inspector`",
    )
}

/// Everything mosn refuses in the Istio set.
const REFUSED: &[Refusal] = &[
    refusal(
        "cluster",
        "InboundPassthroughClusterIpv4",
        "upstream_bind_config",
        "not supported",
        "Cluster",
        "`upstream_bind_config`",
    ),
    refusal(
        "cluster",
        "inbound|9080||",
        "upstream_bind_config",
        "not supported",
        "Cluster",
        "`upstream_bind_config`",
    ),
    refusal(
        "cluster",
        "main_internal",
        "transport_socket.typed_config",
        "envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport",
        "Cluster",
        "internal upstream transport",
    ),
    refusal(
        "cluster",
        "connect_originate",
        "original_dst_lb_config.upstream_port_override",
        "not supported",
        "Cluster",
        "`upstream_port_override`",
    ),
    http_inspector("0.0.0.0_9080"),
    http_inspector("0.0.0.0_80"),
    http_inspector("10.109.111.153_15008"),
    http_inspector("10.111.137.16_15008"),
    http_inspector("10.96.0.10_9153"),
    http_inspector("10.100.228.83_15008"),
    http_inspector("0.0.0.0_15014"),
    http_inspector("0.0.0.0_8000"),
    http_inspector("0.0.0.0_15010"),
    http_inspector("10.100.4.52_443"),
    http_inspector("0.0.0.0_5000"),
    http_inspector("10.102.11.148_15008"),
    http_inspector("0.0.0.0_8080"),
    refusal(
        "listener",
        "virtualOutbound",
        "use_original_dst",
        "handing redirected connections off",
        "Listener",
        "`use_original_dst` handoff",
    ),
    refusal(
        "listener",
        "virtualInbound",
        "listener_filters[1].filter_disabled",
        "not supported",
        "Listener",
        "`filter_disabled`",
    ),
    refusal(
        "listener",
        "connect_terminate",
        "filter_chains[0].filters[0].typed_config",
        "io.istio.network.authn.Config is not supported",
        "Listener",
        "`istio_authn`",
    ),
    refusal(
        "listener",
        "main_internal",
        "listener_specifier",
        "not supported",
        "Listener",
        "internal listeners",
    ),
    refusal(
        "listener",
        "connect_originate",
        "listener_specifier",
        "not supported",
        "Listener",
        "internal listeners",
    ),
];

/// What mosn accepts without effect in the Istio set, counted (`xds_ignored.<feature>` in
/// `/stats`): (feature, README policy table row, the item of its "counted no-op" column,
/// true for those of route configurations, counted once they are asked for). Each only
/// changes what is observed (telemetry, stats names, tracing, metadata for telemetry).
const NO_OPS: &[(&str, &str, &str, bool)] = &[
    (
        "cluster.filters.istio.metadata_exchange",
        "Cluster",
        "Istio's metadata exchange",
        false,
    ),
    ("cluster.metadata.istio", "Cluster", "Istio metadata", false),
    (
        "endpoint.metadata.istio",
        "ClusterLoadAssignment",
        "Istio metadata",
        false,
    ),
    ("istio.stats", "Listener", "`istio.stats`", false),
    ("stat_prefix", "Listener", "`stat_prefix`", false),
    (
        "traffic_direction",
        "Listener",
        "`traffic_direction`",
        false,
    ),
    ("route.decorator", "RouteConfiguration", "decorators", true),
    (
        "route.metadata",
        "RouteConfiguration",
        "Istio metadata",
        true,
    ),
];

/// The xDS types and their nouns in NACK lines.
const TYPES: [(&str, &str); 4] = [
    ("Cluster", "cluster"),
    ("ClusterLoadAssignment", "cluster load assignment"),
    ("Listener", "listener"),
    ("RouteConfiguration", "route configuration"),
];

/// One line of a NACK's `error_detail`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Refused {
    kind: String,
    name: String,
    path: String,
    reason: String,
}

/// Parses `<kind> "<name>": <path>: <reason>` (a conversion's refusal) or `<kind>
/// "<name>" <path>: <reason>` (the configuration's).
fn parse_line(line: &str) -> Option<Refused> {
    let (kind, rest) = line.split_once(" \"")?;
    let (name, rest) = rest.split_once('"')?;
    let rest = rest.strip_prefix(':').unwrap_or(rest).trim_start();
    let (path, reason) = rest.split_once(": ").unwrap_or(("", rest));
    Some(Refused {
        kind: kind.to_owned(),
        name: name.to_owned(),
        path: path.to_owned(),
        reason: reason.to_owned(),
    })
}

/// A column of README.md's policy table (2: counted no-op, 3: refused), by row.
fn policy_table(column: usize) -> BTreeMap<String, String> {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let mut rows = BTreeMap::new();
    let mut in_table = false;
    for line in readme.lines() {
        if line.starts_with("| resource | converts | counted no-op | refused") {
            in_table = true;
            continue;
        }
        if in_table && !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if in_table && cells.len() == 6 && !cells[1].starts_with("---") {
            rows.insert(cells[1].to_owned(), cells[1 + column].to_owned());
        }
    }
    assert!(
        rows.contains_key("Listener") && rows.contains_key("Cluster"),
        "README.md's policy table not found: {rows:?}"
    );
    rows
}

/// The pieces of one run.
struct Mesh {
    control: ControlPlane,
    mosn: Mosn,
    _sds: SdsServer,
    dir: TempDir,
}

fn start(delta: bool) -> Mesh {
    let dir = TempDir::new("xds-istio");
    let sds = SdsServer::start(&dir);
    let control = ControlPlane::start(&["--resources".into(), "istio".into()], &dir);
    let admin = local(free_port());
    let bootstrap = ads_bootstrap_with_sds(control.port, admin.port(), delta, &sds.socket);
    let mosn = mosn_from_bootstrap(&bootstrap, admin);
    Mesh {
        control,
        mosn,
        _sds: sds,
        dir,
    }
}

impl Mesh {
    /// The names the server holds, by type (`Cluster`, `Listener`, ...).
    fn served(&self) -> BTreeMap<String, BTreeSet<String>> {
        let state = self.control.post("state", &json!({}));
        state["types"]
            .as_object()
            .expect("state has types")
            .iter()
            .map(|(ty, v)| {
                let names = v["resources"]
                    .as_object()
                    .map(|r| r.keys().cloned().collect())
                    .unwrap_or_default();
                (ty.clone(), names)
            })
            .collect()
    }

    /// Every NACK line logged so far, parsed; fails on a line that does not parse.
    fn nacked(&self) -> BTreeSet<Refused> {
        let mut found = BTreeSet::new();
        for r in self.control.requests() {
            if r["kind"] != "NACK" {
                continue;
            }
            let detail = r["error_detail"]["message"].as_str().unwrap_or_default();
            for line in detail.lines() {
                let parsed = parse_line(line)
                    .unwrap_or_else(|| panic!("a NACK line that names no resource: {line:?}"));
                found.insert(parsed);
            }
        }
        found
    }

    /// Waits until the request log has an ACK or a NACK of `ty` that answers a push
    /// holding every name in `names`.
    fn wait_answered(&self, ty: &str, names: &BTreeSet<String>) {
        self.control.wait_request(
            Duration::from_secs(20),
            &format!("an ACK or NACK of every {ty}"),
            |r| {
                r["type"] == ty
                    && (r["kind"] == "ACK" || r["kind"] == "NACK")
                    && r["acked"].as_array().is_some_and(|a| {
                        names
                            .iter()
                            .all(|n| a.iter().any(|x| x.as_str() == Some(n.as_str())))
                    })
            },
        );
    }

    /// `/config_dump?include_eds`, parsed; fails unless it is a dump.
    fn config_dump(&self) -> Value {
        let resp = self.mosn.admin_get("/config_dump?include_eds");
        assert_eq!(resp.status, 200, "{}", resp.text());
        let dump: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
        assert!(
            dump["configs"].is_array(),
            "/config_dump is not a config dump: {}\nmosn log:\n{}",
            resp.text(),
            self.mosn.log()
        );
        dump
    }
}

/// The names under `list` of the dump's config of `type_suffix`, taking each entry's
/// name at `name` (a `/`-separated path).
fn dumped(dump: &Value, type_suffix: &str, list: &str, name: &str) -> BTreeSet<String> {
    let config = dump["configs"].as_array().into_iter().flatten().find(|c| {
        c["@type"]
            .as_str()
            .is_some_and(|t| t.ends_with(type_suffix))
    });
    let Some(config) = config else {
        return BTreeSet::new();
    };
    config[list]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| name.split('/').fold(e, |v, k| &v[k]).as_str())
        .map(str::to_owned)
        .collect()
}

/// What is live in `/config_dump`, by xDS type; dynamic resources only.
fn live(dump: &Value) -> BTreeMap<&'static str, BTreeSet<String>> {
    let listeners: BTreeSet<String> = dump["configs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            c["@type"]
                .as_str()
                .is_some_and(|t| t.ends_with("ListenersConfigDump"))
        })
        .flat_map(|c| {
            c["dynamic_listeners"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|l| l["active_state"].is_object() && l["warming_state"].is_null())
        .filter_map(|l| l["name"].as_str().map(str::to_owned))
        .collect();
    BTreeMap::from([
        (
            "Cluster",
            dumped(
                dump,
                "ClustersConfigDump",
                "dynamic_active_clusters",
                "cluster/name",
            ),
        ),
        ("Listener", listeners),
        (
            "RouteConfiguration",
            dumped(
                dump,
                "RoutesConfigDump",
                "dynamic_route_configs",
                "route_config/name",
            ),
        ),
        (
            "ClusterLoadAssignment",
            dumped(
                dump,
                "EndpointsConfigDump",
                "dynamic_endpoint_configs",
                "endpoint_config/cluster_name",
            ),
        ),
        (
            "Secret",
            dumped(dump, "SecretsConfigDump", "dynamic_active_secrets", "name"),
        ),
    ])
}

/// Nothing warming: no warming clusters or listeners in the dump.
fn warming(dump: &Value) -> Vec<String> {
    let mut found: Vec<String> = dumped(
        dump,
        "ClustersConfigDump",
        "dynamic_warming_clusters",
        "cluster/name",
    )
    .into_iter()
    .collect();
    for c in dump["configs"].as_array().into_iter().flatten() {
        for l in c["dynamic_listeners"].as_array().into_iter().flatten() {
            if l["warming_state"].is_object() {
                found.push(format!("listener {}", l["name"]));
            }
        }
    }
    found
}

/// Polls `/config_dump` until `want` (by type) is exactly what is live and nothing warms.
fn wait_live(m: &Mesh, want: &BTreeMap<&'static str, BTreeSet<String>>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let dump = m.config_dump();
        let now = live(&dump);
        let warm = warming(&dump);
        let differs: Vec<String> = want
            .iter()
            .filter(|(ty, names)| now.get(*ty) != Some(*names))
            .map(|(ty, names)| {
                let have = now.get(ty).cloned().unwrap_or_default();
                format!(
                    "{ty}: missing {:?}, unexpected {:?}",
                    names.difference(&have).collect::<Vec<_>>(),
                    have.difference(names).collect::<Vec<_>>()
                )
            })
            .collect();
        if differs.is_empty() && warm.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/config_dump does not show what was accepted: {differs:?}; warming: {warm:?}\n\
             mosn log:\n{}",
            m.mosn.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Asserts that the NACKs refuse exactly [`REFUSED`], each for its reason,
/// and that README.md's policy table lists each as refused.
fn assert_refusals(m: &Mesh) {
    let table = policy_table(3);
    let nacked = m.nacked();
    let mut unexpected = Vec::new();
    for line in &nacked {
        let known = REFUSED.iter().find(|r| {
            r.kind == line.kind
                && r.name == line.name
                && r.path == line.path
                && line.reason.contains(r.reason)
        });
        if known.is_none() {
            unexpected.push(format!("{line:?}"));
        }
    }
    let missing: Vec<&str> = REFUSED
        .iter()
        .filter(|r| !nacked.iter().any(|l| l.kind == r.kind && l.name == r.name))
        .map(|r| r.name)
        .collect();
    assert!(
        unexpected.is_empty() && missing.is_empty(),
        "refusals changed: look at them, then update REFUSED and README.md's policy table.\n\
         refused but not expected: {unexpected:#?}\nexpected but not refused: {missing:?}\n\
         mosn log:\n{}",
        m.mosn.log()
    );
    for r in REFUSED {
        let refused_column = table
            .get(r.row)
            .unwrap_or_else(|| panic!("README.md's policy table has no row {:?}", r.row));
        assert!(
            refused_column.contains(r.policy),
            "README.md's policy table does not list {:?} as refused for {} (refused {} {:?} \
             at {}); its {} row refuses: {refused_column}",
            r.policy,
            r.row,
            r.kind,
            r.name,
            r.path,
            r.row
        );
    }
}

/// Asserts that what `/stats` counts as accepted without effect is exactly [`NO_OPS`]
/// (those of route configurations only once `routes` are in), and that README.md's
/// policy table lists each as a counted no-op.
fn assert_no_ops(m: &Mesh, routes: bool) {
    let resp = m.mosn.admin_get("/stats");
    assert_eq!(resp.status, 200, "{}", resp.text());
    let counted: BTreeMap<String, u64> = resp
        .text()
        .lines()
        .filter_map(|l| l.strip_prefix("xds_ignored."))
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.trim().parse().unwrap_or(0)))
        .collect();
    let expected: BTreeSet<&str> = NO_OPS
        .iter()
        .filter(|(_, _, _, of_routes)| routes || !of_routes)
        .map(|(f, _, _, _)| *f)
        .collect();
    let seen: BTreeSet<&str> = counted
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(f, _)| f.as_str())
        .collect();
    assert_eq!(
        seen, expected,
        "the counted no-ops changed: look at them, then update NO_OPS and README.md's \
         policy table ({counted:?})"
    );
    let table = policy_table(2);
    for (feature, row, policy, _) in NO_OPS {
        let column = table
            .get(*row)
            .unwrap_or_else(|| panic!("README.md's policy table has no row {row:?}"));
        assert!(
            column.contains(policy),
            "README.md's policy table does not list {policy:?} ({feature}) as a counted \
             no-op for {row}; it has: {column}"
        );
    }
}

/// The names of the resources of kind `noun` (as NACK lines name it) in [`REFUSED`].
fn refused_names(noun: &str) -> BTreeSet<String> {
    REFUSED
        .iter()
        .filter(|r| r.kind == noun)
        .map(|r| r.name.to_owned())
        .collect()
}

/// A listener of the test's own that names Istio's route configuration `route` over
/// RDS; it binds `127.0.0.1:port` when `bind`.
fn rds_listener(route: &str, port: u16, bind: bool) -> Value {
    json!({
        "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
        "name": format!("rds_probe_{route}"),
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "bind_to_port": bind,
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": "rds_probe",
            "rds": {"config_source": {"ads": {}, "resource_api_version": "V3"}, "route_config_name": route},
            "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
        }}]}],
    })
}

/// Istio's dumped listener `name` (dump 01), as served.
fn istio_listener(name: &str) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/istio/01-sidecar-listeners-configdump.json"
    );
    let dump = read_json(std::path::Path::new(path));
    let mut listener = dump["configs"][0]["dynamic_listeners"]
        .as_array()
        .expect("dynamic listeners")
        .iter()
        .map(|l| l["active_state"]["listener"].clone())
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no listener {name} in dump 01"));
    listener["@type"] = json!("type.googleapis.com/envoy.config.listener.v3.Listener");
    listener
}

fn istio_set(delta: bool) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let m = start(delta);
    let served = m.served();
    let names = |ty: &str| served.get(ty).cloned().unwrap_or_default();
    assert_eq!(
        [
            "Cluster",
            "ClusterLoadAssignment",
            "Listener",
            "RouteConfiguration"
        ]
        .map(|t| names(t).len()),
        [35, 29, 28, 13],
        "the served Istio set changed: {served:?}"
    );

    // Every pushed type is answered; the SDS secrets too (on their own stream).
    for ty in ["Cluster", "ClusterLoadAssignment", "Listener"] {
        m.wait_answered(ty, &names(ty));
    }
    assert_eq!(
        m.control.requests()[0]["mode"],
        if delta { "delta" } else { "sotw" }
    );

    // Each refusal is expected and listed as refused by the policy table.
    assert_refusals(&m);

    // Every Istio listener that names a route configuration is refused, so none is asked
    // for yet.
    let rds_asked: BTreeSet<String> = m
        .control
        .requests()
        .iter()
        .filter(|r| r["type"] == "RouteConfiguration")
        .flat_map(|r| {
            let names = if delta { &r["subscribe"] } else { &r["names"] };
            names.as_array().cloned().unwrap_or_default()
        })
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        rds_asked,
        BTreeSet::new(),
        "an Istio listener with RDS converted: expect its routes below"
    );

    // The rest is live.
    let nouns: BTreeMap<&str, &str> = TYPES.into_iter().collect();
    let mut want: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    for ty in ["Cluster", "ClusterLoadAssignment", "Listener"] {
        let refused = refused_names(nouns[ty]);
        want.insert(ty, names(ty).difference(&refused).cloned().collect());
    }
    want.insert("RouteConfiguration", BTreeSet::new());
    want.insert(
        "Secret",
        ["ROOTCA", "default"]
            .map(str::to_owned)
            .into_iter()
            .collect(),
    );
    wait_live(&m, &want);
    assert_no_ops(&m, false);

    // Listeners of the test's own name Istio's 13 route configurations: each is answered
    // and live (or refused by the list).
    let routes = names("RouteConfiguration");
    let probes: Vec<Value> = routes
        .iter()
        .enumerate()
        .map(|(i, r)| rds_listener(r, 20000 + i as u16, false))
        .collect();
    m.control.post("upsert", &json!(probes));
    m.wait_answered("RouteConfiguration", &routes);
    assert_refusals(&m);
    let refused_routes = refused_names(nouns["RouteConfiguration"]);
    want.insert(
        "RouteConfiguration",
        routes.difference(&refused_routes).cloned().collect(),
    );
    want.get_mut("Listener")
        .expect("listeners")
        .extend(routes.iter().map(|r| format!("rds_probe_{r}")));
    wait_live(&m, &want);

    // A request through Istio's outbound TCP listener 10.96.0.1_443, bound on 127.0.0.1,
    // to a backend behind Istio's cluster outbound|443||kubernetes.default.svc.cluster.local.
    let backend_port = free_port();
    let _backend = grpc_backend(backend_port, "K8S", &m.dir);
    let listen = free_port();
    let mut listener = istio_listener("10.96.0.1_443");
    listener["name"] = json!("loopback_10.96.0.1_443");
    listener["address"] = json!({"socket_address": {"address": "127.0.0.1", "port_value": listen}});
    listener
        .as_object_mut()
        .expect("listener")
        .remove("bind_to_port");
    let cluster = "outbound|443||kubernetes.default.svc.cluster.local";
    let cla = json!({
        "@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
        "cluster_name": cluster,
        "endpoints": [{"locality": {}, "lb_endpoints": [{
            "endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": backend_port}}},
            "metadata": {"filter_metadata": {"istio": {"workload": ";;;;Kubernetes"}}},
            "load_balancing_weight": 1}]}],
    });
    m.control.post("upsert", &json!([cla, listener]));
    let (ok, out) = grpc_call(local(listen), "K8S:", 15);
    assert!(
        ok,
        "gRPC through Istio's outbound listener 10.96.0.1_443: {out}\nmosn log:\n{}",
        m.mosn.log()
    );

    // HTTP through Istio's Bookinfo route configuration http.8080 (its one virtual host
    // routes /productpage, /static, /login, /logout and /api/v1/products to
    // outbound|9080||productpage.default.svc.cluster.local, with Istio's retry policy):
    // the probe listener naming it now binds 127.0.0.1, and the cluster's endpoints are a
    // local nginx.
    let nginx = Nginx::echo(free_port());
    let http = free_port();
    let productpage = "outbound|9080||productpage.default.svc.cluster.local";
    let cla = json!({
        "@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
        "cluster_name": productpage,
        "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address":
            {"address": "127.0.0.1", "port_value": nginx.ports[0]}}}}]}],
    });
    m.control.post(
        "upsert",
        &json!([cla, rds_listener("http.8080", http, true)]),
    );
    assert!(
        wait_for_port(local(http), Duration::from_secs(10)),
        "the listener naming http.8080 does not bind; mosn log:\n{}",
        m.mosn.log()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let resp = http_get(local(http), "/productpage", "bookinfo.example");
        if resp.status == 200 {
            assert_eq!(resp.text(), "uri=/productpage\n");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "GET /productpage through Istio's route http.8080: {} {}\nmosn log:\n{}",
            resp.status,
            resp.text(),
            m.mosn.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let unrouted = http_get(local(http), "/echo", "bookinfo.example");
    assert_eq!(
        unrouted.status,
        404,
        "Istio's table has no route for /echo: {}",
        unrouted.text()
    );

    // The re-sends these pushes caused (Delta re-sends a NACKed type's resources) refuse
    // nothing new, and the route tables and the test's listeners add no no-op.
    assert_refusals(&m);
    assert_no_ops(&m, true);
}

#[test]
fn sotw_istio_set_is_acked_or_refused_by_the_policy_table_and_the_rest_is_live() {
    istio_set(false);
}

#[test]
fn delta_istio_set_is_acked_or_refused_by_the_policy_table_and_the_rest_is_live() {
    istio_set(true);
}

#[test]
fn nack_lines_parse_in_both_forms() {
    assert_eq!(
        parse_line(r#"cluster "a|b||": x.y[0].z: not supported by mosn: z"#),
        Some(Refused {
            kind: "cluster".into(),
            name: "a|b||".into(),
            path: "x.y[0].z".into(),
            reason: "not supported by mosn: z".into(),
        })
    );
    assert_eq!(
        parse_line(r#"listener "l" filter_chains[0].filters: unknown cluster 'c'"#),
        Some(Refused {
            kind: "listener".into(),
            name: "l".into(),
            path: "filter_chains[0].filters".into(),
            reason: "unknown cluster 'c'".into(),
        })
    );
    assert_eq!(parse_line("no resource here"), None);
}
