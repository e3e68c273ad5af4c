//! The state's warming, skipping and removal rules over real conversions of Envoy JSON.

use super::state::{Incoming, XdsState};
use super::types::XdsType;
use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::google::protobuf::Any;
use mosn_config::resources::{Resource, ResourceKind};
use prost::{Message, Name};
use serde_json::json;
use std::time::{Duration, Instant};

fn any<T: Message + Name + Default>(value: serde_json::Value) -> Incoming {
    let message: T = crate::proto::from_json(&value, false).expect("valid test resource");
    Incoming {
        name: None,
        version: "v1".into(),
        body: Any {
            type_url: T::type_url(),
            value: message.encode_to_vec(),
        },
    }
}

fn eds_cluster(name: &str) -> Incoming {
    any::<Cluster>(json!({
        "name": name, "type": "EDS", "connect_timeout": "1s",
        "eds_cluster_config": {"eds_config": {"ads": {}}},
    }))
}

fn cla(name: &str, port: u32) -> Incoming {
    any::<ClusterLoadAssignment>(json!({
        "cluster_name": name,
        "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}],
    }))
}

fn rds_listener(name: &str, port: u32, route: &str) -> Incoming {
    any::<Listener>(json!({
        "name": name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": "in",
            "rds": {"config_source": {"ads": {}}, "route_config_name": route},
            "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
        }}]}],
    }))
}

fn route(name: &str, cluster: &str) -> Incoming {
    any::<RouteConfiguration>(json!({
        "name": name,
        "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": cluster}}]}],
    }))
}

fn upserted(batch: &mosn_config::resources::Batch) -> Vec<(ResourceKind, String)> {
    batch
        .upserts
        .iter()
        .map(|r| (r.kind(), r.name().to_owned()))
        .collect()
}

#[test]
fn eds_cluster_warms_until_its_endpoints_arrive() {
    let mut state = XdsState::new(None);
    let now = Instant::now();
    let out = state.update(XdsType::Cluster, vec![eds_cluster("c")], &[], true, now);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert!(out.batch.upserts.is_empty(), "warming: nothing applied yet");
    assert!(state.clusters_warming());
    assert_eq!(
        state.subscriptions(XdsType::Endpoint),
        ["c".to_owned()].into()
    );
    let out = state.update(XdsType::Endpoint, vec![cla("c", 8080)], &[], false, now);
    let [Resource::Cluster(c)] = out.batch.upserts.as_slice() else {
        panic!("the cluster goes live with its hosts: {:?}", out.batch);
    };
    assert_eq!(c.hosts.len(), 1);
    assert!(!state.clusters_warming());
}

#[test]
fn identical_resend_is_skipped_and_a_missing_wildcard_resource_is_removed() {
    let mut state = XdsState::new(None);
    let now = Instant::now();
    state.update(
        XdsType::Endpoint,
        vec![cla("a", 1), cla("b", 2)],
        &[],
        false,
        now,
    );
    let first = state.update(
        XdsType::Cluster,
        vec![eds_cluster("a"), eds_cluster("b")],
        &[],
        true,
        now,
    );
    assert_eq!(
        first.batch.upserts.len(),
        0,
        "endpoints arrived before the subscription: pruned"
    );
    state.update(
        XdsType::Endpoint,
        vec![cla("a", 1), cla("b", 2)],
        &[],
        false,
        now,
    );
    let again = state.update(
        XdsType::Cluster,
        vec![eds_cluster("a"), eds_cluster("b")],
        &[],
        true,
        now,
    );
    assert!(
        again.batch.upserts.is_empty() && again.batch.removals.is_empty(),
        "{:?}",
        again.batch
    );
    let shrink = state.update(XdsType::Cluster, vec![eds_cluster("a")], &[], true, now);
    assert_eq!(
        shrink.batch.removals,
        vec![(ResourceKind::Cluster, "b".to_owned())]
    );
    assert_eq!(
        state.subscriptions(XdsType::Endpoint),
        ["a".to_owned()].into()
    );
}

#[test]
fn listener_warms_until_its_route_configuration_arrives_or_the_fetch_timeout() {
    let mut state = XdsState::new(Some(Duration::from_secs(15)));
    let now = Instant::now();
    let out = state.update(
        XdsType::Listener,
        vec![rds_listener("l", 10000, "r")],
        &[],
        true,
        now,
    );
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert!(out.batch.upserts.is_empty(), "waits for RDS");
    assert_eq!(state.subscriptions(XdsType::Route), ["r".to_owned()].into());
    assert!(
        state.expire_warming(now).upserts.is_empty(),
        "not before the timeout"
    );
    let out = state.update(XdsType::Route, vec![route("r", "c")], &[], false, now);
    assert_eq!(
        upserted(&out.batch),
        vec![
            (ResourceKind::Router, "r".into()),
            (ResourceKind::Listener, "l".into())
        ]
    );
    let mut late = XdsState::new(Some(Duration::from_secs(15)));
    late.update(
        XdsType::Listener,
        vec![rds_listener("l", 10000, "r")],
        &[],
        true,
        now,
    );
    let expired = late.expire_warming(now + Duration::from_secs(16));
    assert_eq!(
        upserted(&expired),
        vec![(ResourceKind::Listener, "l".into())]
    );
}

#[test]
fn a_bad_resource_is_refused_by_name_and_the_good_ones_apply() {
    let mut state = XdsState::new(None);
    let bad = any::<Cluster>(json!({"name": "bad", "type": "STATIC", "connect_timeout": "-1s"}));
    let good = any::<Cluster>(
        json!({"name": "good", "type": "STATIC", "connect_timeout": "1s",
        "load_assignment": {"cluster_name": "good", "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 1}}}}]}]}}),
    );
    let out = state.update(XdsType::Cluster, vec![bad, good], &[], true, Instant::now());
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    assert_eq!(out.errors[0].0, "bad");
    assert!(
        out.errors[0].1.contains("connect_timeout"),
        "{:?}",
        out.errors
    );
    assert_eq!(
        upserted(&out.batch),
        vec![(ResourceKind::Cluster, "good".into())]
    );
}

#[test]
fn a_resource_of_another_type_or_misnamed_is_refused() {
    let mut state = XdsState::new(None);
    let mut wrong = cla("x", 1);
    wrong.name = Some("x".into());
    let out = state.update(XdsType::Cluster, vec![wrong], &[], false, Instant::now());
    assert!(
        out.errors[0].1.contains("ClusterLoadAssignment"),
        "{:?}",
        out.errors
    );
    let mut misnamed = eds_cluster("a");
    misnamed.name = Some("b".into());
    let out = state.update(XdsType::Cluster, vec![misnamed], &[], false, Instant::now());
    assert!(out.errors[0].1.contains("named \"a\""), "{:?}", out.errors);
}
