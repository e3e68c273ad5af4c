//! Envoy's command line, so mosn can stand in for Envoy under Istio's pilot-agent: mosn
//! run as `envoy` (argv[0]'s file name, e.g. a symlink) or as `mosn envoy ARGS...` takes
//! Envoy's flags, loads the bootstrap (`-c` and/or `--config-yaml`) and serves, or with
//! `--mode validate` checks it and exits 0 or 1 with Envoy's messages.
//!
//! Each flag either maps onto mosn's process settings, feeds the bootstrap loader, or is
//! accepted without effect (listed in one line at start); an unknown flag is an error
//! naming it (exit 1).

use crate::bootstrap_server::{start_from_bootstrap, StartOptions};
use clap::error::ErrorKind;
use clap::{Parser, ValueEnum};
use mosn_config::{IoModel, LogLevel, ServerConfig};
use mosn_xds::bootstrap::{self, BootstrapPlan, LoadOptions};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Envoy's default `--drain-time-s`.
const DEFAULT_DRAIN_TIME_S: u64 = 600;

/// Envoy's command line (the flags pilot-agent passes, and the ones around them).
#[derive(Parser, Debug, Clone, Default, PartialEq, Eq)]
#[command(
    name = "envoy",
    version = crate::VERSION,
    about = "mosn with Envoy's command line: runs an Envoy v3 bootstrap"
)]
pub(crate) struct EnvoyArgs {
    /// `-c/--config-path`: the bootstrap file (JSON or YAML).
    #[arg(short = 'c', long = "config-path", value_name = "PATH")]
    pub(crate) config_path: Option<PathBuf>,
    /// `--config-yaml`: YAML merged over the file (or the whole bootstrap without `-c`).
    #[arg(long = "config-yaml", value_name = "YAML")]
    pub(crate) config_yaml: Option<String>,
    /// `--mode`: `serve` (default) runs the proxy; `validate` loads the bootstrap, prints
    /// `configuration '...' OK` and exits 0, or prints the error and exits 1.
    #[arg(long = "mode", value_enum)]
    pub(crate) mode: Option<Mode>,
    /// `--drain-time-s` (default 600): mosn's graceful timeout, how long SIGTERM waits for
    /// in-flight requests.
    #[arg(long = "drain-time-s", value_name = "SECONDS")]
    pub(crate) drain_time_s: Option<u64>,
    /// `--drain-strategy`: no effect; mosn's drain stops accepting and lets requests in
    /// flight finish, without pacing connection closes.
    #[arg(long = "drain-strategy", value_enum)]
    pub(crate) drain_strategy: Option<DrainStrategy>,
    /// `--parent-shutdown-time-s`: no effect (it times Envoy's hot restart, which mosn
    /// does not do).
    #[arg(long = "parent-shutdown-time-s", value_name = "SECONDS")]
    pub(crate) parent_shutdown_time_s: Option<u64>,
    /// `--local-address-ip-version`: no effect (Envoy's own local address, which it reports
    /// and mosn does not).
    #[arg(long = "local-address-ip-version", value_enum)]
    pub(crate) local_address_ip_version: Option<IpVersion>,
    /// `--file-flush-interval-msec`: no effect (mosn's log writers flush on their own).
    #[arg(long = "file-flush-interval-msec", value_name = "MSEC")]
    pub(crate) file_flush_interval_msec: Option<u64>,
    /// `--disable-hot-restart`: no effect; mosn never takes over from an Envoy parent.
    #[arg(long = "disable-hot-restart")]
    pub(crate) disable_hot_restart: bool,
    /// `--allow-unknown-static-fields`: unknown bootstrap fields are dropped, not refused.
    #[arg(long = "allow-unknown-static-fields")]
    pub(crate) allow_unknown_static_fields: bool,
    /// `-l/--log-level`: mosn's log level (`warning` is `WARN`; `critical` and `off` are
    /// `ERROR`, mosn's quietest). Default `info`.
    #[arg(short = 'l', long = "log-level", value_parser = log_level, value_name = "LEVEL")]
    pub(crate) log_level: Option<LogLevel>,
    /// `--component-log-level` (`upstream:debug,connection:trace`): checked, no effect
    /// (mosn has one logger).
    #[arg(long = "component-log-level", value_parser = component_log_levels)]
    pub(crate) component_log_level: Option<String>,
    /// `--log-format`: no effect (mosn's log lines have their own format).
    #[arg(long = "log-format", value_name = "FORMAT")]
    pub(crate) log_format: Option<String>,
    /// `--concurrency`: the number of worker threads (mosn's `processor`); default one per
    /// core; 0 runs one.
    #[arg(long = "concurrency", value_name = "N")]
    pub(crate) concurrency: Option<usize>,
    /// `--service-cluster`: replaces the bootstrap's `node.cluster`.
    #[arg(long = "service-cluster", value_name = "NAME")]
    pub(crate) service_cluster: Option<String>,
    /// `--service-node`: replaces the bootstrap's `node.id`.
    #[arg(long = "service-node", value_name = "NAME")]
    pub(crate) service_node: Option<String>,
    /// `--base-id`: no effect (it keys Envoy's hot-restart shared memory).
    #[arg(long = "base-id", value_name = "N")]
    pub(crate) base_id: Option<u32>,
}

