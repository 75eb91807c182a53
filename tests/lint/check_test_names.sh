#!/usr/bin/env bash
# catch_discover_tests splits a Catch2 test name at ';' (a CMake list
# separator): the pieces register as tests that match nothing and "pass"
# without running anything. No test name may contain one.
set -euo pipefail
cd "$(dirname "$0")/../.."
if bad=$(git ls-files '*.cpp' | xargs grep -n 'TEST_CASE("[^"]*;'); then
  echo "test names with ';' (rename them):" >&2
  echo "$bad" >&2
  exit 1
fi
