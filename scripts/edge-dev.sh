#!/usr/bin/env bash
# `make edge-dev`: the edge Worker under `wrangler dev`, serving what the local
# lab (`make run`) would mirror to R2:
#   - reads the lab's configuration (<data dir>/server.toml, written by `make run`)
#     for its bucket directory, and its caches (`nixedge-server cache list --json`);
#   - loads the bucket into the Worker's local R2 by the lab's sync/plan
#     (scripts/edge-load-bucket.mjs): only public, edge-enabled caches; objects
#     the plan no longer lists are deleted, and the Worker's Cache API state is
#     dropped, so every run mirrors the lab as it is now;
#   - trusts, per edge cache, every key the lab holds for it (TRUSTED_KEYS);
#   - prints the nix.conf lines, then execs `wrangler dev` (whose build command
#     is `make build-wasm`) on 127.0.0.1:$EDGE_PORT. Ctrl-C stops it.
#
# Environment:
#   NIXEDGE_DATA_DIR    the lab's data directory (default ./nixedge-data)
#   NIXEDGE_SERVER      the nixedge-server binary (default build/bin/nixedge-server)
#   EDGE_PORT           the port to serve on (default 8787)
#   EDGE_STATE_DIR      wrangler's --persist-to directory (default <data dir>/edge-state;
#                       local R2 in <it>/v3/r2, the Cache API in <it>/v3/cache)
#   EDGE_DEFAULT_CACHE  the cache served at bare paths (default main if it is on
#                       the edge, else the first edge cache by name)
#   EDGE_SETUP_ONLY     when 1: load and print, but do not start wrangler dev
set -euo pipefail

data_dir=$(realpath -m "${NIXEDGE_DATA_DIR:-./nixedge-data}")
repo=$(cd "$(dirname "$0")/.." && pwd)
server=$(realpath -m "${NIXEDGE_SERVER:-$repo/build/bin/nixedge-server}")
state_dir=$(realpath -m "${EDGE_STATE_DIR:-$data_dir/edge-state}")
port=${EDGE_PORT:-8787}
config=$data_dir/server.toml
export CLOUDFLARE_CF_FETCH_ENABLED=${CLOUDFLARE_CF_FETCH_ENABLED:-false}
export WRANGLER_SEND_METRICS=${WRANGLER_SEND_METRICS:-false}

die() {
  echo "edge-dev: $*" >&2
  exit 1
}
[[ -x $server ]] || die "$server is missing; \`make edge-dev\` builds it first"
[[ -f $config ]] || die "no lab in $data_dir (no server.toml): start it once with \`make run\`"
[[ $port =~ ^[0-9]+$ ]] || die "EDGE_PORT '$port' is not a port number"
admin() { "$server" --config "$config" "$@"; }

