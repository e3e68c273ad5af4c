//! Slow start (`clusters[].slow_start`, MOSN's mode `"duration"`, Envoy's semantics): a
//! host that joined the cluster, or came back to rotation after being unhealthy, less
//! than `duration` ago balances on the effective weight
//! `weight × max(min_weight_percent, (time_in / duration)^(1 / aggression))`.
//!
//! Balancers are built over an immutable host set with precomputed tables, so effective
//! weights are fixed when the set is built (`Cluster::refresh_rotation_at` passes them to
//! [`crate::lb::build_weighted`]; `Host::weight` never changes). While any host of the
//! rotation is inside its window, [`run`] (a task on the `mosn-health` thread) rebuilds
//! the rotation every `duration / 10` (at least [`MIN_REFRESH`]); the rebuild after the
//! last window ends goes back to the hosts' own weights, and the task then idles at
//! that pace until a health change or a host list update starts a new window.
//!
//! Applies to `LB_WEIGHTED_ROUNDROBIN`, `LB_LEAST_REQUEST` and `LB_LEAST_CONNECTION`
//! (`mosn-config` refuses or warns for the others).

use crate::cluster::Cluster;
use crate::host::Host;
use mosn_config::{LbType, SlowStartConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Shortest interval between two rebuilds of a cluster's rotation for slow start.
pub const MIN_REFRESH: Duration = Duration::from_millis(100);

/// Effective weights are the hosts' weights times this, rounded, so that fractions of a
/// weight survive in the balancers' integer weights.
const SCALE: f64 = 1000.0;

/// True for the balancers slow start changes.
pub fn applies_to(lb_type: LbType) -> bool {
    matches!(
        lb_type,
        LbType::WeightedRoundRobin | LbType::LeastRequest | LbType::LeastConnection
    )
}

/// The factor a host's weight is multiplied by after `time_in` in rotation: 1.0 once the
/// window is over, else `(time_in / duration)^(1 / aggression)` floored at
/// `min_weight_percent`.
pub fn factor(cfg: &SlowStartConfig, time_in: Duration) -> f64 {
    if cfg.duration.is_zero() || time_in >= cfg.duration {
        return 1.0;
    }
    let linear = time_in.as_secs_f64() / cfg.duration.as_secs_f64();
    let ramp = if cfg.aggression == 1.0 {
        linear
    } else {
        linear.powf(1.0 / cfg.aggression)
    };
    ramp.max(cfg.min_weight_percent).min(1.0)
}

/// True when `host` is inside its slow start window at `now`.
pub fn in_window(cfg: &SlowStartConfig, host: &Host, now: Instant) -> bool {
    now.saturating_duration_since(host.in_rotation_since()) < cfg.duration
}

/// The effective weights of `rotation` at `now` (scaled by [`SCALE`]), or `None` when no
/// host is inside its window (the balancer then uses the hosts' own weights).
pub fn effective_weights(
    cfg: &SlowStartConfig,
    rotation: &[Arc<Host>],
    now: Instant,
) -> Option<Vec<u32>> {
    if !rotation.iter().any(|h| in_window(cfg, h, now)) {
        return None;
    }
    Some(
        rotation
            .iter()
            .map(|h| {
                let time_in = now.saturating_duration_since(h.in_rotation_since());
                let w = f64::from(h.weight.max(1)) * SCALE * factor(cfg, time_in);
                // At most 128 × 1000 from config weights; clamp anyway.
                w.round().clamp(1.0, f64::from(u32::MAX)) as u32
            })
            .collect(),
    )
}

/// How often [`run`] rebuilds a rotation during slow start: `duration / 10`, at least
/// [`MIN_REFRESH`].
pub fn refresh_interval(cfg: &SlowStartConfig) -> Duration {
    (cfg.duration / 10).max(MIN_REFRESH)
}

/// Rebuilds `cluster`'s rotation with the effective weights of the moment while slow start
/// is in progress, until the task is dropped; spawn it on the `mosn-health` thread's
/// runtime (see [`crate::health::cluster_group`]). Returns at once for a
/// cluster without slow start.
pub async fn run(cluster: Arc<Cluster>) {
    let Some(cfg) = cluster.slow_start else {
        return;
    };
    if !applies_to(cluster.lb_type()) {
        return;
    }
    let interval = refresh_interval(&cfg);
    tracing::info!(cluster = %cluster.name, ?interval, "slow start refresh started");
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if cluster.slow_start_active() {
            cluster.refresh_rotation_at(tokio::time::Instant::now().into_std());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster_hosts_tests::test_config;
    use crate::lb::LbContext;
    use mosn_config::Address;

    fn cfg(secs: u64, aggression: f64, min: f64) -> SlowStartConfig {
        SlowStartConfig {
            duration: Duration::from_secs(secs),
            aggression,
            min_weight_percent: min,
        }
    }

    #[test]
    fn aggression_one_is_linear() {
        let c = cfg(10, 1.0, 0.1);
        assert!((factor(&c, Duration::from_secs(5)) - 0.5).abs() < 1e-9);
        assert!((factor(&c, Duration::from_secs(2)) - 0.2).abs() < 1e-9);
        assert!((factor(&c, Duration::from_millis(9_900)) - 0.99).abs() < 1e-9);
    }

    #[test]
    fn min_weight_is_a_floor() {
        let c = cfg(10, 1.0, 0.1);
        assert_eq!(factor(&c, Duration::ZERO), 0.1);
        assert_eq!(factor(&c, Duration::from_millis(500)), 0.1);
        // Aggression 2: sqrt ramp, faster early on.
        let c = cfg(100, 2.0, 0.05);
        assert!((factor(&c, Duration::from_secs(25)) - 0.5).abs() < 1e-9);
        assert_eq!(factor(&c, Duration::ZERO), 0.05);
        // Aggression 0.5: quadratic ramp.
        let c = cfg(10, 0.5, 0.1);
        assert!((factor(&c, Duration::from_secs(5)) - 0.25).abs() < 1e-9);
    }

    #[test]
    fn window_end_restores_full_weight() {
        let c = cfg(10, 1.0, 0.1);
        assert_eq!(factor(&c, Duration::from_secs(10)), 1.0);
        assert_eq!(factor(&c, Duration::from_secs(3600)), 1.0);
        let hosts = crate::lb::tests::weighted_hosts(&[1, 2]);
        let added = hosts[0].added.max(hosts[1].added);
        assert!(effective_weights(&c, &hosts, added + Duration::from_secs(5)).is_some());
        assert_eq!(
            effective_weights(&c, &hosts, added + Duration::from_secs(10)),
            None
        );
    }

    #[test]
    fn refresh_interval_is_a_tenth_with_a_floor() {
        assert_eq!(refresh_interval(&cfg(30, 1.0, 0.1)), Duration::from_secs(3));
        assert_eq!(refresh_interval(&cfg(0, 1.0, 0.1)), MIN_REFRESH);
    }

    fn wrr_cluster(slow_start: SlowStartConfig) -> Cluster {
        let mut cfg = test_config(&[1, 2]);
        cfg.lb_type = LbType::WeightedRoundRobin;
        cfg.slow_start = Some(slow_start);
        Cluster::from_config(&cfg, Arc::default())
    }

    /// Share of `n` picks that went to port 2.
    fn share_of_second(c: &Cluster, n: u32) -> f64 {
        let ctx = LbContext::default();
        let hits = (0..n)
            .filter(|_| match &c.choose_host(&ctx).unwrap().address {
                Address::Tcp(a) => a.port() == 2,
                Address::Unix(_) => false,
            })
            .count();
        hits as f64 / f64::from(n)
    }

    #[test]
    fn wrr_share_of_a_host_in_its_window_grows() {
        let c = wrr_cluster(cfg(100, 1.0, 0.1));
        // Host 2 returns to rotation 1000 s from now, long after host 1's window ended.
        let back = Instant::now() + Duration::from_secs(1000);
        c.hosts()[1].set_in_rotation_since(back);
        assert_eq!(c.hosts()[1].in_rotation_since(), back);
        let mut shares = Vec::new();
        for secs in [0u64, 15, 25, 50, 75, 99] {
            c.refresh_rotation_at(back + Duration::from_secs(secs));
            assert!(c.slow_start_active());
            shares.push(share_of_second(&c, 10_000));
        }
        assert!(
            shares.windows(2).all(|w| w[1] > w[0]),
            "share of the slow-starting host should grow: {shares:?}"
        );
        // Weights 1 and f: host 2's share is f / (1 + f); f = 0.1 floor at 0 s, 0.5 at 50 s.
        assert!((shares[0] - 0.1 / 1.1).abs() < 0.01, "{shares:?}");
        assert!((shares[3] - 0.5 / 1.5).abs() < 0.01, "{shares:?}");
        // Window over: back to the hosts' own weights.
        c.refresh_rotation_at(back + Duration::from_secs(100));
        assert!(!c.slow_start_active());
        let full = share_of_second(&c, 10_000);
        assert!((full - 0.5).abs() < 0.01, "{full}");
    }
}
