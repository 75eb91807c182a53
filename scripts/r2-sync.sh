#!/usr/bin/env bash
# Mirrors the lab's bucket to the edge's (R2), driven by the lab's sync plan,
# in phases so that the mirror is never torn (docs/bucket-layout.md, "sync/plan"):
#
#   1. read SOURCE/sync/plan once: the snapshot this run works from (anything
#      published meanwhile waits for the next run, whole);
#   2. copy the plan's immutable objects (chunks, manifests) the mirror lacks,
#      and check that each one arrived (a key the source lacks is no error to
#      rclone; here it stops the run);
#   3. copy its mutable objects (layout marker, nix-cache-info, narinfos,
#      listings), so no narinfo arrives before what it points at;
#   4. delete from the mirror the mutable objects the plan does not list
#      (a path deleted in the lab, a cache taken off the edge or made private);
#   5. then the chunks and manifests the plan does not list, which no narinfo
#      left in the mirror reaches;
#   6. write sync/status (time, result, counts) to SOURCE, where the lab server
#      reads it for its mirror-freshness metric (and to DEST, for the record).
#
# So between any two rclone calls the mirror holds no narinfo whose manifest
# or chunks are missing, and never an object of a cache the plan leaves out
# (private caches never appear in it). Nothing is listed in SOURCE: only the
# plan says what to copy. A failure stops the run at once (later phases, the
# deletions above all, do not run), records `result failed` and exits 1.
#
# Usage: scripts/r2-sync.sh SOURCE DEST
#   SOURCE, DEST   rclone paths, e.g. lab:nixedge and r2:nixedge-mirror
# Environment:
#   RCLONE         the rclone command (default: rclone); tests put a checker here
#   RCLONE_FLAGS   extra flags for every rclone call (e.g. "--transfers 16")
# Run by the r2-sync CronJob (k8s/r2-sync-cronjob.yaml); by hand:
#   kubectl -n nixedge create job --from=cronjob/nixedge-r2-sync r2-sync-manual
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 SOURCE DEST   (rclone paths, e.g. lab:nixedge r2:nixedge-mirror)" >&2
  exit 2
fi
source_root=${1%/}
dest_root=${2%/}
read -r -a rclone <<<"${RCLONE:-rclone}"
read -r -a flags <<<"${RCLONE_FLAGS:-}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

started=$(date -u +%s)
phase=start
counts=""
log() { echo "r2-sync: $*" >&2; }
run_rclone() { "${rclone[@]}" "${flags[@]}" "$@"; }

# sync/status: one "name value" per line after a header (docs/sync.md), read
# by the lab server. last-success carries over from the previous status when
# this run fails: the mirror's age counts from the last run that succeeded.
write_status() {
  local result=$1 finished last_success
  finished=$(date -u +%s)
  if [[ $result == ok ]]; then
    last_success=$finished
  else
    last_success=$(run_rclone cat "$source_root/sync/status" 2>/dev/null | sed -n 's/^last-success \([0-9]*\)$/\1/p' || true)
  fi
  {
    echo "nixedge-sync-status 1"
    echo "started $started"
    echo "finished $finished"
    echo "result $result"
    echo "phase $phase"
    if [[ -n $last_success ]]; then echo "last-success $last_success"; fi
    if [[ -n $counts ]]; then printf '%s\n' "$counts"; fi
  } >"$work/status"
  run_rclone copyto "$work/status" "$source_root/sync/status" || log "cannot write sync/status to $source_root"
  if [[ $result == ok ]]; then
    run_rclone copyto "$work/status" "$dest_root/sync/status" || log "cannot write sync/status to $dest_root"
  fi
}

fail() {
  log "failed in phase '$phase': $*"
  write_status failed
  exit 1
}

# --- 1. the snapshot -------------------------------------------------------------
phase=plan
run_rclone cat "$source_root/sync/plan" >"$work/plan" || fail "cannot read $source_root/sync/plan"
[[ $(head -n1 "$work/plan") == "nixedge-sync-plan 1" ]] || fail "sync/plan is not a version 1 plan"
# Keys are what bucket_layout.hpp makes: no leading '/', no '.' segments, no spaces.
valid_key='^[A-Za-z0-9_-][A-Za-z0-9_./-]*$'
# One awk pass (a shell loop took seconds on 100k lines).
tail -n +2 "$work/plan" | awk -v valid="$valid_key" -v dir="$work" '
  NF != 2 || $2 !~ valid || index($2, "..") { print "bad line: " $0; exit 1 }
  $1 == "immutable" { print $2 > (dir "/immutable"); next }
  $1 == "mutable" { print $2 > (dir "/mutable"); next }
  { print "bad kind: " $1; exit 1 }' >"$work/plan-errors" || fail "sync/plan: $(head -n1 "$work/plan-errors")"
