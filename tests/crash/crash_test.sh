#!/usr/bin/env bash
# Crash consistency: nixedge-server is killed with SIGKILL at a random moment
# while several `nix copy` pushes run at once, then restarted; KILLS times.
#   crash_test.sh sqlite   NIXEDGE_SERVER_BINARY [KILLS]
#       the embedded default: SQLite and a local directory
#   crash_test.sh postgres NIXEDGE_SERVER_BINARY POSTGRES_STATE [KILLS]
#       PostgreSQL (the tests/lab fixture) and Ceph RGW (NIXEDGE_TEST_RGW_ENV)
# KILLS defaults to NIXEDGE_CRASH_KILLS, else 10 (`make test-long`: 50).
# NIXEDGE_CRASH_SEED replays the random moments and sizes of a failed run.
#
# Each round pushes new paths (large ones sharing most chunks, so pushes wait
# on each other's chunk claims, and small ones) together with every push the
# last kill cut, while the server's own GC runs every 2 s. After each restart:
#   - every push acknowledged so far (its `nix copy` exited 0) is served;
#   - fsck finds the database and the bucket in agreement: no narinfo, in the
#     database or the bucket, names a manifest or chunk that is not there
#     (orphan objects, which nothing names, may wait for a push's retry; the
#     fsck at the end must be clean);
#   - the cut pushes are retried: the killed server's chunk claims must be
#     taken over within seconds (its writer row falls silent), not after the
#     hour-long claim timeout.
# At the end, the real Nix (require-sigs, the cache's key) substitutes every
# acknowledged path, and every other attempted path the server serves,
# intact; then, with one more NAR upload abandoned half-way (its stored chunks
# used by no NAR), GC, once the staged-upload timeout and the orphan grace
# have passed, leaves no claimed or unused chunk, no unused NAR, no staged
# upload, and exactly one chunk object per chunk row.
set -euo pipefail
backend=${1:?usage: crash_test.sh sqlite|postgres NIXEDGE_SERVER_BINARY [POSTGRES_STATE] [KILLS]}
server=$(realpath "${2:?usage: crash_test.sh sqlite|postgres NIXEDGE_SERVER_BINARY ...}")
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/harness.sh
source "$here/../lib/harness.sh"
case $backend in
sqlite) kills=${3:-${NIXEDGE_CRASH_KILLS:-10}} ;;
postgres)
  postgres_state=${3:?the postgres backend needs the PostgreSQL fixture state file}
  kills=${4:-${NIXEDGE_CRASH_KILLS:-10}}
  # shellcheck source=tests/s3/s3_lib.sh
  source "$here/../s3/s3_lib.sh"
  ;;
