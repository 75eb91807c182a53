#!/usr/bin/env bash
# Runs one libFuzzer target for a while: run-target.sh BINARY SEED_DIR SECONDS
# New inputs go to a scratch dir (the committed seeds stay untouched); a crash
# leaves its input in ./fuzz-artifacts/ and fails the run.
set -euo pipefail
binary=$1 seeds=$2 seconds=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p fuzz-artifacts
"$binary" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
  -artifact_prefix="$PWD/fuzz-artifacts/$(basename "$binary")-" "$scratch" "$seeds" 2>&1 |
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE|==[0-9]+==|SUMMARY|INFO: Seed)' || true
exit "${PIPESTATUS[0]}"
