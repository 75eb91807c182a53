#!/usr/bin/env bash
# `wrangler deploy --dry-run`: the Worker bundles offline, and its gzipped size
# stays under the Workers free plan's 3 MB limit.
set -euo pipefail
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
log=$(npx wrangler deploy --dry-run --outdir "$out" 2>&1) || { echo "$log"; exit 1; }
line=$(grep -E "Total Upload: .* gzip: " <<<"$log") || { echo "$log"; exit 1; }
echo "$line"
gzip_kib=$(sed -E 's/.*gzip: ([0-9.]+) KiB.*/\1/' <<<"$line")
ls "$out"/*nixedge-edge.wasm >/dev/null
awk -v kib="$gzip_kib" 'BEGIN { limit = 3 * 1024; if (kib + 0 <= 0 || kib + 0 > limit) exit 1;
  printf "bundle %.1f KiB gzipped = %.1f%% of the free plan limit (3 MB)\n", kib, 100 * kib / limit }'
