#!/usr/bin/env bash
# Makes a fresh cache with the real Nix, then runs the cross-check binary on it.
set -euo pipefail
checker=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$(dirname "$0")/make-nix-cache.sh" "$dir" >"$dir.log" 2>&1 || { cat "$dir.log"; rm -f "$dir.log"; exit 1; }
rm -f "$dir.log"
NIXEDGE_NIX_CACHE_DIR=$dir "$checker"
