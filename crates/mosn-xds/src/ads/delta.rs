//! An incremental ADS stream (`DeltaAggregatedResources`): responses carry only what
//! changed and what was removed; subscriptions change by name; on reconnect the client
//! says which versions it holds (`initial_resource_versions`) so nothing unchanged is
//! sent again.

use super::backoff::Backoff;
use super::drive::{drive, Shape};
use super::session::Session;
use super::state::Incoming;
use super::types::XdsType;
use super::{nack_status, MAX_MESSAGE_BYTES};
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse,
};
use envoy_types::pb::google::protobuf::Any;
use prost::Message;
use std::collections::{BTreeSet, HashMap};
use tokio::sync::mpsc::UnboundedSender;
use tonic::transport::Channel;

/// Per stream: the names subscribed per non-wildcard type.
struct Stream {
    tx: UnboundedSender<DeltaDiscoveryRequest>,
    subscribed: HashMap<XdsType, BTreeSet<String>>,
    node_sent: bool,
    listeners_requested: bool,
}

/// Runs one stream until it fails; the session keeps what was received.
pub(crate) async fn run(
    session: &mut Session,
    channel: Channel,
    backoff: &mut Backoff,
) -> Result<(), String> {
    let mut client = AggregatedDiscoveryServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut stream = Stream {
        tx,
        subscribed: HashMap::new(),
        node_sent: false,
        listeners_requested: false,
    };
    if session.settings.cds {
        stream.subscribe_wildcard(session, XdsType::Cluster);
    }
    stream.follow_subscriptions(session, true);
    let mut responses = client
        .delta_aggregated_resources(tokio_stream::wrappers::UnboundedReceiverStream::new(rx))
        .await
        .map_err(|s| format!("stream refused: {s}"))?
        .into_inner();
    drive(session, backoff, &mut stream, &mut responses).await
}

impl Shape for Stream {
    type Response = DeltaDiscoveryResponse;

    fn on_response(&mut self, session: &mut Session, response: DeltaDiscoveryResponse) {
        let Some(ty) = XdsType::from_url(&response.type_url) else {
            tracing::warn!(type_url = %response.type_url, "xDS response of an unknown type");
            let detail = format!("unknown type {}", response.type_url);
            self.send(
                session,
                DeltaDiscoveryRequest {
                    type_url: response.type_url,
                    response_nonce: response.nonce,
                    error_detail: Some(nack_status(detail)),
                    ..Default::default()
                },
            );
            return;
        };
        let mut incoming: Vec<Incoming> = response
            .resources
            .into_iter()
            .filter_map(|r| {
                r.resource.map(|body| Incoming {
                    name: Some(r.name),
                    version: r.version,
                    body,
                })
            })
            .collect();
        if ty == XdsType::Endpoint && !response.removed_resources.is_empty() {
            let held = session.state.lock().versions(ty);
            incoming.extend(
                response
                    .removed_resources
                    .iter()
                    .filter(|name| !held.contains_key(*name))
                    .map(|name| empty_load_assignment(name)),
            );
        }
        let removed = applied_removals(ty, &response.removed_resources);
        let nack = session.handle(ty, incoming, removed, false);
        self.send(
            session,
            DeltaDiscoveryRequest {
                type_url: ty.url(),
                response_nonce: response.nonce,
                error_detail: nack.map(nack_status),
                ..Default::default()
            },
        );
        self.follow_subscriptions(session, ty.names_others());
    }

