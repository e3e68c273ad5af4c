#!/usr/bin/env bash
# Builds Tongsuo (Ant's OpenSSL fork: TLCP and the TLS 1.3 ShangMi suites), the
# reference peer of the national-cryptography tests, from the crates.io
# `tongsuo-src` crate's source. The build takes ~12 minutes on two cores, so the
# result lives outside the clone in a cache keyed by version and is reused.
# Prints the path of the `tongsuo` binary (an `openssl` app built with NTLS).
set -euo pipefail
crate_version="850.1.1+8.5.0"
tongsuo_version="${crate_version#*+}"
cache="${MOSN_RS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mosn-rs}/tongsuo-$tongsuo_version"
bin="$cache/bin/tongsuo"
if [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -q "Tongsuo $tongsuo_version"; then
  echo "$bin"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Let cargo fetch the crate (it knows the registry and its mirrors).
mkdir -p "$work/fetch/src"
cat > "$work/fetch/Cargo.toml" <<TOML
[package]
name = "fetch-tongsuo"
version = "0.0.0"
edition = "2021"
[dependencies]
tongsuo-src = "=$crate_version"
TOML
touch "$work/fetch/src/lib.rs"
(cd "$work/fetch" && cargo fetch -q >&2)
src="$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -type d -name "tongsuo-src-$crate_version" | head -1)"
[ -n "$src" ] || { echo "tongsuo-src $crate_version not found after cargo fetch" >&2; exit 1; }
cp -r "$src/tongsuo" "$work/tongsuo"
cd "$work/tongsuo"
./config enable-ntls no-shared no-tests >&2
make -j"$(nproc)" build_sw >&2
mkdir -p "$cache/bin"
cp apps/openssl "$bin.tmp" && mv "$bin.tmp" "$bin"
cp apps/openssl.cnf "$cache/openssl.cnf"
echo "$bin"
