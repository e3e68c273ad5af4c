//! A state-of-the-world stream: ADS (`StreamAggregatedResources`) or SDS
//! (`StreamSecrets`, Istio's agent serves secrets on a socket of their own). Every
//! response carries the whole set of its type (LDS, CDS) or of the names asked for (EDS,
//! RDS, SDS); each is ACKed with its version and nonce or NACKed with the last accepted
//! version.

use super::backoff::Backoff;
use super::drive::{drive, Shape};
use super::session::Session;
use super::state::Incoming;
use super::types::XdsType;
use super::{nack_status, MAX_MESSAGE_BYTES};
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use envoy_types::pb::envoy::service::secret::v3::secret_discovery_service_client::SecretDiscoveryServiceClient;
use std::collections::{BTreeSet, HashMap};
use tokio::sync::mpsc::UnboundedSender;
use tonic::transport::Channel;

/// Per stream: what was asked for and the last nonce of each type.
struct Stream {
    tx: UnboundedSender<DiscoveryRequest>,
    /// Names last sent per non-wildcard type; absent = not subscribed yet.
    sent: HashMap<XdsType, BTreeSet<String>>,
    nonces: HashMap<XdsType, String>,
    node_sent: bool,
    listeners_requested: bool,
}

/// Runs one stream until it fails; the session keeps what was received. The session's
/// `sds` flag picks the service.
pub(crate) async fn run(
    session: &mut Session,
    channel: Channel,
    backoff: &mut Backoff,
) -> Result<(), String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut stream = Stream {
        tx,
        sent: HashMap::new(),
        nonces: HashMap::new(),
        node_sent: false,
        listeners_requested: false,
    };
    if session.settings.cds && !session.sds {
        stream.request(session, XdsType::Cluster, None);
    }
    stream.follow_subscriptions(session, true);
    // An SDS server (Istio's agent) sends nothing, not even response headers, before the
    // first request, and SDS has nothing to ask for until a resource names a secret.
    // (One thread runs both streams, so no notification slips in between the check and
    // the wait.)
    while session.sds && stream.sent.is_empty() {
        session.changed.clone().notified().await;
        stream.follow_subscriptions(session, true);
    }
    let requests = tokio_stream::wrappers::UnboundedReceiverStream::new(rx);
    let opened = if session.sds {
        SecretDiscoveryServiceClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .stream_secrets(requests)
            .await
    } else {
        AggregatedDiscoveryServiceClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
            .stream_aggregated_resources(requests)
            .await
    };
    let mut responses = opened
        .map_err(|s| format!("stream refused: {s}"))?
        .into_inner();
    drive(session, backoff, &mut stream, &mut responses).await
}

impl Shape for Stream {
    type Response = DiscoveryResponse;

    fn on_response(&mut self, session: &mut Session, response: DiscoveryResponse) {
        let Some(ty) = XdsType::from_url(&response.type_url) else {
            tracing::warn!(type_url = %response.type_url, "xDS response of an unknown type");
            let detail = format!("unknown type {}", response.type_url);
            self.send(
                session,
                DiscoveryRequest {
                    type_url: response.type_url,
                    response_nonce: response.nonce,
                    error_detail: Some(nack_status(detail)),
                    ..Default::default()
                },
            );
            return;
        };
        let version = response.version_info;
        let incoming = response
            .resources
            .into_iter()
            .map(|body| Incoming {
                name: None,
                version: version.clone(),
                body,
            })
            .collect();
        let nack = session.handle(ty, incoming, &[], ty.is_wildcard());
        if nack.is_none() {
            session.sotw_versions.insert(ty, version);
        }
        self.nonces.insert(ty, response.nonce);
        self.request(session, ty, nack);
        self.follow_subscriptions(session, ty.names_others());
    }

    /// Sends a new request for each type whose subscription changed (new clusters name
    /// new load assignments, new listeners new route configurations), and the first
    /// listener request once the clusters are warm.
    fn follow_subscriptions(&mut self, session: &Session, names_changed: bool) {
        for &ty in session.to_follow(names_changed) {
            let names = session.state.lock().subscriptions(ty);
            let changed = match self.sent.get(&ty) {
                Some(sent) => *sent != names,
                None => !names.is_empty(),
            };
            // Dropping the last name is a request too (with no names: Envoy's way;
            // these types are never wildcard).
            if changed {
                self.request(session, ty, None);
            }
        }
        if !self.listeners_requested && session.listeners_due() {
            self.request(session, XdsType::Listener, None);
        }
    }
}

impl Stream {
    /// Asks for `ty` (or ACKs/NACKs its last response): the last accepted version, the
    /// last nonce, the names subscribed.
    fn request(&mut self, session: &Session, ty: XdsType, nack: Option<String>) {
        let names: BTreeSet<String> = if ty.is_wildcard() {
            BTreeSet::new()
        } else {
            session.state.lock().subscriptions(ty)
        };
        let request = DiscoveryRequest {
            version_info: session.sotw_versions.get(&ty).cloned().unwrap_or_default(),
            resource_names: names.iter().cloned().collect(),
            type_url: ty.url(),
            response_nonce: self.nonces.get(&ty).cloned().unwrap_or_default(),
            error_detail: nack.map(nack_status),
            ..Default::default()
        };
        if ty == XdsType::Listener {
            self.listeners_requested = true;
        }
        self.sent.insert(ty, names);
        self.send(session, request);
    }

    fn send(&mut self, session: &Session, mut request: DiscoveryRequest) {
        if !self.node_sent || !session.settings.node_on_first_message_only {
            request.node = Some(session.settings.node.clone());
            self.node_sent = true;
        }
        // The receiver lives as long as the stream; a send error means it ended, which
        // the response side reports.
        let _ = self.tx.send(request);
    }
}