/// `--mode`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Mode {
    /// Run the proxy.
    #[default]
    Serve,
    /// Check the bootstrap and exit.
    Validate,
}

/// `--drain-strategy` (accepted, see the flag).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DrainStrategy {
    /// Envoy's default: connections are told to close progressively over the drain time.
    Gradual,
    /// All connections are told to close as the drain starts.
    Immediate,
}

/// `--local-address-ip-version` (accepted, see the flag).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpVersion {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// One of Envoy's log level names as mosn's level.
fn log_level(name: &str) -> Result<LogLevel, String> {
    match name {
        "trace" => Ok(LogLevel::Trace),
        "debug" => Ok(LogLevel::Debug),
        "info" => Ok(LogLevel::Info),
        "warning" | "warn" => Ok(LogLevel::Warn),
        "error" | "critical" | "off" => Ok(LogLevel::Error),
        _ => Err("expected trace, debug, info, warning, warn, error, critical or off".into()),
    }
}

/// `COMPONENT:LEVEL[,COMPONENT:LEVEL...]`, each level one of Envoy's.
fn component_log_levels(text: &str) -> Result<String, String> {
    for part in text.split(',') {
        let Some((component, level)) = part.split_once(':') else {
            return Err(format!("{part:?} is not COMPONENT:LEVEL"));
        };
        if component.is_empty() {
            return Err(format!("{part:?} names no component"));
        }
        log_level(level)?;
    }
    Ok(text.to_owned())
}

/// Whether mosn runs as Envoy: its program's file name (argv[0]) is `envoy`, e.g. a
/// symlink where pilot-agent looks for Envoy. (`mosn envoy ...` is mosn's subcommand.)
pub(crate) fn invoked_as_envoy(argv: &[OsString]) -> bool {
    argv.first()
        .and_then(|program| Path::new(program).file_name())
        .is_some_and(|name| name == "envoy")
}

/// Parses Envoy's command line (`argv[0]` is the program) and runs it: the process's
/// exit code. Help and version exit 0; a bad or unknown flag prints clap's message (which
/// names it) with the usage line and exits 1.
pub(crate) fn main(argv: impl IntoIterator<Item = OsString>) -> ExitCode {
    match EnvoyArgs::try_parse_from(argv) {
        Ok(args) => run(&args),
        Err(error) => {
            let _ = error.print();
            match error.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            }
        }
    }
}

/// Whether `path` holds an Envoy bootstrap rather than a MOSN config
/// ([`bootstrap::is_bootstrap`]); an unreadable or unparsable file is left to MOSN's
/// loader, whose message is the one users of `mosn start` know.
pub(crate) fn is_bootstrap_file(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| mosn_xds::proto::parse_document(&text).ok())
        .is_some_and(|document| bootstrap::is_bootstrap(&document))
}

/// Loads the bootstrap and validates or serves it.
pub(crate) fn run(args: &EnvoyArgs) -> ExitCode {
    let name = args.config_name();
    let plan = match args.load() {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("error initializing configuration '{name}': {error}");
            return ExitCode::FAILURE;
        }
    };
    for (field, count) in &plan.ignored {
        eprintln!("warning: {field}: accepted without effect ({count}x)");
    }
    match args.mode.unwrap_or_default() {
        Mode::Validate => {
            println!("configuration '{name}' OK");
            ExitCode::SUCCESS
        }
        Mode::Serve => serve(plan, args),
    }
}

