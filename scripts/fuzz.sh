#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 20 s each) over its corpus
# in fuzz/corpus/<target>, which grows with what libFuzzer finds.
#
# cargo fuzz needs nightly features (-Z flags); on this project's stable
# toolchain they are enabled with RUSTC_BOOTSTRAP=1. No sanitizer is used:
# the workspace forbids unsafe code, so what is hunted is panics, hangs and
# runaway memory (libFuzzer's -timeout and -rss_limit_mb).
#
#   scripts/fuzz.sh [SECONDS] [TARGET…]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(shell_parser opath_parser sid_parser token_decoding)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz (crates.io)"
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
for target in "${targets[@]}"; do
  echo "== fuzz ${target} for ${seconds} s"
  mkdir -p "fuzz/corpus/${target}"
  cargo fuzz run --sanitizer none "${target}" "fuzz/corpus/${target}" -- \
    -max_total_time="${seconds}" -timeout=5 -rss_limit_mb=2048 -max_len=8192
done
