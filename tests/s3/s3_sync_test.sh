#!/usr/bin/env bash
# scripts/r2-sync.sh between two real S3 buckets (the RGW of the ctest
# fixture): the lab bucket written by nixedge-server on S3 storage (paths
# pushed by the real Nix to an edge cache and to a private one), the mirror
# a second bucket, rclone speaking SigV4 to both, as the CronJob does with
# RGW and R2:
#   s3_sync_test.sh NIXEDGE_SERVER_BINARY     (NIXEDGE_TEST_RGW_ENV: the RGW's env file)
# After every rclone call the mirror is copied out and checked (no narinfo
# without its manifest and chunks, nothing of the private cache); at the end
# the mirror holds exactly the plan, the server reports the sync on /metrics,
# and a second run copies nothing.
set -euo pipefail
server=$(realpath "$1")
repo=$(pwd)
# shellcheck source=tests/lib/harness.sh
source "$repo/tests/lib/harness.sh"
# shellcheck source=tests/s3/s3_lib.sh
source "$(dirname "$0")/s3_lib.sh"
lab_bucket=lab-$$-$RANDOM mirror_bucket=mirror-$$-$RANDOM
rgw_rclone_config
rclone mkdir "rgw:$lab_bucket" && rclone mkdir "rgw:$mirror_bucket" || fail "cannot create the buckets"

lab_config_on_s3 "$lab_bucket"

step "push to the lab on S3: an edge cache and a private one"
admin cache create edge --public --edge >/dev/null
admin cache create secret --edge >/dev/null
printf 'machine 127.0.0.1 password %s\n' "$(admin make-token --sub ci --validity 1h --push '*' --pull '*')" >"$tmp/netrc"
mkdir -p "$tmp/files"
head -c 2500000 /dev/urandom >"$tmp/files/big"
echo "small $RANDOM" >"$tmp/files/small"
echo "secret $RANDOM" >"$tmp/files/secret"
start_lab "$tmp/server.toml"
push() {
  local cache=$1 paths=()
  shift
  for file in "$@"; do paths+=("$(nix-store --store "$tmp/root" --add "$file")"); done
  fresh_nix_env
  nix_cmd copy --store "$tmp/root" --to "$lab_url/$cache?compression=zstd" \
    --option netrc-file "$tmp/netrc" "${paths[@]}" || fail "push to $cache"
}
push edge "$tmp/files/big" "$tmp/files/small"
push secret "$tmp/files/secret"

step "sync the lab bucket to the mirror bucket, checked after every rclone call"
export RCLONE="$repo/tests/sync/checked_rclone.sh" CHECK_MIRROR=$tmp/snapshot CHECK_FORBIDDEN=secret
export CHECK_MIRROR_REMOTE="rgw:$mirror_bucket" CHECK_LOG=$tmp/calls.log
mkdir -p "$CHECK_MIRROR"
"$repo/scripts/r2-sync.sh" "rgw:$lab_bucket" "rgw:$mirror_bucket" 2>"$tmp/sync.err" ||
  fail "r2-sync: $(cat "$tmp/sync.err")"
grep VIOLATION "$CHECK_LOG" >&2 && fail "the mirror was torn between two rclone calls"
[[ $(wc -l <"$CHECK_LOG") -ge 6 ]] || fail "too few rclone calls checked: $(cat "$CHECK_LOG")"

step "the mirror is the plan"
rclone cat "rgw:$lab_bucket/sync/plan" | tail -n +2 | cut -d' ' -f2 | sort >"$tmp/plan.keys"
rclone lsf -R --files-only "rgw:$mirror_bucket" | grep -v '^sync/' | sort >"$tmp/mirror.keys"
diff "$tmp/plan.keys" "$tmp/mirror.keys" >&2 || fail "the mirror bucket is not the plan"
grep -q '^chunks/' "$tmp/mirror.keys" && grep -q '^edge/.*\.narinfo$' "$tmp/mirror.keys" ||
  fail "no chunks or narinfos mirrored"
rclone cat "rgw:$lab_bucket/sync/status" | grep -qx "result ok" || fail "no successful sync/status in the lab bucket"
# The server reads sync/status at most every 10 s.
for _ in $(seq 60); do
  curl -s "$lab_url/metrics" | grep -qx "nixedge_mirror_last_sync_success 1" && break
  sleep 0.25
done
curl -s "$lab_url/metrics" | grep -qx "nixedge_mirror_last_sync_success 1" ||
  fail "the server does not report the sync from its S3 bucket"

step "a second run copies nothing"
RCLONE=rclone "$repo/scripts/r2-sync.sh" "rgw:$lab_bucket" "rgw:$mirror_bucket" 2>"$tmp/sync.err" ||
  fail "second r2-sync: $(cat "$tmp/sync.err")"
grep -q "copied 0 chunks and manifests" "$tmp/sync.err" || fail "second run: $(cat "$tmp/sync.err")"
echo "PASS"
