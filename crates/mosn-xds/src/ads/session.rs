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
}

impl Session {
    /// A session with nothing received yet.
    pub fn new(settings: AdsSettings, sink: Arc<dyn ConfigSink>, stats: Arc<XdsStats>) -> Self {
        let state = Arc::new(Mutex::new(XdsState::new(settings.initial_fetch_timeout)));
        Self {
            settings,
            state,
            sink,
            stats,
            sds: false,
            changed: Arc::new(tokio::sync::Notify::new()),
            sotw_versions: HashMap::new(),
            listeners_seen: Arc::default(),
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

    /// True when the listeners may be asked for: Envoy waits for the clusters it starts
    /// with (and their endpoints) first.
    pub fn listeners_due(&self) -> bool {
        !self.sds
            && self.settings.lds
            && (!self.settings.cds || !self.state.lock().clusters_warming())
    }

    /// Marks the initial fetch done once the clusters and listeners are in and warm.
    fn check_initialized(&self) {
        let listeners_in = !self.settings.lds || self.listeners_seen.load(Ordering::Relaxed);
        if listeners_in && !self.state.lock().warming() {
            self.stats.initialized.store(true, Ordering::Relaxed);
        }
    }
}