touch "$work/immutable" "$work/mutable"
n_immutable=$(wc -l <"$work/immutable")
n_mutable=$(wc -l <"$work/mutable")
log "plan: $n_immutable immutable, $n_mutable mutable objects"

# What the mirror holds now (one listing of DEST; SOURCE is never listed).
phase=list
run_rclone lsf -R --files-only "$dest_root" >"$work/dest-all" 2>"$work/lsf.err" ||
  { grep -qi "directory not found" "$work/lsf.err" && : >"$work/dest-all"; } ||
  fail "cannot list $dest_root: $(head -n3 "$work/lsf.err")"
sort -u "$work/dest-all" -o "$work/dest-all"

# --- 2. immutable objects the mirror lacks -------------------------------------------
phase=copy-immutable
sort -u "$work/immutable" | comm -23 - "$work/dest-all" >"$work/to-copy-immutable"
n_copied_immutable=$(wc -l <"$work/to-copy-immutable")
if [[ -s $work/to-copy-immutable ]]; then
  run_rclone copy "$source_root" "$dest_root" --files-from-raw "$work/to-copy-immutable" \
    --no-traverse --ignore-existing ||
    fail "copying $n_copied_immutable chunks and manifests"
  # rclone skips a listed key the source lacks and still exits 0: a chunk
  # lost from the lab bucket (or deleted by a GC this run outlived) would let
  # the narinfos that need it through. Each copied key is looked up once more.
  run_rclone lsf -R --files-only "$dest_root" --files-from-raw "$work/to-copy-immutable" \
    --no-traverse >"$work/copied-immutable" || fail "checking the copied chunks and manifests"
  sort -u "$work/copied-immutable" | comm -13 - <(sort -u "$work/to-copy-immutable") >"$work/not-copied"
  [[ -s $work/not-copied ]] && fail "$(wc -l <"$work/not-copied") chunks and manifests of the plan" \
    "are not in $source_root (first: $(head -n1 "$work/not-copied")); no narinfo is copied"
fi
log "copied $n_copied_immutable chunks and manifests"

# --- 3. mutable objects --------------------------------------------------------------
phase=copy-mutable
if [[ -s $work/mutable ]]; then
  # Without --no-traverse: rclone lists the few directories that hold them
  # (a page per 1000 keys, sizes and MD5s included) instead of a HEAD per key
  # on each side; the plan still decides what is copied.
  run_rclone copy "$source_root" "$dest_root" --files-from-raw "$work/mutable" --checksum ||
    fail "copying $n_mutable narinfos, listings and cache infos"
fi
log "copied or checked $n_mutable narinfos, listings and cache infos"

# Deletes from the mirror the objects of `listed` (a file of keys) that are
# not in `keep` (the plan's keys of that kind); sets $deleted to how many.
delete_unplanned() { # listed keep what
  comm -23 <(sort -u "$1") <(sort -u "$2") >"$work/to-delete"
  deleted=$(wc -l <"$work/to-delete")
  if [[ -s $work/to-delete ]]; then
    run_rclone delete "$dest_root" --files-from-raw "$work/to-delete" || fail "deleting $deleted $3"
  fi
  log "deleted $deleted $3"
}

# --- 4. mutable objects the plan no longer lists -------------------------------------------
# Everything outside chunks/, manifests/ and sync/ is a mutable kind.
phase=delete-mutable
grep -Ev '^(chunks|manifests|sync)/' "$work/dest-all" >"$work/dest-mutable" || true
delete_unplanned "$work/dest-mutable" "$work/mutable" "narinfos, listings and cache infos"
n_deleted_mutable=$deleted

# --- 5. chunks and manifests the plan no longer lists --------------------------------------
phase=delete-immutable
grep -E '^(chunks|manifests)/' "$work/dest-all" >"$work/dest-immutable" || true
delete_unplanned "$work/dest-immutable" "$work/immutable" "chunks and manifests"
n_deleted_immutable=$deleted

# --- 6. the record ---------------------------------------------------------------------
phase="done"
counts=$(printf 'plan-immutable %s\nplan-mutable %s\ncopied-immutable %s\ndeleted-mutable %s\ndeleted-immutable %s\n' \
  "$n_immutable" "$n_mutable" "$n_copied_immutable" "$n_deleted_mutable" "$n_deleted_immutable")
write_status ok
log "done in $(($(date -u +%s) - started)) s"
