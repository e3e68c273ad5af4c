#!/usr/bin/env bash
# The project's test command: installs the real peers the tests use, then runs every
# test of the workspace (unit tests and end-to-end tests with real processes), and the
# end-to-end tests once more with every mosn under `io_model: work_stealing` (the first
# run uses the default, thread-per-core).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-peers.sh
cargo test --workspace --locked "$@"
MOSN_TEST_IO_MODEL=work_stealing cargo test -p mosn --locked "$@"
