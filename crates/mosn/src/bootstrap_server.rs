//! Starting the server from an Envoy bootstrap: the one entry point the Envoy command line
//! (`mosn envoy`, a binary named `envoy`) and `mosn start -c BOOTSTRAP` share, so wiring
//! the plan into `mosn-server` is one change in one place.

use mosn_config::ServerConfig;
use mosn_server::RunOptions;
use mosn_xds::bootstrap::BootstrapPlan;

/// What the command line decides besides the bootstrap.
#[derive(Debug, Clone)]
pub(crate) struct StartOptions {
    /// The process settings a MOSN file's `servers[0]` would give (workers, log level and
    /// path, graceful timeout), from Envoy's flags; its listeners and routers are empty
    /// (they are in the plan).
    pub(crate) process: ServerConfig,
    /// The version and config path; a bootstrap has no path to reload from.
    pub(crate) run: RunOptions,
}

/// Runs the proxy from `plan` until it stops: the process settings from the command
/// line, the bootstrap's static resources as the first batch, its admin address (MOSN's
/// `/api/v1/*` and Envoy's paths), and its ADS stream.
pub(crate) fn start_from_bootstrap(
    plan: BootstrapPlan,
    options: StartOptions,
) -> Result<(), String> {
    let StartOptions { process, mut run } = options;
    let command_line_options = serde_json::json!({
        "concurrency": process.processor,
        "drain_time": format!("{}s", process.graceful_timeout.as_secs()),
        "log_level": process.default_log_level.map(|l| format!("{l:?}").to_lowercase()),
    });
    let sds = sds_source(&plan);
    let dump = mosn_xds::dump::DumpSource {
        bootstrap: plan.bootstrap,
        loaded: std::time::SystemTime::now(),
        ads: None,
    };
    let config = mosn_config::Config {
        servers: vec![process],
        clusters: Vec::new(),
        admin: plan.admin,
        pid_file: None,
        certificates: Vec::new(),
        // MOSN's `/api/v1/config_dump` shows the bootstrap as Envoy's dump does (keys
        // redacted).
        redacted_json: dump.to_json(false),
    };
    run.config_path = None;
    run.xds = Some(mosn_server::XdsStart {
        batch: plan.resources,
        sds,
        ads: plan.ads,
        bootstrap: dump,
        command_line_options,
    });
    mosn_server::run(config, run).map_err(|e| e.to_string())
}

/// The SDS stream to open beside ADS: the static gRPC cluster the bootstrap's SDS
/// `api_config_source`s may name that is not the ADS cluster — Istio's `sds-grpc` when
/// there are several (the converters do not record which cluster each secret names).
fn sds_source(plan: &BootstrapPlan) -> Option<mosn_xds::ads::SdsSource> {
    let ads_cluster = plan.ads.as_ref().map(|a| a.cluster_name.as_str());
    let candidates: Vec<_> = plan
        .sds
        .values()
        .filter(|s| Some(s.cluster.as_str()) != ads_cluster)
        .collect();
    let source = match candidates.as_slice() {
        [] => return None,
        [one] => *one,
        several => several
            .iter()
            .find(|s| s.cluster == "sds-grpc")
            .copied()
            .unwrap_or(several[0]),
    };
    Some(mosn_xds::ads::SdsSource {
        cluster: source.cluster.clone(),
        addresses: source.addresses.clone(),
        connect_timeout: source.connect_timeout,
    })
}
