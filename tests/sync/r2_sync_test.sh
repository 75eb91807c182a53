#!/usr/bin/env bash
# scripts/r2-sync.sh with the real rclone, from a bucket the real lab server
# wrote (paths pushed by the real Nix) to a mirror, both local directories
# (rclone's local backend: the same phases and calls as S3 -> R2):
#   r2_sync_test.sh NIXEDGE_SERVER_BINARY      (run from the repository root)
# After every rclone call the mirror is checked (checked_rclone.sh): no
# narinfo without its manifest and chunks, nothing of the private cache.
# Then: the mirror holds exactly the plan; a second run copies nothing; a
# cache taken off the edge leaves the mirror, narinfos before chunks; a run
# that fails half-way records it (keeping when the last success was) and
# deletes nothing; a chunk lost from the mirror comes back; a chunk the lab
# bucket lacks stops the run before any narinfo is copied; the lab server
# reports the mirror's freshness from sync/status on /metrics. Last, the
# contrast: a plain `rclone sync` of the bucket, watched while it runs,
# copies the private path's objects and lets narinfos arrive before their
# chunks.
set -euo pipefail
server=$(realpath "$1")
repo=$(pwd)
# shellcheck source=tests/lib/harness.sh
source "$repo/tests/lib/harness.sh"

lab_config
bucket=$tmp/data/bucket
mirror=$tmp/mirror
export RCLONE="$repo/tests/sync/checked_rclone.sh" CHECK_MIRROR=$mirror CHECK_FORBIDDEN=secret
export CHECK_LOG=$tmp/calls.log RCLONE_CONFIG=$tmp/rclone.conf
touch "$RCLONE_CONFIG"
unset AWS_CA_BUNDLE # rclone 1.60 refuses to start when it is set

sync() { # sync [expected exit status]
  rm -f "$CHECK_LOG" "$CHECK_LOG.count"
  local status=0
  "$repo/scripts/r2-sync.sh" "$bucket" "$mirror" 2>"$tmp/sync.err" || status=$?
  [[ $status == "${1:-0}" ]] || { cat "$tmp/sync.err" >&2; fail "r2-sync exited $status"; }
  if grep -q VIOLATION "$CHECK_LOG"; then
    cat "$CHECK_LOG" >&2
    fail "the mirror was torn between two rclone calls"
  fi
}
# The mirror holds exactly the plan's objects (and sync/status).
mirror_matches_plan() {
  tail -n +2 "$bucket/sync/plan" | cut -d' ' -f2 | sort >"$tmp/plan.keys"
  (cd "$mirror" && find . -type f ! -path ./sync/status | sed 's|^\./||' | sort) >"$tmp/mirror.keys"
  diff "$tmp/plan.keys" "$tmp/mirror.keys" >&2 || fail "the mirror is not the plan ($1)"
}
push() { # push CACHE FILE...: content-addressed paths
  local cache=$1 paths=()
  shift
  for file in "$@"; do paths+=("$(nix-store --store "$tmp/root" --add "$file")"); done
  fresh_nix_env
  nix_cmd copy --store "$tmp/root" --to "$lab_url/$cache?compression=zstd" \
    --option netrc-file "$tmp/netrc" "${paths[@]}" || fail "push to $cache"
}

step "push to the lab: an edge cache, another one, a private one"
admin cache create edge --public --edge >/dev/null
admin cache create other --public --edge >/dev/null
admin cache create secret --edge >/dev/null # private: never in the plan
printf 'machine 127.0.0.1 password %s\n' "$(admin make-token --sub ci --validity 1h --push '*' --pull '*')" >"$tmp/netrc"
mkdir -p "$tmp/files"
head -c 3000000 /dev/urandom >"$tmp/files/big" # several chunks
for name in one two three; do echo "$name $RANDOM" >"$tmp/files/$name"; done
echo "secret $RANDOM" >"$tmp/files/secret"
echo "other $RANDOM" >"$tmp/files/other"
head -c 600000 /dev/urandom >"$tmp/files/other-big"
start_lab "$tmp/server.toml"
push edge "$tmp/files/big" "$tmp/files/one" "$tmp/files/two" "$tmp/files/three"
push other "$tmp/files/other" "$tmp/files/other-big" "$tmp/files/one"
push secret "$tmp/files/secret"
grep -q "^mutable secret/" "$bucket/sync/plan" && fail "the plan lists the private cache"

step "first sync"
sync
mirror_matches_plan "first sync"
grep -qx "result ok" "$bucket/sync/status" || fail "sync/status: $(cat "$bucket/sync/status")"
curl -s "$lab_url/metrics" >"$tmp/metrics"
grep -qx "nixedge_mirror_last_sync_success 1" "$tmp/metrics" || fail "the server does not report the sync: $(grep mirror "$tmp/metrics"; cat "$bucket/sync/status")"
age=$(sed -n 's/^nixedge_mirror_age_seconds \(.*\)$/\1/p' "$tmp/metrics")
[[ $age =~ ^[0-9]+$ && $age -lt 60 ]] || fail "mirror age: '$age'"
[[ $(find "$mirror/chunks" -type f | wc -l) -gt 3 ]] || fail "too few chunks in the mirror"
cut -d' ' -f2 "$CHECK_LOG" | tr '\n' ' ' | grep -q "^cat lsf copy lsf copy" || fail "unexpected calls: $(cat "$CHECK_LOG")"

