#!/usr/bin/env bash
# The plan-driven sync under load: pushes, path deletes and GC in the lab while
# scripts/r2-sync.sh runs, and the real Nix substituting through the edge
# Worker from the mirror after every round:
#   torn_sync_test.sh NIXEDGE_SERVER_BINARY      (run from the repository root;
#                                                 NIXEDGE_SYNC_ROUNDS: rounds, default 3)
# One lab server (SQLite, local bucket) with a public edge cache `edge`
# (retention of 45 s) and a private cache `secret` (edge flag set, so only
# its privacy keeps it off the edge). GC runs every second in the server and
# by hand, with an orphan grace of 42 s (the shortest the server allows for
# the sync timing it is told, plus 1 s): it really deletes NARs and chunks
# during the run. The sync runs in a loop, like its CronJob, into a mirror
# directory, the mirror checked after every rclone call (checked_rclone.sh:
# no narinfo without its manifest and chunks, nothing of `secret`) and after
# every run (no manifest or chunk of a private path).
# Each round, while the loop keeps syncing: several `nix copy` at once push
# new input-addressed paths (multi-chunk ones sharing chunks with earlier
# rounds, a closure over a pinned path, small ones) to `edge` and a path to
# `secret`; a path deleted the round before is pushed again; `path delete`
# removes paths of the round before and the rest of them is left to retention;
# `gc --once` runs. Then the mirror, once a run that began after the traffic
# has finished, is loaded into wrangler dev's local R2 and a fresh store
# substitutes EVERY path it advertises through the Worker (require-sigs, only
# `edge`'s key): same trees and NarHashes as built. A run slower than the
# server was told may find a planned chunk already collected: it must stop
# before any narinfo (counted, not failed). After the rounds, one more run
# during which the plan did not change leaves the mirror equal to that plan.
# Last, the contrast: a plain `rclone sync` of the bucket, while a round of
# the same traffic runs, is caught by the same checker: with rclone's own
# ordering made strict (--check-first --order-by name,descending --transfers 1:
# narinfos before chunks) and stopped where the chunks begin (--max-transfer,
# soft cutoff), the mirror it leaves holds narinfos whose chunks are not
# there; finished, it holds the private paths' manifests and chunks.
set -euo pipefail
server=$(realpath "$1")
repo=$(pwd)
# shellcheck source=tests/lib/harness.sh
source "$repo/tests/lib/harness.sh"
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
rounds=${NIXEDGE_SYNC_ROUNDS:-3}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || fail "NIXEDGE_SYNC_ROUNDS: '$rounds' is not a positive number"
hash_of() { basename "$1" | cut -c1-32; }
bucket=$tmp/data/bucket
mirror=$tmp/mirror
unset AWS_CA_BUNDLE # rclone 1.60 refuses to start when it is set
export RCLONE_CONFIG=$tmp/rclone.conf
touch "$RCLONE_CONFIG"

# What the server is told of the sync: a run takes at most sync_max, and the
# loop below starts the next a second after it ends, so at most sync_interval
# after the one before. A run is ~8 rclone calls, each followed by the
# checker; on a saturated 2-core machine (load 9-15) a run took 15-25 s, and
# runs outside these figures are counted, not failed: a torn mirror after
# one is reported as such. The edge keeps no narinfo across a change (every
# reload drops its Cache API): the grace must exceed interval + duration.
sync_max=20 sync_interval=21 grace=42 retention=45
chunking='[chunking]
min_size = 16384
avg_size = 65536
max_size = 262144
'
sync_claims="[sync]
interval = \"${sync_interval}s\"
max_duration = \"${sync_max}s\"
edge_narinfo_ttl = \"0\"
"
lab_config "[gc]
interval = \"1s\"
orphan_grace = \"${grace}s\"
$sync_claims$chunking"
# The server refuses a grace no longer than interval + max_duration + TTL.
sed "s/^orphan_grace = .*/orphan_grace = \"$((sync_interval + sync_max))s\"/" "$tmp/server.toml" >"$tmp/short-grace.toml"
"$server" --config "$tmp/short-grace.toml" cache list >/dev/null 2>"$tmp/short-grace.err" &&
  fail "the server accepted an orphan grace of sync.interval + sync.max_duration"