/// Starts the proxy from the plan.
fn serve(plan: BootstrapPlan, args: &EnvoyArgs) -> ExitCode {
    let ignored = args.flags_without_effect();
    if !ignored.is_empty() {
        eprintln!("mosn: accepted without effect: {}", ignored.join(", "));
    }
    match start_from_bootstrap(plan, args.start_options()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mosn: {error}");
            ExitCode::FAILURE
        }
    }
}

impl EnvoyArgs {
    /// The arguments `mosn start`/`mosn validate -c FILE` stand for when FILE is a
    /// bootstrap (MOSN's `--service-cluster`/`--service-node` mean the same as Envoy's).
    pub(crate) fn for_file(
        path: &Path,
        mode: Mode,
        service_cluster: Option<String>,
        service_node: Option<String>,
    ) -> Self {
        Self {
            config_path: Some(path.to_path_buf()),
            mode: Some(mode),
            service_cluster,
            service_node,
            ..Self::default()
        }
    }

    /// How Envoy's messages name the configuration.
    fn config_name(&self) -> String {
        match &self.config_path {
            Some(path) => path.display().to_string(),
            None => "--config-yaml".to_owned(),
        }
    }

    /// The bootstrap from `-c` and `--config-yaml`.
    fn load(&self) -> Result<BootstrapPlan, String> {
        if self.config_path.is_none() && self.config_yaml.is_none() {
            return Err("at least one of --config-path or --config-yaml must be given".into());
        }
        let text = match &self.config_path {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
            None => String::new(),
        };
        bootstrap::load(&text, &self.load_options()).map_err(|e| e.to_string())
    }

    /// What the bootstrap loader takes from the flags.
    fn load_options(&self) -> LoadOptions {
        LoadOptions {
            config_yaml: self.config_yaml.clone(),
            allow_unknown_static_fields: self.allow_unknown_static_fields,
            service_cluster: self.service_cluster.clone(),
            service_node: self.service_node.clone(),
        }
    }

    /// The process settings the flags give (a MOSN file's `servers[0]` without listeners):
    /// Envoy logs to stderr.
    fn start_options(&self) -> StartOptions {
        let process = ServerConfig {
            default_log_path: Some("stderr".to_owned()),
            default_log_level: Some(self.log_level.unwrap_or(LogLevel::Info)),
            processor: self.concurrency,
            io_model: IoModel::default(),
            graceful_timeout: Duration::from_secs(
                self.drain_time_s.unwrap_or(DEFAULT_DRAIN_TIME_S),
            ),
            listeners: Vec::new(),
            routers: Vec::new(),
        };
        let run = mosn_server::RunOptions {
            version: crate::VERSION,
            config_path: None,
            xds: None,
        };
        StartOptions { process, run }
    }

