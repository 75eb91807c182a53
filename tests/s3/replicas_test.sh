#!/usr/bin/env bash
# Two nixedge-server replicas sharing one PostgreSQL database and one S3
# bucket (the RGW and PostgreSQL of the ctest fixtures), as the lab runs
# behind a Kubernetes Service:
#   replicas_test.sh NIXEDGE_SERVER_BINARY POSTGRES_STATE   (NIXEDGE_TEST_RGW_ENV: the RGW's env file)
# The real Nix pushes two overlapping sets of paths at the same time, one
# through each replica: the same big NAR through both, two big NARs that
# share most of their chunks, and small paths pushed through both. Then:
# both pushes succeed; `fsck --verify-content` finds no difference between
# the database and the bucket (every chunk stored once and intact, every
# manifest and edge object as the database says); each replica serves every
# path, and a fresh store substitutes them all through the other replica
# with require-sigs.
set -euo pipefail
server=$(realpath "$1")
repo=$(pwd)
# shellcheck source=tests/lib/harness.sh
source "$repo/tests/lib/harness.sh"
# shellcheck source=tests/s3/s3_lib.sh
source "$(dirname "$0")/s3_lib.sh"

bucket=replicas-$$-$RANDOM
rgw_rclone_config
rclone mkdir "rgw:$bucket" || fail "cannot create bucket $bucket"

lab_config_on_s3 "$bucket"
use_postgres_database "$2" "nixedge_replicas_$$"

step "two replicas on one database and one bucket"
admin cache create main --public --edge >"$tmp/main.pk"
printf 'machine 127.0.0.1 password %s\n' "$(admin make-token --sub ci --validity 1h --push '*' --pull '*')" >"$tmp/netrc"
start_lab "$tmp/server.toml"
replica1=$lab_url
start_replica server2
replica2=$replica_url

step "overlapping pushes through both replicas at once"
mkdir -p "$tmp/files"
head -c 4000000 /dev/urandom >"$tmp/base"
cp "$tmp/base" "$tmp/files/same-big"                          # one NAR, pushed through both
{ cat "$tmp/base"; echo one; } >"$tmp/files/variant-one"      # two NARs sharing most chunks
{ cat "$tmp/base"; echo two; } >"$tmp/files/variant-two"
for i in $(seq 8); do echo "small $i $RANDOM" >"$tmp/files/small-$i"; done
add() { nix-store --store "$tmp/root" --add "$tmp/files/$1"; }
set_one=("$(add same-big)" "$(add variant-one)")
set_two=("$(add same-big)" "$(add variant-two)")
for i in 1 2 3 4 5 6; do set_one+=("$(add "small-$i")"); done
for i in 3 4 5 6 7 8; do set_two+=("$(add "small-$i")"); done
push() { # push URL PATH...
  local url=$1 home
  shift
  home=$(mktemp -d "$tmp/client.XXXX")
  HOME=$home XDG_CACHE_HOME=$home/cache nix_cmd copy --store "$tmp/root" \
    --to "$url/main?compression=zstd" --option netrc-file "$tmp/netrc" "$@"
}
push "$replica1" "${set_one[@]}" >"$tmp/push1.log" 2>&1 &
push1=$!
push "$replica2" "${set_two[@]}" >"$tmp/push2.log" 2>&1 &
push2=$!
wait "$push1" || fail "the push through replica 1 failed: $(tail -5 "$tmp/push1.log")"
wait "$push2" || fail "the push through replica 2 failed: $(tail -5 "$tmp/push2.log")"

for log in "$tmp/server.err" "$tmp/server2.err"; do
  uploads=$(grep -c '"route":"nar-upload".*"status":200' "$log" || true)
  [[ $uploads -ge 4 ]] || fail "a replica took only $uploads NAR uploads ($log)"
done

step "the database and the bucket agree"
admin fsck --verify-content >"$tmp/fsck.out" 2>"$tmp/fsck.err" ||
  fail "fsck found differences: $(cat "$tmp/fsck.out" "$tmp/fsck.err")"
grep -q "no differences" "$tmp/fsck.out" || fail "fsck: $(cat "$tmp/fsck.out")"
mapfile -t all < <(printf '%s\n' "${set_one[@]}" "${set_two[@]}" | sort -u)
[[ ${#all[@]} -eq 11 ]] || fail "expected 11 distinct paths, got ${#all[@]}"
for path in "${all[@]}"; do
  hash=$(basename "$path" | cut -c1-32)
  for url in "$replica1" "$replica2"; do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$url/main/$hash.narinfo") == 200 ]] ||
      fail "$url does not serve $path"
  done
done
# One object per chunk the database knows, and no more.
chunks_in_bucket=$(rclone lsf "rgw:$bucket/chunks" | wc -l)
manifests_in_bucket=$(rclone lsf "rgw:$bucket/manifests" | wc -l)
[[ $manifests_in_bucket -eq 11 ]] || fail "$manifests_in_bucket manifests in the bucket for 11 distinct NARs"
[[ $chunks_in_bucket -gt 3 ]] || fail "only $chunks_in_bucket chunks in the bucket"

step "a fresh store substitutes everything through the other replica"
fresh_nix_env
nix_cmd copy --from "$replica2/main" --to "$tmp/fresh" --option require-sigs true \
  --option trusted-public-keys "$(cat "$tmp/main.pk")" "${set_one[@]}" ||
  fail "substituting replica 1's pushes through replica 2"
nix_cmd copy --from "$replica1/main" --to "$tmp/fresh" --option require-sigs true \
  --option trusted-public-keys "$(cat "$tmp/main.pk")" "${set_two[@]}" ||
  fail "substituting replica 2's pushes through replica 1"
for path in "${all[@]}"; do
  cmp -s "$tmp/root$path" "$tmp/fresh$path" || fail "$path differs after substitution"
done
echo "PASS"
