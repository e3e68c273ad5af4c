//! The model's host-choice settings beyond the balancer itself: subset labels and
//! fallbacks, original-destination clusters, and retry budgets.

/// Labels (`key`, `value`), sorted by key, each key once: host metadata, a route's
/// `metadata_match` and a subset's identity are all this.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Metadata(Vec<(String, String)>);

impl Metadata {
    /// Sorted by key; of repeated keys the last wins.
    pub fn new(mut labels: Vec<(String, String)>) -> Self {
        labels.reverse();
        labels.sort_by(|a, b| a.0.cmp(&b.0));
        labels.dedup_by(|a, b| a.0 == b.0);
        Self(labels)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// The labels, sorted by key.
    pub fn labels(&self) -> &[(String, String)] {
        &self.0
    }

    /// True when there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when every label of `criteria` is in `self` with the same value.
    pub fn matches(&self, criteria: &Metadata) -> bool {
        criteria
            .0
            .iter()
            .all(|(k, v)| self.get(k) == Some(v.as_str()))
    }
}

/// `lb_subset_config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbSubsetConfig {
    /// `subset_selectors[]`: each a sorted set of label keys; hosts with all of a
    /// selector's keys form one subset per distinct combination of values.
    pub selectors: Vec<Vec<String>>,
    /// `fall_back_policy` (with `default_subset`).
    pub fallback: SubsetFallback,
}

/// What a request whose `metadata_match` names no (non-empty) subset gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubsetFallback {
    /// 0, `NO_FALLBACK`: no host (503).
    NoFallback,
    /// 1, `ANY_ENDPOINT`: any host of the cluster.
    AnyEndpoint,
    /// 2, `DEFAULT_SUBSET`: the hosts matching `default_subset`.
    DefaultSubset(Metadata),
}

/// `original_dst_lb_config` (MOSN's `LBOriDstConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginalDstConfig {
    /// `use_header`: take the destination from a request header (HTTP) before the
    /// connection's original destination.
    pub use_header: bool,
    /// `header_name` (lower-cased; default `host`).
    pub header_name: String,
    /// `replace_local`: keep the port but connect to 127.0.0.1 (a sidecar's own app).
    pub replace_local: bool,
}

/// Envoy's `retry_budget`: retries in flight may be at most `budget_percent` of the
/// requests in flight, but never fewer than `min_retry_concurrency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryBudgetConfig {
    /// `budget_percent` (default 20%), in hundredths of a percent.
    pub budget_basis_points: u32,
    /// `min_retry_concurrency` (default 3).
    pub min_retry_concurrency: u32,
}

impl RetryBudgetConfig {
    /// How many retries may be in flight while `active_requests` requests are.
    pub fn limit(&self, active_requests: u64) -> u64 {
        let budget = active_requests * u64::from(self.budget_basis_points) / 10_000;
        budget.max(u64::from(self.min_retry_concurrency))
    }
}
