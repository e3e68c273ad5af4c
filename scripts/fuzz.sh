#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (default 30 s each; FUZZ_SECONDS sets it).
# cargo-fuzz needs nightly-only compiler flags; RUSTC_BOOTSTRAP lets the stable toolchain
# accept them, so no second toolchain is needed. A crash fails the script and leaves the
# reproducer under fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${FUZZ_SECONDS:-30}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --version 0.13.2
export RUSTC_BOOTSTRAP=1
for target in $(cargo fuzz list); do
  echo "== fuzz $target for ${seconds}s"
  # Committed seeds (captured real frames) start the search, when a target has some.
  corpus=("corpus/$target")
  mkdir -p "corpus/$target"
  if [ -d "seeds/$target" ]; then corpus+=("seeds/$target"); fi
  cargo fuzz run "$target" "${corpus[@]}" -- -max_total_time="$seconds" -rss_limit_mb=2048 2>&1 | tail -n 3
  # `tail` hides the fuzzer's exit status; pipefail keeps it.
done