grep -q "gc.orphan_grace: .* must exceed sync.interval + sync.max_duration + sync.edge_narinfo_ttl" "$tmp/short-grace.err" ||
  fail "unclear refusal of a short grace: $(cat "$tmp/short-grace.err")"

step "build $((rounds + 1)) rounds of paths with the real Nix"
# Per round R: wideR (a file of two shared 256 KB blobs and 120 KB of its own:
# several chunks, most shared with other rounds), treeR (a directory of two
# other blobs and its own bytes), leafaR, leafbR (one chunk each), topR ->
# wideR and base (pinned: a closure that GC never takes apart), privR (a
# private blob and its own bytes, for `secret`: chunks of no public path).
# And seed1..3 (a shared blob and 150 KB of their own), pushed and deleted
# before round 1, so that GC deletes their NARs, then their chunks, while the
# rounds run; seedR is pushed again in round R, at another point of that.
mkdir -p "$tmp/nix"
for blob in 0 1 2 3 priv; do head -c 262144 /dev/urandom >"$tmp/nix/blob$blob"; done
# shellcheck disable=SC2016 # Nix's ${...} and the builder's $out
{
  echo '{ testlib }:'
  echo 'let inherit (import testlib) mk;'
  echo '  base = mk "base" "mkdir $out; head -c 3000 /dev/urandom > $out/data";'
  for k in 1 2 3; do
    echo "  seed$k = mk \"seed$k\" \"cat \${./blob$((k % 4))} > \$out; head -c 150000 /dev/urandom >> \$out\";"
  done
  for r in $(seq "$((rounds + 1))"); do
    echo "  wide$r = mk \"wide$r\" \"cat \${./blob$((r % 4))} \${./blob$(((r + 1) % 4))} > \$out; head -c 120000 /dev/urandom >> \$out\";"
    echo "  tree$r = mk \"tree$r\" \"mkdir \$out; cat \${./blob$(((r + 2) % 4))} > \$out/a; cat \${./blob$(((r + 3) % 4))} > \$out/b; head -c 120000 /dev/urandom > \$out/own\";"
    echo "  leafa$r = mk \"leafa$r\" \"mkdir \$out; head -c 5000 /dev/urandom > \$out/data\";"
    echo "  leafb$r = mk \"leafb$r\" \"mkdir \$out; head -c 5000 /dev/urandom > \$out/data\";"
    echo "  top$r = mk \"top$r\" \"mkdir \$out; echo \${base} \${wide$r} > \$out/refs\";"
    echo "  priv$r = mk \"priv$r\" \"cat \${./blobpriv} > \$out; head -c 80000 /dev/urandom >> \$out\";"
  done
  echo 'in {'
  echo '  inherit base seed1 seed2 seed3;'
  for r in $(seq "$((rounds + 1))"); do echo "  inherit wide$r tree$r leafa$r leafb$r top$r priv$r;"; done
  echo '}'
} >"$tmp/nix/paths.nix"
build_paths "$tmp/nix/paths.nix"
declare -A path
for name in base seed1 seed2 seed3 $(for r in $(seq "$((rounds + 1))"); do echo "wide$r tree$r leafa$r leafb$r top$r priv$r"; done); do
  path[$name]=$(built_path "$name")
done

step "start the lab: a public edge cache (retention ${retention}s), a private one"
edge_key=$(admin cache create edge --public --edge --retention "${retention}s")
admin cache create secret --edge >/dev/null
printf 'machine 127.0.0.1 password %s\n' "$(admin make-token --sub ci --validity 1h --push '*' --pull '*')" >"$tmp/netrc"
start_lab "$tmp/server.toml"

