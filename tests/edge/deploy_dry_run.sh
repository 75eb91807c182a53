#!/usr/bin/env bash
# `wrangler deploy --dry-run`: the Worker bundles offline, and its gzipped size
# stays under the project's 1 MB budget (the Workers free plan allows 3 MB).
set -euo pipefail
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
log=$(npx wrangler deploy --dry-run --outdir "$out" 2>&1) || { echo "$log"; exit 1; }
line=$(grep -E "Total Upload: .* gzip: " <<<"$log") || { echo "$log"; exit 1; }
echo "$line"
gzip_kib=$(sed -E 's/.*gzip: ([0-9.]+) KiB.*/\1/' <<<"$line")
ls "$out"/*nixedge-edge.wasm >/dev/null
awk -v kib="$gzip_kib" 'BEGIN { budget = 1024; if (kib + 0 <= 0 || kib + 0 > budget) exit 1;
  printf "bundle %.1f KiB gzipped = %.1f%% of the 1 MB budget, %.1f%% of the free plan limit (3 MB)\n",
    kib, 100 * kib / budget, 100 * kib / (3 * 1024) }'