# The bucket directory, from the configuration in effect ([storage] path).
shown=$(admin config show) || die "cannot read the configuration $config"
storage=$(awk '/^\[/ { section = $0 } section == "[storage]" && $1 == "type" { print $3 }' <<<"$shown" | tr -d "'\"")
bucket_dir=$(awk '/^\[/ { section = $0 } section == "[storage]" && $1 == "path" { sub(/^[^=]*= */, ""); print }' <<<"$shown")
bucket_dir=${bucket_dir:1:${#bucket_dir}-2} # TOML string quotes
[[ $storage == local ]] || die "the lab's storage is '$storage': only a local bucket directory can be loaded"
[[ -d $bucket_dir ]] || die "the lab's bucket directory $bucket_dir does not exist"

# TRUSTED_KEYS, DEFAULT_CACHE and the lines for Nix, from the lab's caches;
# warnings when the bucket's sync/plan lags behind them (the lab writes it
# when it drains its outbox: after each push or cache command, and at start).
caches=$(admin cache list --json) || die "cannot list the lab's caches"
describe=$(
  cat <<'JS'
const fs = require('node:fs');
const [plan, port, server, config] = process.argv.slice(1);
const caches = JSON.parse(fs.readFileSync(0, 'utf8'));
const edge = caches.filter((c) => c.on_edge);
const fail = (message) => { process.stderr.write(`edge-dev: ${message}\n`); process.exit(1); };
if (edge.length === 0) {
  const named = caches.map((c) => c.name).join(', ') || 'none';
  fail(`no cache of the lab is on the edge (caches: ${named}). Put one there with\n` +
       `  ${server} --config ${config} cache configure main --public --edge\n` +
       'and run this again.');
}
let planText = '';
try { planText = fs.readFileSync(plan, 'utf8'); } catch { fail(`no sync plan at ${plan}: start \`make run\` once (it writes it at start-up)`); }
const planned = new Set([...planText.matchAll(/^mutable ([^/\n]+)\/nix-cache-info$/gm)].map((m) => m[1]));
for (const c of edge)
  if (!planned.has(c.name))
    process.stderr.write(`edge-dev: warning: cache '${c.name}' is on the edge but not yet in sync/plan; ` +
                         `run \`${server} --config ${config} fsck --repair\`, then this again\n`);
for (const name of planned)
  if (!edge.some((c) => c.name === name))
    process.stderr.write(`edge-dev: warning: sync/plan still lists cache '${name}', which is no longer on the edge ` +
                         `(\`${server} --config ${config} fsck --repair\` rewrites it); the Worker does not serve it\n`);
const wanted = process.env.EDGE_DEFAULT_CACHE;
if (wanted && !edge.some((c) => c.name === wanted)) fail(`EDGE_DEFAULT_CACHE '${wanted}' is not a cache on the edge`);
const defaultCache = wanted || (edge.some((c) => c.name === 'main') ? 'main' : edge[0].name);
const trusted = Object.fromEntries(edge.map((c) => [c.name, c.keys.map((k) => k.public_key)]));
const url = `http://127.0.0.1:${port}`;
console.log(JSON.stringify(trusted));
console.log(defaultCache);
console.log(`substituters = ${edge.map((c) => `${url}/${c.name}`).join(' ')}`);
console.log(`trusted-public-keys = ${edge.flatMap((c) => c.keys.map((k) => k.public_key)).join(' ')}`);
console.log(`(${url} serves '${defaultCache}' at bare paths too: substituters = ${url})`);
JS
)
setup=$(EDGE_DEFAULT_CACHE=${EDGE_DEFAULT_CACHE:-} node -e "$describe" "$bucket_dir/sync/plan" "$port" "$server" "$config" <<<"$caches") ||
  exit 1
trusted_keys=$(sed -n 1p <<<"$setup")
default_cache=$(sed -n 2p <<<"$setup")

# Loading while a wrangler dev of an earlier run serves the same state would
# race it: stop when something answers on the port already.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  die "127.0.0.1:$port is in use (is \`make edge-dev\` running already? stop it, or set EDGE_PORT)"
fi
echo "edge-dev: loading $bucket_dir into $state_dir"
node "$repo/scripts/edge-load-bucket.mjs" --bucket-dir "$bucket_dir" --persist-to "$state_dir" \
  --clear-cache-api --quiet

cat <<EOF

nixedge edge (wrangler dev): the lab's edge caches at http://127.0.0.1:$port
TRUSTED_KEYS = $trusted_keys
DEFAULT_CACHE = $default_cache

To substitute through it, in nix.conf:
$(sed -n '3,4p' <<<"$setup")
$(sed -n '5p' <<<"$setup")

Run \`make edge-dev\` again after pushing to the lab to mirror its new state.

EOF

if [[ ${EDGE_SETUP_ONLY:-} == 1 ]]; then
  exit 0
fi
cd "$repo"
exec npx wrangler dev --ip 127.0.0.1 --port "$port" --persist-to "$state_dir" \
  --show-interactive-dev-session=false \
  --var "TRUSTED_KEYS:$trusted_keys" --var "DEFAULT_CACHE:$default_cache"
