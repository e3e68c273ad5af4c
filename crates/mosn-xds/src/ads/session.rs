//! What a stream (SotW or Delta) does with a response, the same for both: convert, apply
//! to the configuration plane, count, and say whether to ACK or NACK.

use super::state::{Incoming, XdsState};
use super::stats::XdsStats;
use super::types::XdsType;
use super::{AdsSettings, ConfigSink, SdsSource};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// The client's state across streams: what it holds survives reconnects.
pub(crate) struct Session {
    /// How to reach and speak to the control plane.
    pub settings: AdsSettings,
    /// What the control plane sent; shared with the admin API's config dump (locked
    /// briefly, never while the configuration plane applies a batch).
    pub state: Arc<Mutex<XdsState>>,
    /// Where changes go.
    pub sink: Arc<dyn ConfigSink>,
    /// The counters.
    pub stats: Arc<XdsStats>,
    /// SotW: the last version accepted per type, echoed in every request (also after a
    /// reconnect).
    pub sotw_versions: HashMap<XdsType, String>,
    /// This session's stream is SDS (`StreamSecrets`), not ADS.
    pub sds: bool,
    /// Woken when a response changed the state, so the other stream (ADS or SDS) checks
    /// its subscriptions.
    pub changed: Arc<tokio::sync::Notify>,
    /// Whether a listener response has been handled (the initial fetch is over when it
    /// has and nothing warms); shared with the SDS sibling, whose secrets may be what the
    /// last warming resources wait for.
    listeners_seen: Arc<std::sync::atomic::AtomicBool>,
    /// Whether a cluster response has been handled: Envoy asks for the listeners only
    /// once the clusters' initial fetch is over.
    clusters_seen: bool,
    /// When the clusters' initial fetch gives up waiting for a response
    /// (`initial_fetch_timeout` after start; `None`: never).
    clusters_deadline: Option<Instant>,
}

impl Session {
    /// A session with nothing received yet.
    pub fn new(settings: AdsSettings, sink: Arc<dyn ConfigSink>, stats: Arc<XdsStats>) -> Self {
        let state = Arc::new(Mutex::new(XdsState::new(settings.initial_fetch_timeout)));
        let clusters_deadline = settings.initial_fetch_timeout.map(|t| Instant::now() + t);
        Self {
            settings,
            state,
            sink,
            stats,
            sds: false,
            changed: Arc::new(tokio::sync::Notify::new()),
            sotw_versions: HashMap::new(),
            listeners_seen: Arc::default(),
            clusters_seen: false,
            clusters_deadline,
        }
    }

    /// Handles the resources of one response of type `ty`; `Some(detail)` when anything
    /// was refused (NACK), with one line per refused resource.
    pub fn handle(
        &mut self,
        ty: XdsType,
        incoming: Vec<Incoming>,
        removed: &[String],
        full_set: bool,
    ) -> Option<String> {
        let stats = self.stats.of(ty);
        stats.update_attempt.fetch_add(1, Ordering::Relaxed);
        let outcome = self
            .state
            .lock()
            .update(ty, incoming, removed, full_set, Instant::now());
        let mut lines: Vec<String> = outcome
            .errors
            .iter()
            .map(|(name, why)| format!("{} {name:?}: {why}", ty.noun()))
            .collect();
        for rejection in self.sink.apply(outcome.batch) {
            self.state.lock().forget(rejection.kind, &rejection.name);
            lines.push(rejection.to_string());
        }
        if ty == XdsType::Listener {
            self.listeners_seen.store(true, Ordering::Relaxed);
        }
        if ty == XdsType::Cluster {
            self.clusters_seen = true;
        }
        self.check_initialized();
        self.changed.notify_waiters();
        if lines.is_empty() {
            stats.update_success.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        stats.update_rejected.fetch_add(1, Ordering::Relaxed);
        stats
            .resources_rejected
            .fetch_add(lines.len() as u64, Ordering::Relaxed);
        for line in &lines {
            tracing::warn!(type_url = %ty.url(), "xDS resource refused: {line}");
        }
        Some(lines.join("\n"))
    }

    /// An SDS session beside this one: the same state, sink and counters, its own stream
    /// to `source`'s addresses.
    pub fn sds_sibling(&self, source: &SdsSource) -> Self {
        let mut settings = self.settings.clone();
        settings.delta = false;
        settings.cluster_name.clone_from(&source.cluster);
        settings.addresses.clone_from(&source.addresses);
        settings.connect_timeout = source.connect_timeout;
        Self {
            settings,
            state: self.state.clone(),
            sink: self.sink.clone(),
            stats: self.stats.clone(),
            sds: true,
            changed: self.changed.clone(),
            sotw_versions: HashMap::new(),
            listeners_seen: self.listeners_seen.clone(),
            clusters_seen: self.clusters_seen,
            clusters_deadline: None,
        }
    }

    /// The types whose subscriptions to recompute: every followed one when the names
    /// referred to may have changed, none otherwise (after a one-endpoint EDS update
    /// among 10,000, rebuilding the name sets would only delay the ACK).
    pub fn to_follow(&self, names_changed: bool) -> &'static [XdsType] {
        if names_changed {
            self.followed()
        } else {
            &[]
        }
    }

