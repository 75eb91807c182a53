#!/usr/bin/env bash
# `make fuzz`: every libFuzzer target of the sanitizer build, one after the
# other, for SECONDS each (default 600). Prints executions and findings.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
status=0
for source in tests/fuzz/*_fuzz.cpp; do
  target=$(basename "$source" .cpp)
  corpus=tests/fuzz/corpus/${target%_fuzz}
  echo "== $target for ${seconds}s (seeds: $corpus)"
  (cd build-asan && ../tests/fuzz/run-target.sh "bin/$target" "../$corpus" "$seconds") || status=1
done
exit $status
