//! `mosn`: the command line, compatible with MOSN's (`mosn start -c mosn.json`).

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod bootstrap_server;
mod control;
mod envoy_cli;

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Parser)]
#[command(name = "mosn", version = VERSION, about = "MOSN rebuilt in Rust: a modular L4/L7 proxy")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the proxy with a MOSN JSON config.
    Start {
        /// Path to the MOSN JSON config.
        #[arg(
            short = 'c',
            long = "config",
            default_value = "configs/mosn_config.json"
        )]
        config: PathBuf,
        /// Service cluster name (MOSN flag, reported to control planes; informational).
        #[arg(long = "service-cluster", short = 's')]
        service_cluster: Option<String>,
        /// Service node name (MOSN flag; informational).
        #[arg(long = "service-node", short = 'n')]
        service_node: Option<String>,
        /// Service metadata (MOSN flag; informational).
        #[arg(long = "service-meta")]
        service_meta: Vec<String>,
    },
    /// Check a config: exit 0 when it is valid, otherwise print one line per error.
    Validate {
        /// Path to the MOSN JSON config.
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
    },
    /// Re-read a running mosn's config file and apply the differences, through the
    /// admin API whose address FILE names.
    Reload {
        /// Path to the MOSN JSON config the running mosn was started with.
        #[arg(
            short = 'c',
            long = "config",
            default_value = "configs/mosn_config.json"
        )]
        config: PathBuf,
    },
    /// Stop a running mosn gracefully (SIGTERM to the PID in the config's `pid` file).
    Stop {
        /// Path to the MOSN JSON config the running mosn was started with.
        #[arg(
            short = 'c',
            long = "config",
            default_value = "configs/mosn_config.json"
        )]
        config: PathBuf,
    },
    /// Print the version.
    Version,
    /// Run with Envoy's command line (`-c BOOTSTRAP`, `--mode validate`, ...), as mosn
    /// does when its program is named `envoy`.
    Envoy {
        /// Envoy's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
}

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    if envoy_cli::invoked_as_envoy(&argv) {
        return envoy_cli::main(argv);
    }
    let cli = Cli::parse_from(argv);
    match cli.command {
        Command::Envoy { args } => envoy_cli::main(std::iter::once("envoy".into()).chain(args)),
        Command::Version => {
            println!("mosn version {VERSION}");
            ExitCode::SUCCESS
        }
        Command::Validate { config } if envoy_cli::is_bootstrap_file(&config) => {
            let args =
                envoy_cli::EnvoyArgs::for_file(&config, envoy_cli::Mode::Validate, None, None);
            envoy_cli::run(&args)
        }
        Command::Validate { config } => match load(&config) {
            Some(_) => {
                println!("{}: configuration is valid", config.display());
                ExitCode::SUCCESS
            }
            None => ExitCode::FAILURE,
        },
        Command::Reload { config } => control::reload(&config),
        Command::Stop { config } => control::stop(&config),
        Command::Start {
            config,
            service_cluster,
            service_node,
            ..
        } if envoy_cli::is_bootstrap_file(&config) => {
            let mode = envoy_cli::Mode::Serve;
            let args = envoy_cli::EnvoyArgs::for_file(&config, mode, service_cluster, service_node);
            envoy_cli::run(&args)
        }
        Command::Start { config, .. } => {
            let Some(cfg) = load(&config) else {
                return ExitCode::FAILURE;
            };
            let opts = mosn_server::RunOptions {
                version: VERSION,
                config_path: Some(config),
                xds: None,
            };
            match mosn_server::run(cfg, opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("mosn: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Loads and validates a config, printing warnings and errors to stderr.
fn load(path: &Path) -> Option<mosn_config::Config> {
    match mosn_config::load_file(path) {
        Ok(parsed) => {
            for w in &parsed.warnings {
                eprintln!("warning: {w}");
            }
            Some(parsed.config)
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            None
        }
    }
}