    /// The non-wildcard types this session's stream subscribes to by name.
    pub fn followed(&self) -> &'static [XdsType] {
        if self.sds {
            &[XdsType::Secret]
        } else {
            &[XdsType::Endpoint, XdsType::Route]
        }
    }

    /// Lets warming resources whose `initial_fetch_timeout` passed go live.
    pub fn expire(&mut self) {
        let batch = self.state.lock().expire_warming(Instant::now());
        if batch.upserts.is_empty() && batch.removals.is_empty() {
            return;
        }
        for rejection in self.sink.apply(batch) {
            self.state.lock().forget(rejection.kind, &rejection.name);
            tracing::warn!("xDS resource refused: {rejection}");
        }
        self.check_initialized();
    }

    /// True when the listeners may be asked for: Envoy waits for the first cluster
    /// response (or its `initial_fetch_timeout`) and for the clusters it brings (and
    /// their endpoints) first.
    pub fn listeners_due(&self) -> bool {
        self.listeners_due_at(Instant::now())
    }

    fn listeners_due_at(&self, now: Instant) -> bool {
        let clusters_fetched =
            self.clusters_seen || self.clusters_deadline.is_some_and(|d| now >= d);
        !self.sds
            && self.settings.lds
            && (!self.settings.cds || (clusters_fetched && !self.state.lock().clusters_warming()))
    }

    /// When something must happen without a response: a warming resource times out, or
    /// the clusters' initial fetch gives up (so the listeners are asked for anyway).
    pub fn next_deadline(&self) -> Option<Instant> {
        let warming = self.state.lock().next_deadline();
        let clusters = self
            .clusters_deadline
            .filter(|d| !self.clusters_seen && *d > Instant::now());
        warming.into_iter().chain(clusters).min()
    }

    /// Marks the initial fetch done once the clusters and listeners are in and warm.
    fn check_initialized(&self) {
        if self.stats.initialized.load(Ordering::Relaxed) {
            return; // once, as Envoy's initialization
        }
        let listeners_in = !self.settings.lds || self.listeners_seen.load(Ordering::Relaxed);
        if listeners_in && !self.state.lock().warming() {
            self.stats.initialized.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosn_config::resources::{Batch, Rejection};
    use std::time::Duration;

    struct AcceptAll;

    impl ConfigSink for AcceptAll {
        fn apply(&self, _batch: Batch) -> Vec<Rejection> {
            Vec::new()
        }
    }

    fn session(initial_fetch_timeout: Option<Duration>) -> Session {
        let settings = AdsSettings {
            delta: false,
            cluster_name: "xds-grpc".into(),
            addresses: Vec::new(),
            tls: None,
            node: Default::default(),
            node_on_first_message_only: true,
            lds: true,
            cds: true,
            initial_fetch_timeout,
            connect_timeout: Duration::from_secs(1),
        };
        Session::new(settings, Arc::new(AcceptAll), Arc::default())
    }

    #[test]
    fn listeners_wait_for_the_first_cluster_response() {
        let mut s = session(Some(Duration::from_secs(15)));
        assert!(!s.listeners_due(), "no cluster response yet");
        assert!(s.next_deadline().is_some(), "woken when the wait gives up");
        assert!(s.handle(XdsType::Cluster, Vec::new(), &[], true).is_none());
        assert!(s.listeners_due(), "an empty cluster set ends the wait too");
        assert_eq!(s.next_deadline(), None);
    }

    #[test]
    fn listeners_are_asked_for_anyway_after_initial_fetch_timeout() {
        let s = session(Some(Duration::from_secs(15)));
        let later = Instant::now() + Duration::from_secs(16);
        assert!(!s.listeners_due_at(Instant::now()));
        assert!(s.listeners_due_at(later));
        let forever = session(None);
        assert!(!forever.listeners_due_at(later), "0 waits forever");
        assert_eq!(forever.next_deadline(), None);
    }
}