    /// Subscribes to names newly referred to and unsubscribes from those no longer
    /// referred to; asks for listeners once the clusters are warm.
    fn follow_subscriptions(&mut self, session: &Session, names_changed: bool) {
        for &ty in session.to_follow(names_changed) {
            let want = session.state.lock().subscriptions(ty);
            let first = !self.subscribed.contains_key(&ty);
            let have = self.subscribed.entry(ty).or_default();
            let subscribe: Vec<String> = want.difference(have).cloned().collect();
            let unsubscribe: Vec<String> = have.difference(&want).cloned().collect();
            if subscribe.is_empty() && unsubscribe.is_empty() {
                continue;
            }
            *have = want;
            let initial_resource_versions = if first {
                session.state.lock().versions(ty)
            } else {
                HashMap::new()
            };
            self.send(
                session,
                DeltaDiscoveryRequest {
                    type_url: ty.url(),
                    resource_names_subscribe: subscribe,
                    resource_names_unsubscribe: unsubscribe,
                    initial_resource_versions,
                    ..Default::default()
                },
            );
        }
        if !self.listeners_requested && session.listeners_due() {
            self.subscribe_wildcard(session, XdsType::Listener);
        }
    }
}

impl Stream {
    /// The first request of a wildcard type, with the versions held (after a reconnect).
    fn subscribe_wildcard(&mut self, session: &Session, ty: XdsType) {
        if ty == XdsType::Listener {
            self.listeners_requested = true;
        }
        self.send(
            session,
            DeltaDiscoveryRequest {
                type_url: ty.url(),
                initial_resource_versions: session.state.lock().versions(ty),
                ..Default::default()
            },
        );
    }

    fn send(&mut self, session: &Session, mut request: DeltaDiscoveryRequest) {
        if !self.node_sent || !session.settings.node_on_first_message_only {
            request.node = Some(session.settings.node.clone());
            self.node_sent = true;
        }
        let _ = self.tx.send(request);
    }
}

/// The removals of a response that take effect. Envoy ignores the removal of a load
/// assignment or a route configuration (its EDS and RDS subscriptions log it and keep
/// what they have): the cluster keeps its endpoints and the listener its routes until
/// the resource comes again or nothing uses it any more.
fn applied_removals(ty: XdsType, removed: &[String]) -> &[String] {
    match ty {
        XdsType::Endpoint | XdsType::Route => &[],
        XdsType::Cluster | XdsType::Listener | XdsType::Secret => removed,
    }
}

/// What Envoy's EDS makes of the removal of a load assignment it never had (the
/// server's "does not exist"): an empty one, so its cluster stops warming, with no hosts.
fn empty_load_assignment(name: &str) -> Incoming {
    let cla = ClusterLoadAssignment {
        cluster_name: name.to_owned(),
        ..Default::default()
    };
    Incoming {
        name: Some(name.to_owned()),
        version: String::new(),
        body: Any {
            type_url: XdsType::Endpoint.url(),
            value: cla.encode_to_vec(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ads::state::XdsState;
    use envoy_types::pb::envoy::config::cluster::v3::Cluster;
    use std::time::Instant;

    #[test]
    fn a_load_assignment_that_does_not_exist_ends_its_clusters_warming() {
        let cluster: Cluster = crate::proto::from_json(
            &serde_json::json!({"name": "c", "type": "EDS", "connect_timeout": "1s",
                "eds_cluster_config": {"eds_config": {"ads": {}}}}),
            false,
        )
        .expect("cluster");
        let cluster = Incoming {
            name: None,
            version: "1".into(),
            body: Any {
                type_url: XdsType::Cluster.url(),
                value: cluster.encode_to_vec(),
            },
        };
        let mut state = XdsState::new(None);
        let now = Instant::now();
        let out = state.update(XdsType::Cluster, vec![cluster], &[], true, now);
        assert!(out.batch.upserts.is_empty() && state.clusters_warming());
        let out = state.update(
            XdsType::Endpoint,
            vec![empty_load_assignment("c")],
            &[],
            false,
            now,
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(out.batch.upserts.len(), 1, "the cluster goes live");
        assert!(!state.clusters_warming());
    }

    #[test]
    fn removed_load_assignments_and_route_configurations_are_kept_as_envoy_does() {
        let removed = vec!["a".to_owned()];
        assert!(applied_removals(XdsType::Endpoint, &removed).is_empty());
        assert!(applied_removals(XdsType::Route, &removed).is_empty());
        assert_eq!(applied_removals(XdsType::Cluster, &removed), removed);
        assert_eq!(applied_removals(XdsType::Listener, &removed), removed);
    }
}
