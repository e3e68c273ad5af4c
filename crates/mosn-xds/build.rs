//! Copies the descriptor set that `envoy-types` generated its Rust types from (every Envoy,
//! xDS, UDPA and Google proto it has) into `OUT_DIR`, so the crate can read and write
//! Envoy's JSON/YAML (proto3 JSON mapping, `Any` by `@type`) for exactly the types it
//! decodes. The crate ships the file but does not export it; `cargo metadata` finds it.
//! Comments and source positions are dropped on the way.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let cargo = std::env::var("CARGO").expect("CARGO is set for build scripts");
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    // Only this target's packages: they are all downloaded by now, so no network is needed.
    let target = std::env::var("TARGET").expect("TARGET is set for build scripts");
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
        ])
        .arg(target)
        .current_dir(&manifest_dir)
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let manifest = metadata["packages"]
        .as_array()
        .and_then(|packages| {
            packages
                .iter()
                .find(|p| p["name"] == "envoy-types")
                .and_then(|p| p["manifest_path"].as_str())
        })
        .expect("envoy-types is a dependency");
    let descriptors = PathBuf::from(manifest)
        .parent()
        .expect("a manifest has a directory")
        .join("src/generated/types.bin");
    println!("cargo:rerun-if-changed={}", descriptors.display());
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("envoy-descriptors.bin");
    let bytes = std::fs::read(&descriptors)
        .unwrap_or_else(|e| panic!("read {}: {e}", descriptors.display()));
    std::fs::write(&out, without_source_info(&bytes))
        .unwrap_or_else(|e| panic!("write {}: {e}", out.display()));
}

/// The set without its comments and source positions (`source_code_info`): they are most
/// of its size decoded, and mosn never shows them.
fn without_source_info(bytes: &[u8]) -> Vec<u8> {
    use prost::Message;
    let mut set = prost_types::FileDescriptorSet::decode(bytes).expect("a FileDescriptorSet");
    for file in &mut set.file {
        file.source_code_info = None;
    }
    set.encode_to_vec()
}
