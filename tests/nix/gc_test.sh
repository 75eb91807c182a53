#!/usr/bin/env bash
# Garbage collection in a running lab server (SQLite, local bucket), with the
# real Nix pushing and substituting:
#   gc_test.sh NIXEDGE_SERVER_BINARY
#   1. `path delete` refuses a path another path refers to, deletes one nobody
#      does (its edge objects leave the bucket at once), and `path pin` /
#      `path info` show what GC will do;
#   2. the server's periodic GC removes an expired path that nobody read,
#      while a path read in the lab (narinfo GETs, recorded in memory and
#      written in batches) and its closure stay;
#   3. the removed path's NAR, then its chunks, leave the bucket one grace
#      period apart; the metrics count them and `gc --status` shows the run;
#   4. pushing the removed path again stores its chunks anew, and it
#      substitutes with require-sigs.
set -euo pipefail
server=$(realpath "$1")
# shellcheck source=tests/lib/harness.sh
source "$(dirname "$0")/../lib/harness.sh"
status_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
hash_of() { basename "$1" | cut -c1-32; }
bucket=$tmp/data/bucket

# GC every second; an unused NAR or chunk goes after 3 s (the sync is said to
# run every second for a second, and the edge to keep no narinfo).
lab_config '[gc]
interval = "1s"
orphan_grace = "3s"
[sync]
interval = "1s"
max_duration = "1s"
edge_narinfo_ttl = "0"
'
key=$(admin cache create main --public --edge --retention 4s)
printf 'machine 127.0.0.1 password %s\n' "$(admin make-token --sub ci --validity 1h --push main)" >"$tmp/netrc"

step "build a closure (top -> mid -> dep) and two lone paths"
cat >"$tmp/paths.nix" <<'NIX'
{ testlib }:
let inherit (import testlib) mk mid small;
in {
  top = mk "top" "mkdir $out; echo ${mid} > $out/mid";
  lone = small "lone";
  unread = mk "unread" "mkdir $out; head -c 3000000 /dev/urandom > $out/own";
}
NIX
build_paths "$tmp/paths.nix"
top=$(built_path top) lone=$(built_path lone) unread=$(built_path unread)
dep=$(nix-store --store "$tmp/root" -qR "$top" | grep -- '-nixedge-test-dep$')

push() {
  fresh_nix_env
  nix_cmd copy --store "$tmp/root" --to "$lab_url/main?compression=zstd" \
    --option netrc-file "$tmp/netrc" "$@" 2>"$tmp/push.log" || fail "push: $(cat "$tmp/push.log")"
}

step "start the server and push"
start_lab "$tmp/server.toml"
push "$top" "$lone" "$unread"
unread_manifest=$(curl -sf "$lab_url/main/$(hash_of "$unread").narinfo" | sed -n 's|^URL: nar/\(.*\)\.nar\.zst$|\1|p')
[[ -f $bucket/manifests/$unread_manifest ]] || fail "no manifest object for unread"
awk '/^chunk /{print $2}' "$bucket/manifests/$unread_manifest" | sort -u >"$tmp/unread.chunks"
[[ $(wc -l <"$tmp/unread.chunks") -ge 2 ]] || fail "unread should have several chunks"

step "path delete: refused for a referenced path, done for a lone one"
admin path delete main "$dep" 2>"$tmp/delete.err" && fail "deleting a referenced path succeeded"
grep -q "referenced by /nix/store/.*-nixedge-test-mid (delete that first, or --force" "$tmp/delete.err" ||
  fail "unclear refusal: $(cat "$tmp/delete.err")"
admin path delete main "$lone" | grep -q "^deleted $(hash_of "$lone") from cache 'main'" || fail "path delete"
admin path info main "$lone" 2>/dev/null && fail "the deleted path is still in the cache"
[[ -f $bucket/main/$(hash_of "$lone").narinfo ]] && fail "the deleted path's narinfo is still in the bucket"
admin path pin main "$dep"
admin path info main "$dep" | grep -qx "pinned: yes" || fail "path pin"
admin path unpin main "$dep"
admin path info main "$dep" | grep -qx "pinned: no" || fail "path unpin"

step "read top in the lab while its retention passes; GC removes unread, keeps top's closure"
removed=
for _ in $(seq 30); do
  [[ $(status_of "$lab_url/main/$(hash_of "$top").narinfo") == 200 ]] || fail "top is gone"
  if ! admin path info main "$unread" >/dev/null 2>&1; then removed=yes && break; fi
  sleep 0.5
done
[[ -n $removed ]] || fail "periodic GC did not remove the expired path: $(tail -5 "$tmp/server.err")"
for path in "$top" "$(nix-store --store "$tmp/root" -qR "$top")"; do
  for p in $path; do admin path info main "$p" >/dev/null || fail "$p was removed with unread"; done
done
grep -q '^nixedge-server: gc: removed 1 expired paths' "$tmp/server.err" || fail "no GC line in the log"
# From here on nobody reads top: a pin keeps its closure.
admin path pin main "$top"

step "the unused NAR, then its chunks, leave the bucket a grace period apart"
nar_gone="" chunks_gone=""
for _ in $(seq 40); do
  [[ -z $nar_gone && ! -f $bucket/manifests/$unread_manifest ]] && nar_gone=$SECONDS
  left=$(while read -r c; do if [[ -f $bucket/chunks/$c ]]; then echo "$c"; fi; done <"$tmp/unread.chunks")
  [[ -n $nar_gone && -z $left ]] && chunks_gone=$SECONDS && break
  [[ -z $nar_gone && -z $left ]] && fail "the chunks went before their NAR"
  sleep 0.5
done
[[ -n $chunks_gone ]] || fail "GC did not delete the NAR and its chunks"
metrics=$(curl -sf "$lab_url/metrics")
for m in 'nixedge_gc_paths_removed_total 1' 'nixedge_gc_nars_deleted_total [1-9]' 'nixedge_gc_chunks_deleted_total [2-9]'; do
  grep -q "^$m" <<<"$metrics" || fail "metrics lack '$m': $(grep '^nixedge_gc' <<<"$metrics")"
done
admin gc --status | grep -qx "finished .*: succeeded" || fail "gc --status: $(admin gc --status)"
[[ -f $bucket/manifests/$(curl -sf "$lab_url/main/$(hash_of "$top").narinfo" | sed -n 's|^URL: nar/\(.*\)\.nar\.zst$|\1|p') ]] ||
  fail "top's manifest was deleted"

step "push the removed path again: its chunks are stored anew, it substitutes"
push "$unread"
while read -r c; do [[ -f $bucket/chunks/$c ]] || fail "chunk $c was not stored again"; done <"$tmp/unread.chunks"
substitute "$tmp/subst" "$lab_url/main" "$key" "$unread" 2>"$tmp/subst.log" || fail "substitute: $(cat "$tmp/subst.log")"
same_path "$tmp/subst" "$unread"
echo "PASS ($SECONDS s)"