*) fail "unknown backend '$backend'" ;;
esac
seed=${NIXEDGE_CRASH_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$seed
echo "crash test on $backend: $kills kills, seed $seed (NIXEDGE_CRASH_SEED replays it)"

# GC every 2 s; a staged upload expires after a minute (the shortest allowed;
# the retries consume most) and unused content after a 3 s grace (the sync is said to run every second for a second, and the edge
# to keep no narinfo, which the grace must outlast).
settings='[uploads]
staged_upload_timeout = "1m"
[gc]
interval = "2s"
orphan_grace = "3s"
[sync]
interval = "1s"
max_duration = "1s"
edge_narinfo_ttl = "0"
'
if [[ $backend == postgres ]]; then
  bucket=crash-$$-$RANDOM
  rgw_rclone_config
  rclone mkdir "rgw:$bucket" || fail "cannot create bucket $bucket"
  lab_config_on_s3 "$bucket"
  printf '%s' "$settings" >>"$tmp/server.toml"
  database=nixedge_crash_$$
  use_postgres_database "$postgres_state" "$database"
  sql() { psql -qtAX -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d "$database" -c "$1"; }
  chunk_objects() { rclone lsf "rgw:$bucket/chunks" | wc -l; }
else
  lab_config "$settings"
  sql() { sqlite3 "$tmp/data/nixedge.sqlite" "$1"; }
  # Chunk objects only: a write the kill cut leaves a temporary file, which a
  # later start sweeps once it is older than 15 minutes.
  chunk_objects() { find "$tmp/data/bucket/chunks" -type f ! -name '.nixedge-tmp-*' 2>/dev/null | wc -l; }
fi

key=$(admin cache create main --public --edge)
printf 'machine 127.0.0.1 password %s\n' "$(admin make-token --sub ci --validity 1h --push main --pull main)" >"$tmp/netrc"
mkdir -p "$tmp/files" "$tmp/pushes"
head -c 12000000 /dev/urandom >"$tmp/base"

# new_paths ROUND N: N new store paths (a file each): the first a large one,
# the base with a cut and a tail of its own (most chunks shared with every
# other round's), the others small.
new_paths() {
  local round=$1 n=$2 i file
  for i in $(seq "$n"); do
    file=$tmp/files/r$round-$i
    if ((i == 1)); then
      { head -c $((4000000 + RANDOM * 200)) "$tmp/base"; echo "round $round"; head -c $((RANDOM * 20)) /dev/urandom; } >"$file"
    else
      head -c $((RANDOM % 4000 + 1)) /dev/urandom >"$file"
    fi
    nix-store --store "$tmp/root" --add "$file"
  done
}

# A push is a file listing its paths; it runs as `nix copy`, in the background.
push_start() { # push_start LIST
  local home
  home=$(mktemp -d "$tmp/client.XXXX")
  HOME=$home XDG_CACHE_HOME=$home/cache timeout 120 \
    nix --extra-experimental-features nix-command --option substituters '' \
    --option download-attempts 1 --option connect-timeout 5 \
    copy --store "$tmp/root" --to "$lab_url/main?compression=zstd" \
    --option netrc-file "$tmp/netrc" $(cat "$1") >"$1.log" 2>&1 &
  echo $! >"$1.pid"
}

acknowledged=$tmp/acknowledged # paths whose push exited 0
attempted=$tmp/attempted
touch "$acknowledged" "$attempted"
pending=() # push lists cut by a kill, to retry

check_after_restart() {
  local path hash status
  while read -r path; do
    hash=$(basename "$path" | cut -c1-32)
    status=$(curl -s -o /dev/null -w '%{http_code}' "$lab_url/main/$hash.narinfo")
    [[ $status == 200 ]] || fail "acknowledged $path is not served after a restart ($status)"
  done <"$acknowledged"
  # Only orphans may differ here: a manifest object written by a push whose
  # NAR row GC took meanwhile (the push failed, unacknowledged, and its retry
  # records the row again). Nothing refers to an orphan; the final fsck,
  # after the retries, must be clean.
  admin fsck >"$tmp/fsck.out" 2>"$tmp/fsck.err" || true
  grep -q ' differences\| listed' "$tmp/fsck.out" || fail "fsck did not run: $(cat "$tmp/fsck.err")"
  if grep -v '^orphan ' "$tmp/fsck.out" | grep -q '^[a-z]*-[a-z-]* '; then
    fail "fsck after a kill: $(cat "$tmp/fsck.out")"
  fi
  orphans=$((orphans + $(grep -c '^orphan ' "$tmp/fsck.out" || true)))
}

start_lab "$tmp/server.toml"
takeovers=0 cut=0 acked_pushes=0 orphans=0
for round in $(seq "$kills"); do
  lists=("${pending[@]}")
  pending=()
  for p in 1 2 3; do
    list=$tmp/pushes/r$round-$p
    new_paths "$round$p" 4 >"$list"
    cat "$list" >>"$attempted"
    lists+=("$list")
  done
  for list in "${lists[@]}"; do push_start "$list"; done
  # A random moment while they run: 0.1 to 3 s in.
  sleep "$(printf '%d.%02d' $((RANDOM % 3)) $((RANDOM % 90 + 10)))"
  kill -KILL "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  for list in "${lists[@]}"; do
    if wait "$(cat "$list.pid")"; then
      cat "$list" >>"$acknowledged"
      acked_pushes=$((acked_pushes + 1))
    else
      pending+=("$list")
      cut=$((cut + 1))
    fi
  done
  start_lab "$tmp/server.toml"
  claimed=$(sql "SELECT count(*) FROM chunks WHERE state = 'claimed'")
  takeovers=$((takeovers + claimed))
  check_after_restart
  step "kill $round: ${#lists[@]} pushes, $((${#lists[@]} - ${#pending[@]})) acknowledged, ${#pending[@]} cut; $claimed chunk claims left by the killed server"
done

step "the cut pushes once more, with no kill: they take the dead claims over"
retry_started=$SECONDS
for list in "${pending[@]}"; do push_start "$list"; done
for list in "${pending[@]}"; do
  wait "$(cat "$list.pid")" || fail "a cut push failed on retry: $(tail -5 "$list.log")"
  cat "$list" >>"$acknowledged"
done
echo "retried ${#pending[@]} pushes in $((SECONDS - retry_started)) s"
check_after_restart

step "the real Nix substitutes every acknowledged path, and every path served, intact"
sort -u "$acknowledged" -o "$acknowledged"
served=()
while read -r path; do
  hash=$(basename "$path" | cut -c1-32)
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$lab_url/main/$hash.narinfo") == 200 ]] && served+=("$path")
done < <(sort -u "$attempted")
(($(wc -l <"$acknowledged") <= ${#served[@]})) || fail "fewer paths served than acknowledged"
substitute "$tmp/substituted" "$lab_url/main" "$key" "${served[@]}" 2>"$tmp/substitute.err" ||
  fail "substitution failed: $(tail -5 "$tmp/substitute.err")"
for path in "${served[@]}"; do same_path "$tmp/substituted" "$path"; done

step "GC takes what the kills left half-written, and an upload abandoned mid-way"
# A NAR PUT cut after a few of its chunks are stored, never retried: chunks
# that no NAR uses, for GC (a cut push above is retried, reusing its parts).
head -c 30000000 /dev/urandom >"$tmp/files/abandoned"
abandoned=$(nix-store --store "$tmp/root" --add "$tmp/files/abandoned")
nix-store --dump "$tmp/root$abandoned" >"$tmp/abandoned.nar"
curl -s --netrc-file "$tmp/netrc" --limit-rate 5M -T "$tmp/abandoned.nar" \
  -H 'Content-Type: application/x-nix-nar' "$lab_url/main/nar/abandoned.nar" >/dev/null &
abandoned_pid=$!
sleep 2
kill "$abandoned_pid"
wait "$abandoned_pid" 2>/dev/null || true
sleep 0.5 # the server sees the connection end
left_claimed=$(sql "SELECT count(*) FROM chunks WHERE state = 'claimed'")
left_unused=$(sql "SELECT count(*) FROM chunks WHERE unused_since IS NOT NULL")
left_staged=$(sql "SELECT count(*) FROM staged_uploads")
# The server's GC, every 2 s: staged uploads once expired, then their NARs a
# grace later, then those NARs' chunks a grace after that.
for _ in $(seq 90); do
  [[ $(sql "SELECT (SELECT count(*) FROM chunks WHERE state = 'claimed' OR unused_since IS NOT NULL)
          + (SELECT count(*) FROM nars WHERE unused_since IS NOT NULL)
          + (SELECT count(*) FROM staged_uploads)") == 0 ]] && break
  sleep 1
done
((left_unused > 0)) || fail "the abandoned upload left no unused chunk for GC to take"
for what in "chunks WHERE state = 'claimed'" "chunks WHERE unused_since IS NOT NULL" \
  "nars WHERE unused_since IS NOT NULL" "staged_uploads"; do
  n=$(sql "SELECT count(*) FROM $what")
  [[ $n == 0 ]] || fail "after GC, $n rows of $what"
done
rows=$(sql "SELECT count(*) FROM chunks")
objects=$(chunk_objects)
[[ $rows == "$objects" ]] || fail "$rows chunk rows but $objects chunk objects after GC"
admin fsck >"$tmp/fsck.out" 2>"$tmp/fsck.err" || fail "fsck after GC: $(cat "$tmp/fsck.out")"

echo "crash test on $backend: $kills SIGKILLs survived (seed $seed); $acked_pushes pushes acknowledged" \
  "between kills, $cut cut and retried; $takeovers dead chunk claims met after restarts;" \
  "$(wc -l <"$acknowledged") acknowledged paths and ${#served[@]} served paths substituted intact;" \
  "$orphans orphan manifest objects seen after restarts, none left;" \
  "GC then removed $left_claimed claimed and $left_unused unused chunks and $left_staged staged uploads" \
  "($rows chunks remain, one object each)"
