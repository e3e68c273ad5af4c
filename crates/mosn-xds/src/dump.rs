//! Envoy's `/config_dump`: the bootstrap, its static resources and what the control
//! plane sent (active and warming, with versions and update times), as an
//! `envoy.admin.v3.ConfigDump` in Envoy's JSON. Private keys are redacted.

use crate::ads::state::{Stored, XdsState};
use crate::ads::types::XdsType;
use envoy_types::pb::envoy::admin::v3 as admin;
use envoy_types::pb::envoy::config::bootstrap::v3::Bootstrap;
use envoy_types::pb::envoy::config::core::v3::{data_source, DataSource};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{secret, Secret};
use envoy_types::pb::google::protobuf::{Any, Timestamp};
use parking_lot::Mutex;
use prost::{Message, Name};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// What the dump is made of: the bootstrap as loaded, when, and the ADS client's state.
#[derive(Debug, Clone)]
pub struct DumpSource {
    /// The bootstrap (after `--config-yaml` and the node flags).
    pub bootstrap: Bootstrap,
    /// When the process loaded it: the static resources' `last_updated`.
    pub loaded: SystemTime,
    /// The ADS client's state, when there is a client.
    pub ads: Option<Arc<Mutex<XdsState>>>,
}

impl DumpSource {
    /// The dump in Envoy's JSON; load assignments only with `include_eds` (Envoy's
    /// `?include_eds`).
    pub fn to_json(&self, include_eds: bool) -> serde_json::Value {
        crate::proto::to_json(&self.config_dump(include_eds))
    }

    /// The dump as the proto Envoy serves.
    pub fn config_dump(&self, include_eds: bool) -> admin::ConfigDump {
        let loaded = timestamp(self.loaded);
        let statics = self.bootstrap.static_resources.clone().unwrap_or_default();
        let state = self.ads.as_ref().map(|s| s.lock());
        let stored = |ty| state.as_ref().map(|s| s.stored(ty)).unwrap_or_default();

        let mut bootstrap = self.bootstrap.clone();
        redact_bootstrap(&mut bootstrap);
        let mut configs = vec![pack(&admin::BootstrapConfigDump {
            bootstrap: Some(bootstrap),
            last_updated: Some(loaded),
        })];

        let (active, warming): (Vec<Stored>, Vec<Stored>) = stored(XdsType::Cluster)
            .into_iter()
            .partition(|s| !s.warming);
        let dynamic_cluster = |s: Stored| admin::clusters_config_dump::DynamicCluster {
            version_info: s.version.clone(),
            cluster: Some(raw::<envoy_types::pb::envoy::config::cluster::v3::Cluster>(
                &s,
            )),
            last_updated: Some(timestamp(s.updated)),
            ..Default::default()
        };
        configs.push(pack(&admin::ClustersConfigDump {
            static_clusters: statics
                .clusters
                .iter()
                .map(|c| admin::clusters_config_dump::StaticCluster {
                    cluster: Some(pack(c)),
                    last_updated: Some(loaded),
                })
                .collect(),
            dynamic_active_clusters: active.into_iter().map(dynamic_cluster).collect(),
            dynamic_warming_clusters: warming.into_iter().map(dynamic_cluster).collect(),
            ..Default::default()
        }));

        configs.push(pack(&admin::ListenersConfigDump {
            static_listeners: statics
                .listeners
                .iter()
                .map(|l| admin::listeners_config_dump::StaticListener {
                    listener: Some(pack(l)),
                    last_updated: Some(loaded),
                })
                .collect(),
            dynamic_listeners: stored(XdsType::Listener)
                .into_iter()
                .map(|s| {
                    let warming = s.warming;
                    let state = admin::listeners_config_dump::DynamicListenerState {
                        version_info: s.version.clone(),
                        listener: Some(
                            raw::<envoy_types::pb::envoy::config::listener::v3::Listener>(&s),
                        ),
                        last_updated: Some(timestamp(s.updated)),
                    };
                    admin::listeners_config_dump::DynamicListener {
                        name: s.name,
                        active_state: (!warming).then(|| state.clone()),
                        warming_state: warming.then_some(state),
                        ..Default::default()
                    }
                })
                .collect(),
            ..Default::default()
        }));

        configs.push(pack(&admin::RoutesConfigDump {
            dynamic_route_configs: stored(XdsType::Route)
                .into_iter()
                .map(|s| admin::routes_config_dump::DynamicRouteConfig {
                    version_info: s.version.clone(),
                    route_config: Some(raw::<
                        envoy_types::pb::envoy::config::route::v3::RouteConfiguration,
                    >(&s)),
                    last_updated: Some(timestamp(s.updated)),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }));

        configs.push(pack(&admin::SecretsConfigDump {
            static_secrets: statics
                .secrets
                .iter()
                .map(|s| admin::secrets_config_dump::StaticSecret {
                    name: s.name.clone(),
                    last_updated: Some(loaded),
                    secret: Some(pack(&redacted(s.clone()))),
                })
                .collect(),
            dynamic_active_secrets: stored(XdsType::Secret)
                .into_iter()
                .map(|s| admin::secrets_config_dump::DynamicSecret {
                    name: s.name.clone(),
                    version_info: s.version.clone(),
                    last_updated: Some(timestamp(s.updated)),
                    secret: Secret::decode(s.body.as_slice())
                        .ok()
                        .map(|secret| pack(&redacted(secret))),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }));

        if include_eds {
            configs.push(pack(&admin::EndpointsConfigDump {
                dynamic_endpoint_configs: stored(XdsType::Endpoint)
                    .into_iter()
                    .map(|s| admin::endpoints_config_dump::DynamicEndpointConfig {
                        version_info: s.version.clone(),
                        endpoint_config: Some(raw::<
                            envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment,
                        >(&s)),
                        last_updated: Some(timestamp(s.updated)),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }));
        }
        admin::ConfigDump { configs }
    }
}

/// A message as an `Any` of its own type.
fn pack<T: Message + Name>(message: &T) -> Any {
    Any {
        type_url: T::type_url(),
        value: message.encode_to_vec(),
    }
}

/// Stored bytes as an `Any` of `T` (no decoding needed).
fn raw<T: Name>(stored: &Stored) -> Any {
    Any {
        type_url: T::type_url(),
        value: stored.body.clone(),
    }
}

fn timestamp(at: SystemTime) -> Timestamp {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp {
        seconds: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(since.subsec_nanos()).unwrap_or(0),
    }
}

/// Envoy's redaction: inline private keys become `[redacted]`.
fn redacted(mut secret: Secret) -> Secret {
    if let Some(secret::Type::TlsCertificate(cert)) = &mut secret.r#type {
        if let Some(key) = &mut cert.private_key {
            redact(key);
        }
    }
    secret
}

fn redact(source: &mut DataSource) {
    if matches!(
        source.specifier,
        Some(data_source::Specifier::InlineBytes(_) | data_source::Specifier::InlineString(_))
    ) {
        source.specifier = Some(data_source::Specifier::InlineString("[redacted]".into()));
    }
}

/// The bootstrap's inline static secrets redacted (its static secrets are dumped
/// separately, redacted too).
fn redact_bootstrap(bootstrap: &mut Bootstrap) {
    if let Some(statics) = &mut bootstrap.static_resources {
        for secret in &mut statics.secrets {
            *secret = redacted(secret.clone());
        }
    }
}
