#!/usr/bin/env bash
# The whole production chain, end to end, with the real Nix at both ends:
#   chain_test.sh NIXEDGE_SERVER_BINARY POSTGRES_STATE   (from the repository root;
#                                                         NIXEDGE_TEST_RGW_ENV: the RGW's env file)
#   1. two nixedge-server replicas on one PostgreSQL database and one S3 bucket
#      (the lab bucket, on the RGW of the ctest fixture), with a public edge
#      cache `main` and a private cache `secret` (edge flag set, so only its
#      privacy keeps it off the edge);
#   2. Nix pushes two overlapping closures of input-addressed paths (references
#      between them, a multi-chunk file of random data), one through each
#      replica at once, and a path of its own to the private cache;
#   3. scripts/r2-sync.sh copies the lab bucket to a mirror bucket on the same
#      RGW (standing in for R2), the mirror checked after every rclone call
#      (no narinfo without its manifest and chunks, nothing of `secret`);
#   4. the mirror bucket (not the lab's) is loaded into wrangler dev's local R2
#      and the edge Worker serves it, trusting the key the lab lists for `main`;
#   5. a fresh store substitutes both closures through the edge with require-sigs
#      and only that key: same trees, same NarHashes; the private path is 404;
#   6. GC: `side` expires (the rest is pinned or referenced) and goes from the
#      lab; the next sync takes its narinfo from the mirror but keeps its
#      manifest and chunks for the grace period (an edge may still serve the
#      narinfo from its cache); after the grace a second GC deletes the NAR
#      from the lab bucket and the sync after it takes it and its chunks from
#      the mirror; a grace later a third GC deletes the chunks from the lab
#      bucket. The edge then serves `top`'s closure, whole, and not `side`.
# The helpers (push, run_sync, reload_edge, substitute_from_edge) are meant for
# more steps appended at the end: later states of the lab, synced and served again.
set -euo pipefail
server=$(realpath "$1")
repo=$(pwd)
# shellcheck source=tests/lib/harness.sh
source "$repo/tests/lib/harness.sh"
# shellcheck source=tests/s3/s3_lib.sh
source "$(dirname "$0")/s3_lib.sh"
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
status_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
hash_of() { basename "$1" | cut -c1-32; }

lab_bucket=chain-lab-$$-$RANDOM mirror_bucket=chain-mirror-$$-$RANDOM
rgw_rclone_config
for bucket in "$lab_bucket" "$mirror_bucket"; do rclone mkdir "rgw:$bucket" || fail "cannot create bucket $bucket"; done
lab_config_on_s3 "$lab_bucket"
# GC by hand (gc --once) with a grace period of seconds: the sync "runs every
# second for at most a second" and the edge "keeps narinfos a second", so 4 s
# is enough.
cat >>"$tmp/server.toml" <<'TOML'
[gc]
interval = "0"
orphan_grace = "4s"
[sync]
interval = "1s"
max_duration = "1s"
edge_narinfo_ttl = "1s"
TOML
use_postgres_database "$2" "nixedge_chain_$$"

step "two replicas on one PostgreSQL database and the lab bucket"
main_key=$(admin cache create main --public --edge)
admin cache create secret --edge >/dev/null
printf 'machine 127.0.0.1 password %s\n' "$(admin make-token --sub ci --validity 1h --push '*' --pull '*')" >"$tmp/netrc"
start_lab "$tmp/server.toml"
replica1=$lab_url
start_replica server2
replica2=$replica_url