    /// The flags given that mosn accepts without effect.
    fn flags_without_effect(&self) -> Vec<&'static str> {
        [
            ("--drain-strategy", self.drain_strategy.is_some()),
            (
                "--parent-shutdown-time-s",
                self.parent_shutdown_time_s.is_some(),
            ),
            (
                "--local-address-ip-version",
                self.local_address_ip_version.is_some(),
            ),
            (
                "--file-flush-interval-msec",
                self.file_flush_interval_msec.is_some(),
            ),
            ("--disable-hot-restart", self.disable_hot_restart),
            ("--component-log-level", self.component_log_level.is_some()),
            ("--log-format", self.log_format.is_some()),
            ("--base-id", self.base_id.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<EnvoyArgs, clap::Error> {
        EnvoyArgs::try_parse_from(std::iter::once("envoy").chain(args.iter().copied()))
    }

    #[test]
    fn pilot_agent_command_line_parses_into_typed_args() {
        let args = parse(&[
            "-c",
            "/etc/istio/proxy/envoy-rev.json",
            "--drain-time-s",
            "45",
            "--drain-strategy",
            "immediate",
            "--local-address-ip-version",
            "v4",
            "--file-flush-interval-msec",
            "1000",
            "--disable-hot-restart",
            "--allow-unknown-static-fields",
            "--log-format",
            "%Y-%m-%dT%T.%fZ\t%l\tenvoy %n %g:%#\t%v\tthread=%t",
            "-l",
            "warning",
            "--component-log-level",
            "misc:error",
            "--concurrency",
            "2",
        ])
        .expect("parses");
        assert_eq!(
            args.config_path,
            Some(PathBuf::from("/etc/istio/proxy/envoy-rev.json"))
        );
        assert_eq!(args.drain_time_s, Some(45));
        assert_eq!(args.drain_strategy, Some(DrainStrategy::Immediate));
        assert_eq!(args.local_address_ip_version, Some(IpVersion::V4));
        assert_eq!(args.file_flush_interval_msec, Some(1000));
        assert!(args.disable_hot_restart && args.allow_unknown_static_fields);
        assert_eq!(args.log_level, Some(LogLevel::Warn));
        assert_eq!(args.component_log_level.as_deref(), Some("misc:error"));
        assert_eq!(args.concurrency, Some(2));
        assert_eq!(args.mode, None);
    }

    #[test]
    fn flag_equals_value_is_the_same_as_flag_space_value() {
        let spaced = parse(&[
            "--config-yaml",
            "node: {id: a}",
            "--mode",
            "validate",
            "--base-id",
            "7",
        ]);
        let joined = parse(&[
            "--config-yaml=node: {id: a}",
            "--mode=validate",
            "--base-id=7",
        ]);
        assert_eq!(spaced.expect("spaced"), joined.expect("joined"));
    }

    #[test]
    fn unknown_flag_is_an_error_naming_it_with_a_usage_hint() {
        let error = parse(&["-c", "x.yaml", "--no-such-flag"]).expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::UnknownArgument);
        let text = error.render().to_string();
        assert!(
            text.contains("--no-such-flag") && text.contains("Usage: envoy"),
            "{text}"
        );
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            &["--mode", "init_only"][..],
            &["--drain-strategy", "slow"],
            &["--local-address-ip-version", "v5"],
            &["-l", "loud"],
            &["--component-log-level", "upstream"],
            &["--component-log-level", "upstream:loud"],
            &["--concurrency", "-1"],
        ] {
            assert!(parse(args).is_err(), "{args:?} accepted");
        }
    }

    #[test]
    fn flags_map_onto_the_process_settings() {
        let args =
            parse(&["--concurrency", "3", "-l", "debug", "--drain-time-s", "5"]).expect("parses");
        let StartOptions { process, run } = args.start_options();
        assert_eq!(process.processor, Some(3));
        assert_eq!(process.default_log_level, Some(LogLevel::Debug));
        assert_eq!(process.graceful_timeout, Duration::from_secs(5));
        assert_eq!(process.default_log_path.as_deref(), Some("stderr"));
        assert_eq!(run.config_path, None);
    }

    #[test]
    fn defaults_are_envoys() {
        let StartOptions { process, .. } = parse(&[]).expect("parses").start_options();
        assert_eq!(process.processor, None);
        assert_eq!(process.default_log_level, Some(LogLevel::Info));
        assert_eq!(process.graceful_timeout, Duration::from_secs(600));
    }

    #[test]
    fn only_the_given_no_op_flags_are_listed() {
        let args = parse(&[
            "--base-id",
            "1",
            "--disable-hot-restart",
            "--concurrency",
            "1",
        ])
        .expect("parses");
        assert_eq!(
            args.flags_without_effect(),
            ["--disable-hot-restart", "--base-id"]
        );
        assert!(parse(&[])
            .expect("parses")
            .flags_without_effect()
            .is_empty());
    }

    #[test]
    fn service_flags_reach_the_loader() {
        let args = parse(&[
            "--service-cluster",
            "c",
            "--service-node",
            "n",
            "--allow-unknown-static-fields",
        ])
        .expect("parses");
        let options = args.load_options();
        assert_eq!(options.service_cluster.as_deref(), Some("c"));
        assert_eq!(options.service_node.as_deref(), Some("n"));
        assert!(options.allow_unknown_static_fields);
    }

    #[test]
    fn argv0_named_envoy_is_envoy_wherever_it_lives() {
        assert!(invoked_as_envoy(&["/usr/local/bin/envoy".into()]));
        assert!(invoked_as_envoy(&["envoy".into(), "-c".into()]));
        assert!(!invoked_as_envoy(&["/usr/bin/mosn".into(), "envoy".into()]));
        assert!(!invoked_as_envoy(&[]));
    }

    #[test]
    fn without_config_path_or_yaml_loading_says_so() {
        let error = parse(&[])
            .expect("parses")
            .load()
            .expect_err("nothing to load");
        assert_eq!(
            error,
            "at least one of --config-path or --config-yaml must be given"
        );
    }
}