step "a second sync copies nothing new"
sync
grep -q "copied 0 chunks and manifests" "$tmp/sync.err" || fail "second run: $(cat "$tmp/sync.err")"
mirror_matches_plan "second sync"

step "a cache taken off the edge leaves the mirror, narinfos before chunks"
admin cache configure other --no-edge
sync
mirror_matches_plan "after --no-edge"
[[ -e $mirror/other ]] && [[ -n $(find "$mirror/other" -type f) ]] && fail "other's objects are still mirrored"
grep -q "deleted [1-9][0-9]* chunks and manifests" "$tmp/sync.err" || fail "no chunk deleted: $(cat "$tmp/sync.err")"
order=$(cut -d' ' -f2 "$CHECK_LOG" | tr '\n' ' ')
[[ $order == "cat lsf copy delete delete copyto copyto " ]] || fail "calls: $order"

step "a run that fails half-way deletes nothing and says so"
admin cache configure other --edge # its narinfos come back: copies and no deletions
rm -f "$CHECK_LOG" "$CHECK_LOG.count"
export CHECK_FAIL_CALL=3 # the immutable copy
sync 1
unset CHECK_FAIL_CALL
grep -qx "result failed" "$bucket/sync/status" || fail "sync/status after a failure: $(cat "$bucket/sync/status")"
grep -qx "phase copy-immutable" "$bucket/sync/status" || fail "failed phase: $(cat "$bucket/sync/status")"
grep -q "^last-success [0-9]" "$bucket/sync/status" || fail "a failed run lost last-success"
[[ -e $mirror/other ]] && [[ -n $(find "$mirror/other" -name '*.narinfo') ]] && fail "narinfos copied after the immutable copy failed"
sync
mirror_matches_plan "after the failed run"

step "a chunk lost from the mirror comes back"
lost=$(find "$mirror/chunks" -type f | head -n1)
rm "$lost" # the mirror is torn from the start here: no checks between calls
RCLONE=rclone "$repo/scripts/r2-sync.sh" "$bucket" "$mirror" 2>"$tmp/sync.err" || fail "r2-sync: $(cat "$tmp/sync.err")"
[[ -f $lost ]] || fail "the lost chunk was not copied again"
python3 "$repo/tests/sync/mirror_check.py" "$mirror" secret || fail "the mirror is still torn"
mirror_matches_plan "after a lost chunk"
step "a chunk the lab bucket lacks stops the run before any narinfo"
lost=$(find "$mirror/chunks" -type f | head -n1)
lost_key=${lost#"$mirror/"}
rm "$lost"
mv "$bucket/$lost_key" "$tmp/lost-chunk"
# Any narinfo that needs the chunk stays out of the mirror: it is taken out
# here, so that the check between calls sees whether this run copies it again.
narinfos_before=$(find "$mirror" -name '*.narinfo' | wc -l)
find "$mirror" -name '*.narinfo' -delete
RCLONE=rclone "$repo/scripts/r2-sync.sh" "$bucket" "$mirror" 2>"$tmp/sync.err" &&
  fail "r2-sync succeeded with a planned chunk missing from the lab bucket"
grep -q "are not in .*$lost_key" "$tmp/sync.err" || fail "r2-sync did not name the missing chunk: $(cat "$tmp/sync.err")"
grep -qx "result failed" "$bucket/sync/status" || fail "sync/status: $(cat "$bucket/sync/status")"
grep -qx "phase copy-immutable" "$bucket/sync/status" || fail "failed phase: $(cat "$bucket/sync/status")"
[[ -z $(find "$mirror" -name '*.narinfo') ]] || fail "narinfos copied while a planned chunk is missing"
mv "$tmp/lost-chunk" "$bucket/$lost_key"
sync
[[ $(find "$mirror" -name '*.narinfo' | wc -l) == "$narinfos_before" ]] || fail "the narinfos did not come back"
mirror_matches_plan "after a chunk missing from the lab bucket"

step "a plain one-shot rclone sync has none of these guarantees"
# The same bucket with one `rclone sync`, a transfer at a time, names in
# descending order (narinfos before chunks), watched while it runs.
plain=$tmp/plain-mirror
mkdir -p "$plain"
(
  while [[ ! -e $tmp/plain.done ]]; do
    python3 "$repo/tests/sync/mirror_check.py" "$plain" secret >>"$tmp/plain.watch" || true
    sleep 0.05
  done
) &
watcher=$!
rclone sync "$bucket" "$plain" --transfers 1 --checkers 1 --order-by name,descending --bwlimit 2M \
  2>"$tmp/plain.err" || fail "rclone sync: $(cat "$tmp/plain.err")"
touch "$tmp/plain.done"
wait "$watcher"
# The private cache has no narinfo in the bucket, but its chunks and manifest
# are there (they are global): the plan leaves them out, rclone sync does not.
tail -n +2 "$bucket/sync/plan" | cut -d' ' -f2 | sort >"$tmp/plan.keys"
(cd "$plain" && find manifests chunks -type f | sort) | comm -23 - "$tmp/plan.keys" >"$tmp/plain.extra"
grep -q '^manifests/' "$tmp/plain.extra" ||
  fail "the plain sync copied no manifest outside the plan (the private path's)"
grep -Eq "narinfo: (manifest|chunk) [0-9a-f]+ missing" "$tmp/plain.watch" ||
  fail "the watcher saw no narinfo ahead of its chunks during the plain sync"
echo "PASS"
