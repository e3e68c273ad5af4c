//! Envoy's command line on the built binary: `mosn envoy ...`, a symlink named `envoy`,
//! and `mosn validate`/`mosn start -c` given an Envoy bootstrap instead of a MOSN file.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::*;

/// The interop set's SotW bootstrap (ADS to a static cluster; no listeners).
fn sotw_bootstrap() -> PathBuf {
    workspace_root().join("../shared/interop/xds/envoy-sotw.yaml")
}

/// A bootstrap mosn refuses, and the message naming why.
const BAD_BOOTSTRAP: &str = "node: {id: n}\nhds_config: {api_type: GRPC}\n";
const BAD_REASON: &str = "hds_config: health discovery (HDS) is not supported by mosn";

/// Runs `program args...`: (exit code, stdout, stderr).
fn run(program: &Path, args: &[&str]) -> (i32, String, String) {
    let out = run_bounded(Command::new(program).args(args), Duration::from_secs(30));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `mosn args...`.
fn mosn(args: &[&str]) -> (i32, String, String) {
    run(Path::new(MOSN), args)
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

#[test]
fn mosn_envoy_validate_accepts_a_good_bootstrap_with_exit_0() {
    let path = sotw_bootstrap();
    let (code, stdout, stderr) = mosn(&["envoy", "--mode", "validate", "-c", utf8(&path)]);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(
        stdout.trim(),
        format!("configuration '{}' OK", path.display())
    );
}

#[test]
fn mosn_envoy_validate_refuses_a_bad_bootstrap_naming_the_field_with_exit_1() {
    let dir = TempDir::new("envoy-bad");
    let path = dir.write("bad.yaml", BAD_BOOTSTRAP);
    let (code, stdout, stderr) = mosn(&["envoy", "--mode=validate", "--config-path", utf8(&path)]);
    assert_eq!(code, 1, "stdout: {stdout}");
    let expected = format!(
        "error initializing configuration '{}': {BAD_REASON}",
        path.display()
    );
    assert_eq!(stderr.trim(), expected);
}

#[test]
fn config_yaml_alone_validates_and_is_named_so() {
    let yaml = "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 9901}}}";
    let (code, stdout, stderr) = mosn(&["envoy", "--mode", "validate", "--config-yaml", yaml]);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(stdout.trim(), "configuration '--config-yaml' OK");
}

#[test]
fn a_symlink_named_envoy_takes_envoys_command_line() {
    let dir = TempDir::new("envoy-symlink");
    let envoy = dir.file("envoy");
    std::os::unix::fs::symlink(MOSN, &envoy).expect("symlink");
    let good = sotw_bootstrap();
    let (code, stdout, stderr) = run(&envoy, &["--mode", "validate", "-c", utf8(&good)]);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(
        stdout.trim(),
        format!("configuration '{}' OK", good.display())
    );
    let bad = dir.write("bad.yaml", BAD_BOOTSTRAP);
    let (code, _, stderr) = run(&envoy, &["--mode", "validate", "-c", utf8(&bad)]);
    assert_eq!(code, 1);
    assert!(stderr.contains(BAD_REASON), "stderr: {stderr}");
}

#[test]
fn unknown_flag_fails_with_exit_1_naming_it_and_the_usage() {
    let (code, _, stderr) = mosn(&["envoy", "-c", "x.yaml", "--no-such-flag", "1"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("'--no-such-flag'"), "stderr: {stderr}");
    assert!(stderr.contains("Usage: envoy"), "stderr: {stderr}");
}

#[test]
fn mosn_validate_checks_an_envoy_bootstrap_too() {
    let dir = TempDir::new("validate-bootstrap");
    let good = sotw_bootstrap();
    let (code, stdout, stderr) = mosn(&["validate", "-c", utf8(&good)]);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(
        stdout.trim(),
        format!("configuration '{}' OK", good.display())
    );
    let bad = dir.write("bad.yaml", BAD_BOOTSTRAP);
    let (code, _, stderr) = mosn(&["validate", "-c", utf8(&bad)]);
    assert_eq!(code, 1);
    assert!(stderr.contains(BAD_REASON), "stderr: {stderr}");
}

#[test]
fn mosn_start_reads_an_envoy_bootstrap_as_one() {
    // A YAML bootstrap is no MOSN JSON: the refusal comes from the bootstrap loader.
    let dir = TempDir::new("start-bootstrap");
    let bad = dir.write("bad.yaml", BAD_BOOTSTRAP);
    let (code, _, stderr) = mosn(&["start", "-c", utf8(&bad)]);
    assert_eq!(code, 1);
    let expected = format!(
        "error initializing configuration '{}': {BAD_REASON}",
        bad.display()
    );
    assert_eq!(stderr.trim(), expected);
}
