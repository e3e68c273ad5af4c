//! Links `mosn` with the functions it runs placed first and side by side, in the order of
//! `link-order.txt` (written by `bench/link_order.py` from a profiled bench run).
//!
//! Without it the code mosn runs is spread over its whole text, and because the kernel maps
//! the 64 KiB around every page fault, an idle instance kept ~4 MiB of its binary resident;
//! with it ~1 MiB. Names the binary no longer has are skipped, so a stale list only loses
//! the gain. Only where the linker is LLD, which reads `--symbol-ordering-file`: Rust's
//! default on x86_64-unknown-linux-gnu since 1.90, unless a linker is configured.

use std::{env, path::Path, process::Command};

fn main() {
    let order =
        Path::new(&env::var("CARGO_MANIFEST_DIR").expect("set by cargo")).join("link-order.txt");
    println!("cargo:rerun-if-changed={}", order.display());
    if optimized() && default_lld() && order.exists() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// Debug builds have other symbols: the list names none of them.
fn optimized() -> bool {
    env::var("OPT_LEVEL").is_ok_and(|level| level != "0")
}

/// True when rustc links this build with its bundled LLD: the target defaults to it, the
/// compiler is new enough, and neither a linker nor linker flags are configured.
fn default_lld() -> bool {
    let target_defaults = env::var("TARGET").is_ok_and(|t| t == "x86_64-unknown-linux-gnu");
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let linker_configured = env::var_os("RUSTC_LINKER").is_some()
        || ["linker", "link-self-contained", "fuse-ld"]
            .iter()
            .any(|f| flags.contains(f));
    target_defaults && !linker_configured && rustc_minor().is_some_and(|minor| minor >= 90)
}

/// The minor version of the compiler building this crate (`rustc 1.95.0 (...)` → 95).
fn rustc_minor() -> Option<u32> {
    let rustc = env::var_os("RUSTC")?;
    let out = Command::new(rustc).arg("--version").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    text.split_whitespace()
        .nth(1)?
        .split('.')
        .nth(1)?
        .parse()
        .ok()
}
