#!/usr/bin/env bash
# scripts/edge-dev.sh (`make edge-dev`) on a lab made by scripts/run-lab.sh in
# a temp data directory:
#   edge_dev_test.sh NIXEDGE_SERVER_BINARY      (run from the repository root)
# Checks what it says when no cache is on the edge and when the lab has not
# written its sync plan yet; then, with `main` on the edge and a path pushed
# by the real Nix, that the Worker it starts serves the lab's objects under
# /main/ and bare, trusting main's key (the nix.conf lines it prints), and
# that a second run after another push mirrors the new path.
set -euo pipefail
server=$(realpath "$1")
repo=$(pwd)
# shellcheck source=tests/lib/harness.sh
source "$repo/tests/lib/harness.sh"
unset NIXEDGE_TOKEN_HS256_SECRET NIXEDGE_TOKEN_HS256_SECRET_BASE64 NIXEDGE_CONFIG NIXEDGE_URL \
  EDGE_STATE_DIR EDGE_DEFAULT_CACHE
export NIXEDGE_SERVER=$server NIXEDGE_DATA_DIR=$tmp/data NIXEDGE_LISTEN=127.0.0.1:0
export HOME=$tmp/home XDG_CACHE_HOME=$tmp/home/cache
data=$tmp/data
edge_dev() { "$repo/scripts/edge-dev.sh"; }

NIXEDGE_RUN_SETUP_ONLY=1 "$repo/scripts/run-lab.sh" >/dev/null || fail "run-lab.sh"
admin() { "$server" --config "$data/server.toml" "$@"; }
# run-lab.sh's server, until it has written what is pending (at start-up, after a push).
serve() {
  NIXEDGE_TOKEN_HS256_SECRET=$(<"$data/token-secret") start_lab "$data/server.toml"
  lab=$lab_url
}
push_new_path() { # a content-addressed path with the given text, pushed to main
  printf '%s\n' "$1" >"$tmp/$1"
  local p
  p=$(nix-store --store "$tmp/root" --add "$tmp/$1")
  nix --extra-experimental-features nix-command copy --store "$tmp/root" --option substituters '' \
    --to "$lab/main?compression=zstd" --option netrc-file "$data/netrc" "$p" 2>/dev/null || fail "push $1"
  basename "$p" | cut -c1-32
}

echo "== no cache on the edge"
EDGE_SETUP_ONLY=1 edge_dev >/dev/null 2>"$tmp/err" && fail "edge-dev ran with no edge cache"
grep -q "cache configure main --public --edge" "$tmp/err" || fail "unexpected message: $(cat "$tmp/err")"

echo "== main on the edge: the command writes its sync plan entry at once"
admin cache configure main --edge
grep -qx "mutable main/nix-cache-info" "$data/bucket/sync/plan" || fail "cache configure did not update sync/plan"
echo "== no sync plan"
mv "$data/bucket/sync/plan" "$tmp/plan"
EDGE_SETUP_ONLY=1 edge_dev >/dev/null 2>"$tmp/err" && fail "edge-dev ran without a sync plan"
grep -q "no sync plan" "$tmp/err" || fail "unexpected message: $(cat "$tmp/err")"
mv "$tmp/plan" "$data/bucket/sync/plan"

echo "== a path pushed, the Worker serves it"
serve
first=$(push_new_path first)
stop_server
key=$(admin cache info main --public-key)
port=$(free_port)
EDGE_PORT=$port setsid "$repo/scripts/edge-dev.sh" >"$tmp/edge.log" 2>&1 &
edge_pid=$!
edge=http://127.0.0.1:$port
for _ in $(seq 300); do
  curl -s -o /dev/null "$edge/" && break
  kill -0 "$edge_pid" 2>/dev/null || fail "edge-dev exited"
  sleep 0.1
done
grep -qxF "substituters = $edge/main" "$tmp/edge.log" || fail "no substituters line"
grep -qxF "trusted-public-keys = $key" "$tmp/edge.log" || fail "no trusted-public-keys line"
grep -qxF "TRUSTED_KEYS = {\"main\":[\"$key\"]}" "$tmp/edge.log" || fail "no TRUSTED_KEYS line"
[[ -d $data/edge-state/v3/r2 ]] || fail "no local R2 in <data dir>/edge-state"
for url in "$edge/main/$first.narinfo" "$edge/$first.narinfo"; do
  curl -sf "$url" | cmp - "$data/bucket/main/$first.narinfo" || fail "$url"
done
curl -sf "$edge/nix-cache-info" | cmp - "$data/bucket/main/nix-cache-info" || fail "bare nix-cache-info"
stop_edge

echo "== another push, a second run mirrors it"
serve
second=$(push_new_path second)
stop_server
EDGE_SETUP_ONLY=1 EDGE_PORT=$port edge_dev >"$tmp/second.log" 2>&1 || fail "second run: $(cat "$tmp/second.log")"
grep -q ' copied (.*), [1-9][0-9]* already there, 0 deleted' "$tmp/second.log" ||
  fail "the second load: $(cat "$tmp/second.log")"
[[ ! -d $data/edge-state/v3/cache ]] || fail "the Cache API state was kept"
node "$repo/tests/edge/local_r2.mjs" "$data/edge-state" get "main/$second.narinfo" |
  cmp - "$data/bucket/main/$second.narinfo" || fail "the second path is not in local R2"
echo PASS