step "build two overlapping closures and a private path with the real Nix"
# dep (a 6 MB random file: several chunks) is in both closures:
# top -> mid -> dep, and side -> dep (side has a 3 MB file of its own).
cat >"$tmp/paths.nix" <<'NIX'
{ testlib }:
let inherit (import testlib) mk dep mid small;
in {
  top = mk "top" "mkdir $out; echo ${mid} ${dep} > $out/refs";
  side = mk "side" "mkdir $out; ln -s ${dep}/big $out/big; head -c 3000000 /dev/urandom > $out/own";
  private = small "private";
}
NIX
build_paths "$tmp/paths.nix"
top=$(built_path top) side=$(built_path side) private=$(built_path private)
mapfile -t closure_top < <(nix-store --store "$tmp/root" -qR "$top")
mapfile -t closure_side < <(nix-store --store "$tmp/root" -qR "$side")
mapfile -t public_paths < <(printf '%s\n' "${closure_top[@]}" "${closure_side[@]}" | sort -u)
[[ ${#closure_top[@]} -eq 3 && ${#closure_side[@]} -eq 2 && ${#public_paths[@]} -eq 4 ]] ||
  fail "unexpected closures: ${closure_top[*]} / ${closure_side[*]}"

push() { # push URL CACHE PATH...: nix copy from $tmp/root, a client cache of its own
  local url=$1 cache=$2 home
  shift 2
  home=$(mktemp -d "$tmp/client.XXXX")
  HOME=$home XDG_CACHE_HOME=$home/cache nix_cmd copy --store "$tmp/root" \
    --to "$url/$cache?compression=zstd" --option netrc-file "$tmp/netrc" "$@"
}

step "push one closure through each replica at once, a private path through replica 2"
push "$replica1" main "$top" >"$tmp/push1.log" 2>&1 &
push1=$!
push "$replica2" main "$side" >"$tmp/push2.log" 2>&1 &
push2=$!
wait "$push1" || fail "the push through replica 1 failed: $(tail -5 "$tmp/push1.log")"
wait "$push2" || fail "the push through replica 2 failed: $(tail -5 "$tmp/push2.log")"
push "$replica2" secret "$private" >"$tmp/push3.log" 2>&1 || fail "the private push failed: $(tail -5 "$tmp/push3.log")"
for log in "$tmp/server.err" "$tmp/server2.err"; do
  grep -q '"route":"nar-upload".*"status":200' "$log" || fail "a replica took no NAR upload ($log)"
done
for path in "${public_paths[@]}"; do
  for url in "$replica1" "$replica2"; do
    [[ $(status_of "$url/main/$(hash_of "$path").narinfo") == 200 ]] || fail "$url does not serve $path"
  done
done

# run_sync: scripts/r2-sync.sh from the lab bucket to the mirror bucket, with
# rclone through tests/sync/checked_rclone.sh (the mirror copied out and checked
# after every call); then the mirror holds exactly the lab's current sync/plan.
sync_runs=0
run_sync() {
  sync_runs=$((sync_runs + 1))
  local calls=$tmp/sync-$sync_runs.calls
  mkdir -p "$tmp/check-mirror"
  RCLONE="$repo/tests/sync/checked_rclone.sh" CHECK_MIRROR=$tmp/check-mirror CHECK_FORBIDDEN=secret \
    CHECK_MIRROR_REMOTE="rgw:$mirror_bucket" CHECK_LOG=$calls \
    "$repo/scripts/r2-sync.sh" "rgw:$lab_bucket" "rgw:$mirror_bucket" 2>"$tmp/sync-$sync_runs.err" ||
    fail "r2-sync run $sync_runs: $(cat "$tmp/sync-$sync_runs.err")"
  grep VIOLATION "$calls" >&2 && fail "sync run $sync_runs tore the mirror between two rclone calls"
  [[ $(wc -l <"$calls") -ge 4 ]] || fail "too few rclone calls checked: $(cat "$calls")"
  rclone cat "rgw:$lab_bucket/sync/plan" | tail -n +2 | cut -d' ' -f2 | sort >"$tmp/plan.keys"
  rclone lsf -R --files-only "rgw:$mirror_bucket" | grep -v '^sync/' | sort >"$tmp/mirror.keys"
  diff "$tmp/plan.keys" "$tmp/mirror.keys" >&2 || fail "after sync run $sync_runs the mirror is not the plan"
}

# reload_edge: the Worker stopped, its local R2 made what the mirror bucket holds
# now (copied to $tmp/mirror, loaded by scripts/edge-load-bucket.mjs, which also
# drops the Worker's Cache API state), the Worker started again. The loader
# loads a bucket directory by its sync/plan, and only the lab bucket has one:
# the mirror's plan is its own listing, so the edge serves the mirror as it is.
edge_port=$(free_port)
edge=http://127.0.0.1:$edge_port
reload_edge() {
  stop_edge
  rclone sync "rgw:$mirror_bucket" "$tmp/mirror" || fail "cannot copy the mirror bucket"
  (cd "$tmp/mirror" && find . -type f -printf '%P\n') | grep -v '^sync/' | sort >"$tmp/edge.keys"
  mkdir -p "$tmp/mirror/sync"
  {
    echo "nixedge-sync-plan 1"
    grep -E '^(chunks|manifests)/' "$tmp/edge.keys" | sed 's/^/immutable /'
    grep -Ev '^(chunks|manifests)/' "$tmp/edge.keys" | sed 's/^/mutable /'
  } >"$tmp/mirror/sync/plan"
  node "$repo/scripts/edge-load-bucket.mjs" --bucket-dir "$tmp/mirror" --persist-to "$tmp/edge-state" \
    --clear-cache-api --quiet >"$tmp/load.out" || fail "edge-load-bucket"
  node "$repo/tests/edge/local_r2.mjs" "$tmp/edge-state" list | cut -d' ' -f1 | sort >"$tmp/r2.keys"
  diff "$tmp/edge.keys" "$tmp/r2.keys" >&2 || fail "local R2 does not hold exactly the mirror"
  start_edge "$edge_port" "$tmp/edge-state" --var "TRUSTED_KEYS:$trusted_keys" --var DEFAULT_CACHE:main
}

# substitute_from_edge STORE PATH...: through the edge's `main`, require-sigs,
# only main's key; each path of the closures then as built.
substitute_from_edge() {
  local store=$1 path
  shift
  substitute "$store" "$edge/main" "$main_key" "$@" 2>"$tmp/subst.log" ||
    fail "substitution through the edge: $(cat "$tmp/subst.log")"
  for path in $(nix-store --store "$tmp/root" -qR "$@"); do same_path "$store" "$path"; done
}

step "sync the lab bucket to the mirror bucket"
run_sync
cat "$tmp/sync-1.err"
grep -q '^chunks/' "$tmp/mirror.keys" || fail "no chunks mirrored"
for path in "${public_paths[@]}"; do
  grep -qx "main/$(hash_of "$path").narinfo" "$tmp/mirror.keys" || fail "$path is not in the mirror"
done
grep -q '^secret/' "$tmp/mirror.keys" && fail "the private cache reached the mirror"
# What stays in the lab: exactly the private path's manifest and the chunks it
# lists (its 5000 random bytes share none with the public paths).
rclone lsf -R --files-only "rgw:$lab_bucket" | grep -E '^(chunks|manifests)/' | sort >"$tmp/lab.keys"
mapfile -t lab_only < <(comm -23 "$tmp/lab.keys" "$tmp/mirror.keys")
[[ ${#lab_only[@]} -eq 2 && ${lab_only[0]} == chunks/* && ${lab_only[1]} == manifests/* ]] ||
  fail "expected one chunk and one manifest left in the lab only, got: ${lab_only[*]}"
rclone cat "rgw:$lab_bucket/${lab_only[1]}" >"$tmp/private.manifest"
grep -qx "nar-hash $(nix-store --store "$tmp/root" -q --hash "$private")" "$tmp/private.manifest" ||
  fail "the manifest left in the lab is not the private path's"
grep -q "^chunk ${lab_only[0]#chunks/} " "$tmp/private.manifest" || fail "the chunk left in the lab is not the private path's"

step "load the mirror into the edge's local R2, start the Worker"
trusted_keys=$(admin cache list --json | jq -c '[.[] | select(.on_edge) | {(.name): [.keys[].public_key]}] | add')
[[ $trusted_keys == "{\"main\":[\"$main_key\"]}" ]] || fail "TRUSTED_KEYS from the lab: $trusted_keys"
reload_edge
curl -sf "$edge/main/nix-cache-info" | cmp - "$tmp/mirror/main/nix-cache-info" || fail "/main/nix-cache-info"

step "a fresh store substitutes both closures through the edge"
substitute_from_edge "$tmp/subst" "$top"
substitute_from_edge "$tmp/subst" "$side"
fresh_nix_env
nix_cmd path-info --store "$tmp/subst" --sigs "$top" | grep -q "${main_key%%:*}:" || fail "no main signature on $top"

step "the private path is not served by the edge"
ph=$(hash_of "$private")
for url in "$edge/secret/$ph.narinfo" "$edge/secret/nix-cache-info" "$edge/main/$ph.narinfo" "$edge/$ph.narinfo"; do
  [[ $(status_of "$url") == 404 ]] || fail "$url is not 404"
done
[[ $(status_of -H "Authorization: Bearer $(admin make-token --sub t --validity 1h --pull '*')" \
  "$replica1/secret/$ph.narinfo") == 200 ]] || fail "the lab does not serve the private path"
substitute "$tmp/subst" "$edge/secret" "$main_key" "$private" 2>/dev/null && fail "the private path came through the edge"
nix-store --store "$tmp/subst" --check-validity "$private" 2>/dev/null && fail "the private path is valid in the store"
step "GC: side expires, everything else is pinned or referenced"
sh=$(hash_of "$side")
side_manifest=$(curl -sf "$replica1/main/$sh.narinfo" | sed -n 's|^URL: nar/\(.*\)\.nar\.zst$|\1|p')
[[ -n $side_manifest ]] || fail "no manifest in side's narinfo"
rclone cat "rgw:$lab_bucket/manifests/$side_manifest" | awk '/^chunk /{print "chunks/" $2}' | sort -u >"$tmp/side.chunks"
[[ -s $tmp/side.chunks ]] || fail "side's manifest lists no chunks"
admin cache configure main --retention 1s >/dev/null
admin path pin main "$top"
sleep 2
admin gc --once >"$tmp/gc1.out" 2>"$tmp/gc1.err" || fail "gc: $(cat "$tmp/gc1.err")"
# top is pinned (so not expired); mid and dep are expired but top needs them.
[[ $(cat "$tmp/gc1.out") == "removed 1 expired paths (kept: 2 referenced by a kept path), 0 NARs, 0 chunks"* ]] ||
  fail "first GC: $(cat "$tmp/gc1.out")"
admin path info main "$side" 2>/dev/null && fail "side is still in the cache"
rclone lsf -R --files-only "rgw:$lab_bucket" >"$tmp/lab-after-gc1.keys"
grep -qx "main/$sh.narinfo" "$tmp/lab-after-gc1.keys" && fail "side's narinfo is still in the lab bucket"
grep -qx "manifests/$side_manifest" "$tmp/lab-after-gc1.keys" || fail "side's manifest went before its grace period"

step "the next sync takes side's narinfo from the mirror, keeps its NAR for the grace period"
run_sync
grep -qx "main/$sh.narinfo" "$tmp/mirror.keys" && fail "side's narinfo is still in the mirror"
grep -qx "manifests/$side_manifest" "$tmp/mirror.keys" || fail "side's manifest left the mirror within the grace"
comm -23 "$tmp/side.chunks" "$tmp/mirror.keys" | grep -q . && fail "side's chunks left the mirror within the grace"

step "after the grace period GC deletes side's NAR, then the sync takes it and its chunks from the mirror"
sleep 5
admin gc --once >"$tmp/gc2.out" 2>"$tmp/gc2.err" || fail "gc: $(cat "$tmp/gc2.err")"
[[ $(cat "$tmp/gc2.out") == "removed 0 expired paths"*", 1 NARs, 0 chunks"* ]] || fail "second GC: $(cat "$tmp/gc2.out")"
rclone lsf -R --files-only "rgw:$lab_bucket" >"$tmp/lab-after-gc2.keys"
grep -qx "manifests/$side_manifest" "$tmp/lab-after-gc2.keys" && fail "side's manifest is still in the lab bucket"
run_sync
grep -qx "manifests/$side_manifest" "$tmp/mirror.keys" && fail "side's manifest is still in the mirror"
comm -12 "$tmp/side.chunks" "$tmp/mirror.keys" | grep -q . && fail "side's chunks are still in the mirror"

step "a grace period later GC deletes side's chunks (an upload may have been about to use them)"
sleep 5
admin gc --once >"$tmp/gc3.out" 2>"$tmp/gc3.err" || fail "gc: $(cat "$tmp/gc3.err")"
side_chunks=$(wc -l <"$tmp/side.chunks")
[[ $(cat "$tmp/gc3.out") == "removed 0 expired paths"*", 0 NARs, $side_chunks chunks"* ]] ||
  fail "third GC (side has $side_chunks chunks): $(cat "$tmp/gc3.out")"
rclone lsf -R --files-only "rgw:$lab_bucket" | sort >"$tmp/lab-after-gc3.keys"
comm -12 "$tmp/side.chunks" "$tmp/lab-after-gc3.keys" | grep -q . && fail "side's chunks are still in the lab bucket"

step "the edge serves top's closure whole, and not side"
reload_edge
[[ $(status_of "$edge/main/$sh.narinfo") == 404 ]] || fail "the edge still serves side"
substitute_from_edge "$tmp/subst-after-gc" "$top"
echo "PASS ($SECONDS s)"