# push LOG CACHE PATH...: nix copy from $tmp/root with a client cache of its own.
push() {
  local log=$1 cache=$2 home
  shift 2
  home=$(mktemp -d "$tmp/client.XXXX")
  HOME=$home XDG_CACHE_HOME=$home/cache nix_cmd copy --store "$tmp/root" \
    --to "$lab_url/$cache?compression=zstd" --option write-nar-listing true \
    --option netrc-file "$tmp/netrc" "$@" >"$log" 2>&1
}
push "$tmp/push-base.log" edge "${path[base]}" "${path[seed1]}" "${path[seed2]}" "${path[seed3]}" ||
  fail "push base and seeds: $(cat "$tmp/push-base.log")"
# Pinned until deleted: retention must not take them before the first sync.
for name in base seed1 seed2 seed3; do admin path pin edge "${path[$name]}"; done

# The manifests and chunks of the private paths pushed so far: none may ever
# be in the mirror (their bytes are in no public path).
private_keys() {
  local p manifest
  for p in "$@"; do
    manifest=$(grep -lx "nar-hash $(nix-store --store "$tmp/root" -q --hash "$p")" "$bucket"/manifests/*) ||
      fail "no manifest in the lab bucket for private $p"
    for manifest in $manifest; do
      echo "manifests/$(basename "$manifest")"
      awk '/^chunk /{print "chunks/" $2}' "$manifest"
    done
  done
}
touch "$tmp/private.keys"

# --- the sync, in a loop like its CronJob ------------------------------------------
# Each run: r2-sync.sh with rclone through checked_rclone.sh, under a lock
# that a snapshot of the mirror takes too. One line per run in $tmp/syncs/runs:
# number, start, end (seconds, fractional), exit status.
mkdir -p "$tmp/syncs" "$mirror"
touch "$tmp/syncs/runs"
sync_once() { # sync_once N [SOURCE]
  local n=$1 status=0 started
  started=$(date +%s.%N)
  RCLONE="$repo/tests/sync/checked_rclone.sh" CHECK_MIRROR=$mirror CHECK_FORBIDDEN=secret \
    CHECK_LOG=$tmp/syncs/$n.calls "$repo/scripts/r2-sync.sh" "$bucket" "$mirror" 2>"$tmp/syncs/$n.err" || status=$?
  echo "$n $started $(date +%s.%N) $status" >>"$tmp/syncs/runs"
  # No private manifest or chunk, whatever the checker knows of caches.
  (cd "$mirror" && find chunks manifests -type f 2>/dev/null | sort) >"$tmp/syncs/$n.keys"
  if sort -u "$tmp/private.keys" | comm -12 - "$tmp/syncs/$n.keys" | grep -q .; then
    echo "$n VIOLATION: private objects in the mirror: $(sort -u "$tmp/private.keys" | comm -12 - "$tmp/syncs/$n.keys" | head -3 | tr '\n' ' ')" >>"$tmp/syncs/$n.calls"
  fi
}
sync_loop() {
  local n=0
  while [[ ! -e $tmp/sync.stop ]]; do
    n=$((n + 1))
    (
      flock 9
      sync_once "$n"
    ) 9>"$tmp/mirror.lock"
    sleep 1
  done
}
sync_loop &
sync_loop_pid=$!
stop_sync_loop() {
  touch "$tmp/sync.stop"
  wait "$sync_loop_pid" || fail "the sync loop failed"
  sync_loop_pid=
}
# On any exit: the loop ends (its run in progress finishes) before the
# harness removes $tmp.
trap '[[ -n $sync_loop_pid ]] && { touch "$tmp/sync.stop"; wait "$sync_loop_pid"; }; harness_cleanup' EXIT
# Fails on any torn state or failed run. Runs outside the timing claims are
# counted (a loaded machine); a torn state or failure after one is reported
# as such, since the grace then no longer covered the sync.
check_syncs() {
  local n started status breaches
  awk -v max="$sync_max" -v interval="$sync_interval" '
    $3 - $2 > max { printf "run %s took %.1f s (sync.max_duration %d s)\n", $1, $3 - $2, max }
    NR > 1 && $2 - previous > interval { printf "run %s started %.1f s after the one before (sync.interval %d s)\n", $1, $2 - previous, interval }
    { previous = $2 }' "$tmp/syncs/runs" >"$tmp/syncs/breaches"
  breaches=""
  if [[ -s $tmp/syncs/breaches ]]; then
    breaches=" (after the sync broke the timing the server was told, so the grace may not have covered it: $(tr '\n' ';' <"$tmp/syncs/breaches"))"
  fi
  if cat "$tmp/syncs/"*.calls 2>/dev/null | grep VIOLATION >&2; then
    fail "the mirror was torn, or held private objects, between two rclone calls$breaches"
  fi
  # A run slower than the server was told may find a planned chunk already
  # collected: r2-sync then stops before any narinfo (the mirror stays whole)
  # and the next run works from a fresh plan. Any other failure fails.
  while read -r n started _ status; do
    [[ $status == 0 ]] && continue
    if [[ -n $breaches ]] && grep -q "of the plan are not in" "$tmp/syncs/$n.err"; then
      echo "$n" >>"$tmp/syncs/stopped"
      continue
    fi
    fail "sync run $n exited $status: $(cat "$tmp/syncs/$n.err")$breaches"
  done <"$tmp/syncs/runs"
}
# Sync runs that overlapped the interval [FROM, TO].
syncs_during() {
  awk -v from="$1" -v to="$2" '$2 <= to && $3 >= from { n++ } END { print n + 0 }' "$tmp/syncs/runs"
}

# The seeds reach the mirror, then leave the cache: from here GC may delete
# their NARs after one grace period, their own chunks after two.
for _ in $(seq 300); do grep -q . "$tmp/syncs/runs" && break; sleep 0.2; done
check_syncs
grep -q "StorePath: ${path[seed1]}" "$mirror"/edge/*.narinfo || fail "the first sync did not mirror the seeds"
mkdir -p "$tmp/round-0"
for k in 1 2 3; do
  admin path delete edge "${path[seed$k]}" >/dev/null || fail "path delete seed$k"
  echo "seed$k" >>"$tmp/round-0/deleted"
done
seeds_deleted=$(date +%s)

# --- a round of the lab's traffic ----------------------------------------------------
# churn R: in the background, several clients at once; what failed goes to
# $tmp/round-R/failures, the GC reports to $tmp/round-R/gc-*.out.
churn() {
  local r=$1 d=$tmp/round-$1 pids=() p previous=$(($1 - 1)) before=$(($1 - 2))
  mkdir -p "$d"
  {
    push "$d/push-top.log" edge "${path[top$r]}" "${path[tree$r]}" || echo "push top$r tree$r: $(tail -3 "$d/push-top.log")" >>"$d/failures"
  } &
  pids+=($!)
  {
    push "$d/push-leaves.log" edge "${path[leafa$r]}" "${path[leafb$r]}" || echo "push leaves$r: $(tail -3 "$d/push-leaves.log")" >>"$d/failures"
  } &
  pids+=($!)
  {
    push "$d/push-private.log" secret "${path[priv$r]}" || echo "push priv$r: $(tail -3 "$d/push-private.log")" >>"$d/failures"
  } &
  pids+=($!)
  if [[ $before -ge 1 ]]; then # tree of two rounds ago: deleted the round before
    {
      push "$d/push-again.log" edge "${path[tree$before]}" || echo "push tree$before again: $(tail -3 "$d/push-again.log")" >>"$d/failures"
    } &
    pids+=($!)
  fi
  if [[ $r -le 3 ]]; then # a seed deleted before round 1
    {
      push "$d/push-seed.log" edge "${path[seed$r]}" || echo "push seed$r again: $(tail -3 "$d/push-seed.log")" >>"$d/failures"
    } &
    pids+=($!)
  fi
  # The round before's paths: top, tree and leafa deleted (still pinned, so
  # GC cannot take them first; top first, the only path referring to wide),
  # then wide and leafb unpinned: left to retention and GC.
  if [[ $previous -ge 1 ]]; then
    {
      for p in "top$previous" "tree$previous" "leafa$previous"; do
        sleep 0.5
        if admin path delete edge "${path[$p]}" >>"$d/deletes.out" 2>"$d/delete.err"; then
          echo "$p" >>"$d/deleted"
        else
          echo "path delete $p: $(cat "$d/delete.err")" >>"$d/failures"
        fi
      done
      for p in "wide$previous" "leafb$previous"; do
        admin path unpin edge "${path[$p]}" 2>>"$d/failures"
      done
    } &
    pids+=($!)
  fi
  {
    for i in 1 2 3; do
      sleep 1
      admin gc --once >"$d/gc-$i.out" 2>"$d/gc-$i.err" || grep -q '^skipped' "$d/gc-$i.out" ||
        echo "gc --once: $(cat "$d/gc-$i.err")" >>"$d/failures"
    done
  } &
  pids+=($!)
  for p in "${pids[@]}"; do wait "$p" || echo "a client of round $r exited early" >>"$d/failures"; done
  # Kept until the edge has served them: pinned (retention would take them
  # before a loaded machine gets there).
  for p in top wide tree leafa leafb; do
    admin path pin edge "${path[$p$r]}" 2>>"$d/pin.err" || echo "pin $p$r: $(cat "$d/pin.err")" >>"$d/failures"
  done
}

# --- the edge, from a snapshot of the mirror ------------------------------------------
edge_port=$(free_port)
edge=http://127.0.0.1:$edge_port
# edge_round R: the mirror as the last sync left it, loaded into local R2
# (its own listing as the loader's plan), the Worker restarted on it, and
# every path the mirror has a narinfo for substituted into a fresh store.
edge_round() {
  local r=$1 snap=$tmp/snap-$1 p narinfo
  (
    flock 9
    cp -a "$mirror" "$snap"
  ) 9>"$tmp/mirror.lock"
  python3 "$repo/tests/sync/mirror_check.py" "$snap" secret >&2 || fail "round $r: the mirror is torn"
  (cd "$snap" && find . -type f -printf '%P\n') | grep -v '^sync/' | sort >"$tmp/edge.keys"
  sort -u "$tmp/private.keys" | comm -12 - "$tmp/edge.keys" | grep . >&2 && fail "round $r: private objects in the mirror"
  mkdir -p "$snap/sync"
  {
    echo "nixedge-sync-plan 1"
    grep -E '^(chunks|manifests)/' "$tmp/edge.keys" | sed 's/^/immutable /'
    grep -Ev '^(chunks|manifests)/' "$tmp/edge.keys" | sed 's/^/mutable /'
  } >"$snap/sync/plan"
  stop_edge
  node "$repo/scripts/edge-load-bucket.mjs" --bucket-dir "$snap" --persist-to "$tmp/edge-state" \
    --clear-cache-api --quiet >"$tmp/load-$r.out" || fail "edge-load-bucket: $(cat "$tmp/load-$r.out")"
  start_edge "$edge_port" "$tmp/edge-state" --var "TRUSTED_KEYS:{\"edge\":[\"$edge_key\"]}" --var DEFAULT_CACHE:edge
  mapfile -t advertised < <(cat "$snap"/edge/*.narinfo | sed -n 's/^StorePath: //p' | sort)
  [[ ${#advertised[@]} -ge 1 ]] || fail "round $r: the mirror advertises no path"
  substitute "$tmp/subst-$r" "$edge/edge" "$edge_key" "${advertised[@]}" 2>"$tmp/subst-$r.log" ||
    fail "round $r: substitution through the edge: $(grep -v '^warning' "$tmp/subst-$r.log" | head -5)"
  for p in "${advertised[@]}"; do
    same_path "$tmp/subst-$r" "$p"
    narinfo=$snap/edge/$(hash_of "$p").narinfo
    [[ $(sed -n 's/^NarHash: //p' "$narinfo") == $(nix-store --store "$tmp/subst-$r" -q --hash "$p") ]] ||
      fail "round $r: $p: NarHash differs from the mirror's narinfo"
  done
  substituted+=("${#advertised[@]}")
}

substituted=()
for r in $(seq "$rounds"); do
  step "round $r/$rounds: pushes, deletes and GC in the lab while the sync loop runs"
  from=$(date +%s.%N)
  churn "$r"
  to=$(date +%s.%N)
  [[ -s $tmp/round-$r/failures ]] && fail "round $r: $(cat "$tmp/round-$r/failures")"
  private_keys "${path[priv$r]}" >>"$tmp/private.keys"
  # The mirror once a run that began after the traffic has finished: it
  # holds this round's public paths.
  for _ in $(seq 600); do
    [[ $(awk -v t="$to" '$2 >= t' "$tmp/syncs/runs" | wc -l) -ge 1 ]] && break
    sleep 0.2
  done
  check_syncs
  during=$(syncs_during "$from" "$to")
  [[ $during -ge 1 ]] || fail "round $r: no sync ran during the traffic"
  step "round $r: $during sync runs during the traffic; Nix substitutes what the mirror advertises through the edge"
  edge_round "$r"
  echo "round $r: ${substituted[-1]} paths substituted through the edge (require-sigs), $during syncs during the traffic"
done

# Figures: GC's deletions (the server's runs from its metrics, the `gc --once`
# runs from their reports, `path delete`).
metric() { curl -sf "$lab_url/metrics" | sed -n "s/^$1 \([0-9]*\).*/\1/p" | grep . || echo 0; }
gc_total() { # gc_total WHAT: summed over the gc --once reports
  cat "$tmp"/round-*/gc-*.out 2>/dev/null | sed -n "s/.*[ (]\([0-9]*\) $1.*/\1/p" | awk '{ n += $1 } END { print n + 0 }'
}
gc_chunks() { echo $(($(metric nixedge_gc_chunks_deleted_total) + $(gc_total 'chunks'))); }
if [[ $rounds -ge 3 && $(gc_chunks) == 0 ]]; then
  # The seeds' own chunks go two grace periods after their deletion: the
  # loop keeps syncing until they do.
  step "waiting for GC to delete the seeds' chunks (due $((seeds_deleted + 2 * grace - $(date +%s))) s from now), the sync loop running"
  for _ in $(seq $((4 * grace))); do
    [[ $(gc_chunks) == 0 ]] || break
    sleep 1
  done
fi

step "the sync loop stops; one more run, with the plan unchanged throughout, leaves the mirror equal to it"
stop_sync_loop
# The server's GC and retention keep changing the plan: a run compares with
# the plan it read only if the plan did not change while it ran.
for attempt in 1 2 3 4 5; do
  cp "$bucket/sync/plan" "$tmp/plan.before"
  sync_once "final-$attempt"
  cmp -s "$tmp/plan.before" "$bucket/sync/plan" && break
done
cmp -s "$tmp/plan.before" "$bucket/sync/plan" || fail "the plan changed during each of 5 final runs"
check_syncs
tail -n +2 "$tmp/plan.before" | cut -d' ' -f2 | sort >"$tmp/plan.keys"
(cd "$mirror" && find . -type f ! -path './sync/*' -printf '%P\n' | sort) >"$tmp/mirror.keys"
diff "$tmp/plan.keys" "$tmp/mirror.keys" >&2 || fail "the mirror is not the plan after a quiet run"

sync_runs=$(wc -l <"$tmp/syncs/runs")
calls_checked=$(cat "$tmp/syncs/"*.calls | grep -c ' ok$')
gc_paths=$(($(metric nixedge_gc_paths_removed_total) + $(gc_total 'expired paths')))
gc_nars=$(($(metric nixedge_gc_nars_deleted_total) + $(gc_total 'NARs')))
gc_chunks=$(gc_chunks)
path_deletes=$(cat "$tmp"/round-*/deleted 2>/dev/null | wc -l)
if [[ $rounds -ge 3 ]]; then
  [[ $gc_nars -ge 1 && $gc_chunks -ge 1 ]] || fail "GC deleted no NAR or no chunk during the run ($gc_nars NARs, $gc_chunks chunks)"
fi

step "contrast: a plain rclone sync, while the same traffic runs, is caught by the same checker"
plain=$tmp/plain-mirror
mkdir -p "$plain"
contrast=$((rounds + 1))
churn "$contrast" &
contrast_pid=$!
sleep 2 # pushes under way
# rclone's transfers in a strict order (names descending: sync/, manifests/,
# the caches' narinfos and listings, chunks/ last), stopped where the chunks
# begin (--max-transfer: the bytes of everything else; a soft cutoff starts no
# transfer once that many are sent). Objects the traffic adds or GC removes
# meanwhile only move the stop a few objects earlier or later: every narinfo
# copied still lacks chunks.
limit=$(rclone lsf -R --files-only --format sp "$bucket" | awk -F';' '$2 !~ /^chunks\// { n += $1 } END { print n }')
export CHECK_MIRROR=$plain CHECK_FORBIDDEN=secret CHECK_LOG=$tmp/plain.calls
status=0
"$repo/tests/sync/checked_rclone.sh" sync "$bucket" "$plain" --check-first --order-by name,descending \
  --transfers 1 --checkers 1 --max-transfer "${limit}B" --cutoff-mode soft 2>"$tmp/plain.err" || status=$?
[[ $status == 8 ]] || fail "rclone sync with --max-transfer exited $status, expected 8: $(tail -3 "$tmp/plain.err")"
status=0
"$repo/tests/sync/checked_rclone.sh" sync "$bucket" "$plain" 2>>"$tmp/plain.err" || status=$?
[[ $status == 0 ]] || fail "rclone sync exited $status: $(tail -3 "$tmp/plain.err")"
wait "$contrast_pid"
[[ -s $tmp/round-$contrast/failures ]] && fail "contrast round: $(cat "$tmp/round-$contrast/failures")"
# The first call's report: from its line to the second call's.
awk '/^2 sync /{ exit } { print }' "$tmp/plain.calls" >"$tmp/plain.first"
if ! grep -q '^1 sync VIOLATION' "$tmp/plain.first" ||
  ! grep -Eq "^(1 sync VIOLATION: )?edge/[0-9a-z]{32}\.narinfo: (manifest|chunk) [0-9a-f]{64} missing" "$tmp/plain.first"; then
  fail "the checker did not catch the plain sync's narinfos ahead of their chunks: $(head -n3 "$tmp/plain.first")"
fi
torn=$(grep -Eo 'edge/[0-9a-z]{32}\.narinfo: (manifest|chunk)' "$tmp/plain.first" | cut -d: -f1 | sort -u | wc -l)
private_keys "${path[priv$contrast]}" >>"$tmp/private.keys"
(cd "$plain" && find chunks manifests -type f | sort) | comm -12 <(sort -u "$tmp/private.keys") - >"$tmp/plain.private"
grep -q '^manifests/' "$tmp/plain.private" || fail "the plain sync copied no private manifest"
leaked=$(wc -l <"$tmp/plain.private")

durations=$(awk '{ d = $3 - $2; s += d; if (d > m) m = d } END { printf "%.1f s mean, %.1f s longest", s / NR, m }' "$tmp/syncs/runs")
touch "$tmp/syncs/stopped"
stopped=$(sort -u "$tmp/syncs/stopped" | wc -l)
echo "figures: rounds $rounds; sync runs $sync_runs (loop + final; $durations; $(wc -l <"$tmp/syncs/breaches") outside the timing claims, $stopped stopped on a chunk already collected), rclone calls checked $calls_checked, torn states 0;" \
  "paths substituted through the edge per round: ${substituted[*]};" \
  "GC during the run: $gc_paths expired paths removed, $gc_nars NARs and $gc_chunks chunks deleted, $path_deletes path deletes;" \
  "plain rclone sync: $torn narinfos without their chunks at the stop, $leaked private objects copied"
echo "PASS ($SECONDS s)"
