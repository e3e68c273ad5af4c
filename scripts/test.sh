#!/usr/bin/env bash
# The project's test command: installs the real peers the tests use, then runs every
# test of the workspace (unit tests and end-to-end tests with real processes).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-peers.sh
cargo test --workspace --locked "$@"
