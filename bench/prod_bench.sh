#!/usr/bin/env bash
# bench/prod_bench.sh OUT: the lab server as production runs it (PostgreSQL
# metadata, S3 storage on Ceph RGW) and the sync job, on this machine
# (docs/benchmarks.md, "Production setup"). Writes the markdown section to
# OUT; progress goes to stderr. Called by bench/run.sh (`bench/run.sh prod`).
#
#  1. push ingest: the real Nix's `nix copy --to http://…/bench?compression=zstd`
#     of one store path of ~256 MB (half random bytes, half base64 text), to
#     a server on PostgreSQL + RGW and to one on SQLite + a local directory,
#     the two alternating within each run, fresh data for every push (nothing
#     deduplicates), a fresh server, database and bucket each time: MB/s end
#     to end and server side (access log), server CPU time, peak RSS (VmHWM);
#  2. sync listing cost: a lab bucket in RGW of ~100k small synthetic objects
#     laid out as the server writes them (chunks, manifests, narinfos, and a
#     real-format sync/plan listing them; bench/prod/synthetic_bucket.py),
#     mirrored once to a second bucket by scripts/r2-sync.sh, then timed runs
#     of scripts/r2-sync.sh on that unchanged mirror: seconds, objects per
#     second, rclone calls, and (one more run, rclone --dump headers) the
#     HTTP requests it makes, by kind and bucket;
#  3. GC time for ~100k objects (bench/gc/gc_bench.cpp, build/bin/nixedge-gc-bench)
#     on SQLite + a local directory and on PostgreSQL + RGW: the three runs
#     that remove expired paths, then their NARs, then their chunks.
#
# It starts its own RGW (tests/lib/rgw.sh, memstore of RGW_MEMSTORE_BYTES,
# default 8 GiB here) and PostgreSQL (tests/lib/postgres.sh) and stops them
# at the end, with every server it started (by PID). As root (RGW,
# PostgreSQL, the chroot Nix store). Everything else lives in one mktemp
# directory, removed at the end; every server listens on 127.0.0.1 only.
#
# Environment: NIXEDGE_SERVER (the server binary, default
# build/bin/nixedge-server), NIXEDGE_BENCH_REPEAT (timed sync runs, default
# 3; ingest runs at least 5), NIXEDGE_BENCH_PUSH_MB (size of each pushed
# path, default 256), NIXEDGE_BENCH_SYNC_OBJECTS (objects in the lab bucket,
# default 100000), NIXEDGE_BENCH_SYNC_TRANSFERS (rclone --transfers for the
# upload and the sync, default 32), NIXEDGE_BENCH_ONLY (space-separated
# subset of: ingest sync gc), NIXEDGE_BENCH_GC_PATHS (paths of 11 objects
# for the GC figure, default 9100), NIXEDGE_GC_BENCH (its binary).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:?usage: bench/prod_bench.sh OUT}

repeat=${NIXEDGE_BENCH_REPEAT:-3}
ingest_runs=$((repeat < 5 ? 5 : repeat))
push_mb=${NIXEDGE_BENCH_PUSH_MB:-256}
sync_objects=${NIXEDGE_BENCH_SYNC_OBJECTS:-100000}
transfers=${NIXEDGE_BENCH_SYNC_TRANSFERS:-32}
server_bin=$(realpath -m "${NIXEDGE_SERVER:-build/bin/nixedge-server}")
only=" ${NIXEDGE_BENCH_ONLY:-ingest sync gc} "
wants() { [[ $only == *" $1 "* ]]; }
repo=$(pwd)

T=$(mktemp -d "${TMPDIR:-/tmp}/nixedge-prod-bench.XXXXXX")
rgw_dir=$T/rgw
pg_state=$T/postgres.state
started=() # PIDs of the servers this script started
cleanup() {
  local pid
  for pid in "${started[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      stop_pid "$pid"
    fi
  done
  "$repo/tests/lib/rgw.sh" stop "$rgw_dir" || true
  "$repo/tests/lib/postgres.sh" stop "$pg_state" || true
  rm -rf "$T"
}
trap cleanup EXIT

bench_name=prod-bench
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_nix_env

load() { cut -d' ' -f1-3 /proc/loadavg; } # 1, 5, 15 min load averages
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
per_s() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print "nan" }'; }
m() { printf '%s\n' "$@" | median; }
runs() { printf '%s\n' "$@" | list; }

# ---------------------------------------------------------------- fixtures

# RGW and PostgreSQL as the S3 and PostgreSQL tests have them, an rclone
# remote `rgw` on the gateway, and the server's S3 credentials.
start_fixtures() {
  local start
  start=$(now)
  RGW_MEMSTORE_BYTES=${RGW_MEMSTORE_BYTES:-$((8 << 30))} \
    "$repo/tests/lib/rgw.sh" start "$rgw_dir" >"$T/rgw.out" 2>&1 ||
    die "RGW did not start: $(tail -20 "$T/rgw.out")"
  # shellcheck disable=SC1091
  . "$rgw_dir/env"
  "$repo/tests/lib/postgres.sh" start "$pg_state" >"$T/postgres.out" 2>&1 ||
    die "PostgreSQL did not start: $(tail -20 "$T/postgres.out")"
  # shellcheck disable=SC1090
  . "$pg_state"
  export RCLONE_CONFIG=$T/rclone.conf
  unset AWS_CA_BUNDLE # rclone 1.60 refuses to start when it is set
  printf '[rgw]\ntype = s3\nprovider = Ceph\nendpoint = %s\nregion = %s\naccess_key_id = %s\nsecret_access_key = %s\nforce_path_style = true\n' \
    "$RGW_ENDPOINT" "$RGW_REGION" "$RGW_ACCESS_KEY" "$RGW_SECRET_KEY" >"$RCLONE_CONFIG"
  export NIXEDGE_S3_ACCESS_KEY_ID=$RGW_ACCESS_KEY NIXEDGE_S3_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
  log "RGW on $RGW_ENDPOINT and PostgreSQL on port $PG_PORT, up in $(elapsed "$start") s"
}

psql_admin() {
  psql -q -X -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d postgres "$@"
}

# CPU seconds (user + system) of the storage and database services: RGW's
# daemons, and the PostgreSQL server with every process it runs (a backend
# per connection: read before the server that opened them stops).
services_cpu() {
  local pids=() pid total=0
  for pid in "$rgw_dir"/run/*.daemon-pid; do pids+=("$(cat "$pid")"); done
  pid=$(head -1 "$PG_DIR/data/postmaster.pid")
  pids+=("$pid")
  mapfile -t -O "${#pids[@]}" pids < <(pgrep -P "$pid")
  for pid in "${pids[@]}"; do
    total=$(awk -v t="$total" -v c="$(cpu_seconds "$pid" 2>/dev/null || echo 0)" 'BEGIN { printf "%.2f", t + c }')
  done
  echo "$total"
}

osd_rss_mb() { # the RGW's OSD (memstore: every object lives in its memory)
  awk '/^VmRSS:/ { printf "%.0f", $2 * 1024 / 1e6 }' "/proc/$(cat "$rgw_dir/run/osd.daemon-pid")/status"
}

# ---------------------------------------------------------------- 1. push ingest

# A fresh directory of $push_mb MB in 16 files, half random bytes, half
# base64 text of random bytes (zstd takes ~25 % off those), added to the
# chroot store: prints the store path.
new_push_path() {
  local name=$1 dir=$T/data/$1 each i
  each=$((push_mb * 1048576 / 16))
  mkdir -p "$dir"
  for i in $(seq 0 15); do
    if ((i % 2)); then
      head -c $((each * 3 / 4 + 4)) /dev/urandom | base64 -w 76 | head -c "$each" >"$dir/text-$i"
    else
      head -c "$each" /dev/urandom >"$dir/random-$i"
    fi
  done
  nix_store --add "$dir"
  rm -rf "$dir"
}

declare -A e2e_runs=() server_runs=() cpu_runs=() services_cpu_runs=() rss_runs=() stored_runs=()
e2e_ratio_runs=()
server_ratio_runs=()
push_nar_bytes=()
push_order=()
ingest_load_before=
ingest_load_after=

# push_once SETUP RUN: one push to a fresh server of SETUP (pg: PostgreSQL +
# RGW, each run its own database and bucket; sqlite: SQLite + local dir).
push_once() {
  local setup=$1 run=$2 path nar_bytes start secs rate busy stored hash code services_before
  path=$(new_push_path "push-$run-$setup")
  nar_bytes=$(nix_store -q --size "$path")
  push_nar_bytes+=("$nar_bytes")
  local database=bench_ingest_$run bucket=bench-ingest-$run
  if [[ $setup == pg ]]; then
    psql_admin -c "CREATE DATABASE $database OWNER nixedge"
    rclone mkdir "rgw:$bucket"
    NIXEDGE_DATABASE_URL=${NIXEDGE_TEST_POSTGRES_URL%/*}/$database start_server "pg-$run" bench \
      "[storage]
type = \"s3\"
[storage.s3]
endpoint = \"$RGW_ENDPOINT\"
region = \"$RGW_REGION\"
bucket = \"$bucket\""
  else
    start_server "sqlite-$run" bench
  fi

  services_before=$(services_cpu)
  start=$(now)
  XDG_CACHE_HOME=$T/nix-cache-$setup-$run nix_copy --option netrc-file "$srv_netrc" \
    --to "http://127.0.0.1:$srv_port/bench?compression=zstd" "$path"
  secs=$(elapsed "$start")
  hash=$(basename "$path" | cut -c1-32)
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$srv_port/bench/$hash.narinfo")
  [[ $code == 200 ]] || die "$setup run $run: the pushed path's narinfo answers $code"
  e2e_runs[$setup]+="$(per_s "$(mb "$nar_bytes")" "$secs") "
  read -r rate busy <<<"$(access_log_ingest_rate "$srv_dir/stderr" "$nar_bytes")"
  server_runs[$setup]+="$(fmt "$rate") "
  rss_runs[$setup]+="$(peak_rss_mb "$srv_pid") "
  cpu_runs[$setup]+="$(cpu_seconds "$srv_pid") "
  services_cpu_runs[$setup]+="$(awk -v a="$services_before" -v b="$(services_cpu)" 'BEGIN { printf "%.2f", b - a }') "
  if [[ $setup == pg ]]; then
    stored=$(rclone size --json "rgw:$bucket" | jq .bytes)
  else
    stored=$({ find "$srv_dir/data/bucket/chunks" "$srv_dir/data/bucket/manifests" -type f -printf '%s\n' || true; } |
      awk '{ s += $1 } END { printf "%d\n", s }')
  fi
  stored_runs[$setup]+="$(mb "$stored") "
  log "  $setup run $run: $(mb "$nar_bytes") MB NAR in $secs s: $(per_s "$(mb "$nar_bytes")" "$secs") MB/s end to end, $(fmt "$rate") MB/s server side ($busy s in the NAR PUT); peak RSS $(peak_rss_mb "$srv_pid") MB, server CPU $(cpu_seconds "$srv_pid") s, RGW + PostgreSQL CPU $(awk -v a="$services_before" -v b="$(services_cpu)" 'BEGIN { printf "%.2f", b - a }') s; $(mb "$stored") MB stored"

  stop_pid "$srv_pid"
  rm -rf "$srv_dir"
  if [[ $setup == pg ]]; then
    psql_admin -c "DROP DATABASE $database"
    rclone purge "rgw:$bucket" # memstore: keep RGW's memory for the next parts
  fi
  nix_store --delete "$path" >/dev/null 2>&1 || true
}

measure_ingest() {
  local run first second a b
  ingest_load_before=$(load)
  for run in $(seq "$ingest_runs"); do
    # Alternate which setup goes first, so a trend in the machine's load
    # does not favour one.
    if ((run % 2)); then first=sqlite second=pg; else first=pg second=sqlite; fi
    push_order+=("$first")
    log "ingest run $run of $ingest_runs ($first first)"
    push_once "$first" "$run"
    push_once "$second" "$run"
    read -r -a a <<<"${e2e_runs[pg]}"
    read -r -a b <<<"${e2e_runs[sqlite]}"
    e2e_ratio_runs+=("$(ratio "${a[-1]}" "${b[-1]}")")
    read -r -a a <<<"${server_runs[pg]}"
    read -r -a b <<<"${server_runs[sqlite]}"
    server_ratio_runs+=("$(ratio "${a[-1]}" "${b[-1]}")")
  done
  ingest_load_after=$(load)
}

# ---------------------------------------------------------------- 2. sync

lab_bucket=bench-sync-lab
mirror_bucket=bench-sync-mirror
sync_secs_runs=()
sync_calls_runs=()
sync_list_secs_runs=()
sync_mutable_secs_runs=()
sync_own_secs_runs=()
declare -A sync_requests=()

# r2-sync.sh from the lab bucket to the mirror with the timing wrapper;
# sets sync_secs and leaves its stderr in $T/sync.err.
sync_once() { # call-log
  local start
  start=$(now)
  RCLONE="$repo/bench/prod/timed_rclone.sh" RCLONE_CALL_LOG=$1 RCLONE_FLAGS="--transfers $transfers${2:+ $2}" \
    "$repo/scripts/r2-sync.sh" "rgw:$lab_bucket" "rgw:$mirror_bucket" 2>"$T/sync.err" ||
    die "r2-sync failed: $(tail -5 "$T/sync.err")"
  sync_secs=$(elapsed "$start")
}

calls_secs() { # call-log subcommand: seconds of that subcommand's calls
  awk -v c="$2" '$1 == c { s += $2 } END { printf "%.3f", s }' "$1"
}

measure_sync() {
  local start line objects immutable mutable bytes run calls
  sync_load_before=$(load)
  log "sync: generating a lab bucket of $sync_objects objects"
  start=$(now)
  read -r objects immutable mutable bytes <<<"$(python3 bench/prod/synthetic_bucket.py "$T/bucket" "$sync_objects" bench)"
  sync_generate_secs=$(elapsed "$start")
  sync_plan_immutable=$immutable sync_plan_mutable=$mutable sync_plan_objects=$objects sync_bytes=$bytes
  sync_narinfos=$(grep -c '^mutable bench/.*\.narinfo$' "$T/bucket/sync/plan")
  sync_chunks=$(grep -c '^immutable chunks/' "$T/bucket/sync/plan")
  sync_manifests=$(grep -c '^immutable manifests/' "$T/bucket/sync/plan")

  log "sync: uploading them to rgw:$lab_bucket (rclone copy --transfers $transfers)"
  rclone mkdir "rgw:$lab_bucket"
  rclone mkdir "rgw:$mirror_bucket"
  start=$(now)
  rclone copy "$T/bucket" "rgw:$lab_bucket" --transfers "$transfers" 2>"$T/upload.err" ||
    die "uploading the lab bucket: $(tail -5 "$T/upload.err")"
  sync_upload_secs=$(elapsed "$start")
  rm -rf "$T/bucket"
  line=$(rclone size --json "rgw:$lab_bucket")
  [[ $(jq .count <<<"$line") == $((objects + 1)) ]] ||
    die "the lab bucket holds $(jq .count <<<"$line") objects, not $((objects + 1)) (RGW memstore trouble? try NIXEDGE_BENCH_SYNC_OBJECTS smaller)"
  log "  uploaded in $sync_upload_secs s; RGW's OSD RSS $(osd_rss_mb) MB"

  log "sync: first mirror (scripts/r2-sync.sh, RCLONE_FLAGS=--transfers $transfers)"
  sync_once "$T/calls-first"
  sync_first_secs=$sync_secs
  grep -q "copied $immutable chunks and manifests" "$T/sync.err" ||
    die "first sync: $(cat "$T/sync.err")"
  # The mirror is the plan (and sync/status).
  rclone cat "rgw:$lab_bucket/sync/plan" | tail -n +2 | cut -d' ' -f2 | sort >"$T/plan.keys"
  rclone lsf -R --files-only "rgw:$mirror_bucket" | grep -v '^sync/' | sort >"$T/mirror.keys"
  cmp -s "$T/plan.keys" "$T/mirror.keys" || die "the mirror is not the plan after the first sync"
  log "  first mirror in $sync_first_secs s; RGW's OSD RSS $(osd_rss_mb) MB"
  sync_osd_rss=$(osd_rss_mb)

  for run in $(seq "$repeat"); do
    sync_once "$T/calls-$run"
    if ! grep -q "copied 0 chunks and manifests" "$T/sync.err" ||
      ! grep -q "deleted 0 chunks and manifests" "$T/sync.err" || ! grep -q "deleted 0 narinfos" "$T/sync.err"; then
      die "the mirror was not unchanged: $(cat "$T/sync.err")"
    fi
    calls=$(wc -l <"$T/calls-$run")
    sync_secs_runs+=("$sync_secs")
    sync_calls_runs+=("$calls")
    sync_list_secs_runs+=("$(calls_secs "$T/calls-$run" lsf)")
    sync_mutable_secs_runs+=("$(calls_secs "$T/calls-$run" copy)")
    sync_own_secs_runs+=("$(awk -v t="$sync_secs" '{ s += $2 } END { printf "%.3f", t - s }' "$T/calls-$run")")
    sync_call_list=$(awk '{ print $1 }' "$T/calls-$run" | list)
    log "  unchanged mirror, run $run: $sync_secs s, $calls rclone calls ($sync_call_list); listing ${sync_list_secs_runs[-1]} s, mutable copy/check ${sync_mutable_secs_runs[-1]} s, outside rclone ${sync_own_secs_runs[-1]} s"
  done

  # One more run with rclone's --dump headers: every HTTP request, counted by
  # method and bucket (a GET of the bucket itself is a listing page).
  sync_once "$T/calls-dump" "--dump headers --log-file $T/dump.log"
  sync_dump_secs=$sync_secs
  while read -r count kind; do
    sync_requests[$kind]=$count
  done < <(awk -v lab="$lab_bucket" -v mirror="$mirror_bucket" '
    /HTTP REQUEST/ {
      if ((getline line) <= 0) next
      n = split(line, f, " "); method = f[5]; target = f[6]
      path = target; sub(/\?.*/, "", path)
      bucket = path; sub(/^\//, "", bucket); sub(/\/.*/, "", bucket)
      side = (bucket == lab) ? "source" : (bucket == mirror) ? "mirror" : "other"
      kind = (method == "GET" && path == "/" bucket && target ~ /\?/) ? "LIST" : method
      print kind "-" side }' "$T/dump.log" | sort | uniq -c)
  rm -f "$T/dump.log"
  sync_load_after=$(load)
}

# ---------------------------------------------------------------- 3. GC

# ---------------------------------------------------------------- 3. GC

# bench/gc/gc_bench.cpp on each setup: $gc_paths paths published (11 objects
# each: 9 small chunks, a manifest, a narinfo), left to expire, then the three
# GC runs that remove them timed: the paths and their narinfos, a grace
# period later their NARs, a grace period after that their chunks.
gc_paths=${NIXEDGE_BENCH_GC_PATHS:-9100}
gc_bench_bin=$(realpath -m "${NIXEDGE_GC_BENCH:-build/bin/nixedge-gc-bench}")
gc_rows=()
gc_config() { # DATA_DIR [STORAGE TOML]
  printf '[server]\ndata_dir = "%s"\n%s\n[gc]\ninterval = "0"\norphan_grace = "4s"\n[sync]\ninterval = "1s"\nmax_duration = "1s"\nedge_narinfo_ttl = "1s"\n' "$1" "${2:-}"
}
gc_field() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" <<<"$1"; } # LINE KEY: KEY's value in a key=value line
gc_setup_run() { # NAME: one gc_bench run, its output lines in $T/gc-NAME.out
  local name=$1
  NIXEDGE_TOKEN_HS256_SECRET=$(openssl rand -hex 32) "$gc_bench_bin" "$T/gc-$name.toml" "$gc_paths" \
    >"$T/gc-$name.out" 2>"$T/gc-$name.err" || die "gc bench ($name): $(tail -5 "$T/gc-$name.err")"
  local phase setup total=0 line row
  setup=$(grep '^setup ' "$T/gc-$name.out")
  row="| $name | $(gc_field "$setup" objects) | $(gc_field "$setup" seconds)"
  for phase in paths nars chunks; do
    line=$(grep "^gc phase=$phase " "$T/gc-$name.out")
    row+=" | $(gc_field "$line" seconds) ($(gc_field "$line" objects_per_s)/s)"
    total=$(awk -v t="$total" -v s="$(gc_field "$line" seconds)" 'BEGIN { printf "%.3f", t + s }')
  done
  gc_rows+=("$row | $total |")
  log "gc $name: $(tr '\n' ' ' <"$T/gc-$name.out")"
}
measure_gc() {
  wants gc || return 0
  [[ -x $gc_bench_bin ]] || die "no $gc_bench_bin (make build-native, or NIXEDGE_GC_BENCH=path)"
  gc_load_before=$(load)
  gc_config "$T/gc-local" >"$T/gc-sqlite+dir.toml"
  gc_setup_run "sqlite+dir"
  psql_admin -c "CREATE DATABASE gc_bench OWNER nixedge"
  rclone mkdir rgw:gc-bench
  gc_config "$T/gc-s3" "[storage]
type = \"s3\"
[storage.s3]
endpoint = \"$RGW_ENDPOINT\"
bucket = \"gc-bench\"" >"$T/gc-postgres+rgw.toml"
  # The URL carries the password: the server takes it from the environment.
  NIXEDGE_DATABASE_URL=${NIXEDGE_TEST_POSTGRES_URL%/*}/gc_bench gc_setup_run "postgres+rgw"
  gc_load_after=$(load)
}

# ---------------------------------------------------------------- report

machine() {
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; memory $(free -g | awk '/^Mem:/ {print $2}') GiB; kernel $(uname -r); $(. /etc/os-release; echo "$PRETTY_NAME")"
  echo "- **shared and noisy**: other engineers build C++ on the same $(nproc) cores during the runs; load averages (1, 5, 15 min) are given per part below"
  echo "- nixedge-server binary built $(date -r "$server_bin" -u '+%Y-%m-%d %H:%M') UTC (checkout at $(git rev-parse --short HEAD)), native Release, default [server] threads and zstd level 3"
  echo "- $(radosgw --version | sed 's/ (.*//') radosgw, one memstore OSD and one monitor (tests/lib/rgw.sh) on 127.0.0.1; PostgreSQL $("${PG_BINDIR:-/usr/lib/postgresql/15/bin}/postgres" --version | awk '{print $3}') with fsync off (tests/lib/postgres.sh); $(rclone version | head -1); $(nix --version)"
  echo "- everything (Nix, the servers, RGW, PostgreSQL, rclone) on the same cores; measured $(date -u +%Y-%m-%d)"
}

report() {
  {
    echo "<!-- prod-benchmarks:begin -->"
    echo "## Production setup: PostgreSQL + RGW, and the sync (\`bench/run.sh prod\`)"
    echo
    echo "Side by side in one run, on a **shared, noisy machine**: the two setups alternate within each run"
    echo "(which goes first alternates too), each figure is the median of the runs listed under it and"
    echo "the ratio the median of the per-run ratios. Read the ratios and the runs; the absolute numbers"
    echo "move with what else the machine is doing. Machine:"
    echo
    machine
    echo
    if wants ingest; then
      local nar_mb
      nar_mb=$(mb "$(m "${push_nar_bytes[@]}")")
      # shellcheck disable=SC2086 # the runs are space-separated words
      {
        echo "### Push ingest: PostgreSQL + RGW against SQLite + local directory"
        echo
        echo "\`nix copy --to 'http://127.0.0.1:PORT/bench?compression=zstd'\` of one store path of $nar_mb MB of NAR (16 files, half random bytes, half base64 text), fresh data for every push, a fresh server (and database and bucket) for every push; $ingest_runs runs, load averages $ingest_load_before before and $ingest_load_after after."
        echo
        echo "| figure | PostgreSQL + RGW | SQLite + local dir | PG+RGW / SQLite+dir |"
        echo "|---|---|---|---|"
        echo "| push, end to end, MB/s of NAR (wall time of \`nix copy\`, Nix's own zstd included) | $(fmt "$(m ${e2e_runs[pg]})") | $(fmt "$(m ${e2e_runs[sqlite]})") | $(fmt "$(m "${e2e_ratio_runs[@]}")" 3)x |"
        echo "| push, server side, MB/s of NAR (time in the NAR PUT, access log) | $(fmt "$(m ${server_runs[pg]})") | $(fmt "$(m ${server_runs[sqlite]})") | $(fmt "$(m "${server_ratio_runs[@]}")" 3)x |"
        echo "| server CPU seconds per push (user + system, from its start) | $(fmt "$(m ${cpu_runs[pg]})" 2) | $(fmt "$(m ${cpu_runs[sqlite]})" 2) | $(fmt "$(ratio "$(m ${cpu_runs[pg]})" "$(m ${cpu_runs[sqlite]})")" 3)x |"
        echo "| RGW + PostgreSQL CPU seconds during the push (all their processes, on the same cores) | $(fmt "$(m ${services_cpu_runs[pg]})" 2) | (idle: $(fmt "$(m ${services_cpu_runs[sqlite]})" 2)) | — |"
        echo "| peak server RSS (VmHWM), median / highest of the pushes | $(fmt "$(m ${rss_runs[pg]})") / $(fmt "$(printf '%s\n' ${rss_runs[pg]} | sort -g | tail -1)") MB | $(fmt "$(m ${rss_runs[sqlite]})") / $(fmt "$(printf '%s\n' ${rss_runs[sqlite]} | sort -g | tail -1)") MB | $(fmt "$(ratio "$(m ${rss_runs[pg]})" "$(m ${rss_runs[sqlite]})")" 3)x |"
        echo "| stored (chunk frames + manifest) per push | $(fmt "$(m ${stored_runs[pg]})") MB | $(fmt "$(m ${stored_runs[sqlite]})") MB | — |"
        echo
        echo "Runs (the setup that went first in each: $(runs "${push_order[@]}")):"
        echo
        echo "- end to end MB/s: PG+RGW $(runs ${e2e_runs[pg]}); SQLite+dir $(runs ${e2e_runs[sqlite]}); ratios $(runs "${e2e_ratio_runs[@]}")"
        echo "- server side MB/s: PG+RGW $(runs ${server_runs[pg]}); SQLite+dir $(runs ${server_runs[sqlite]}); ratios $(runs "${server_ratio_runs[@]}")"
        echo "- server CPU s: PG+RGW $(runs ${cpu_runs[pg]}); SQLite+dir $(runs ${cpu_runs[sqlite]})"
        echo "- RGW + PostgreSQL CPU s during the push: PG+RGW $(runs ${services_cpu_runs[pg]}); SQLite+dir (the services idle) $(runs ${services_cpu_runs[sqlite]})"
        echo "- peak RSS MB: PG+RGW $(runs ${rss_runs[pg]}); SQLite+dir $(runs ${rss_runs[sqlite]})"
        echo
      }
    fi
    if wants sync; then
      local secs
      secs=$(m "${sync_secs_runs[@]}")
      echo "### Sync of an unchanged mirror of $sync_plan_objects objects (the listing cost)"
      echo
      echo "\`scripts/r2-sync.sh rgw:$lab_bucket rgw:$mirror_bucket\` with \`RCLONE_FLAGS=--transfers $transfers\`, both buckets on the RGW above; the lab bucket holds $sync_chunks chunks, $sync_manifests manifests, $sync_narinfos narinfos, the layout marker and nix-cache-info ($(mb "$sync_bytes") MB, small synthetic objects laid out as the server writes them), listed by a real-format \`sync/plan\` ($sync_plan_immutable immutable, $sync_plan_mutable mutable keys). Load averages $sync_load_before before and $sync_load_after after."
      echo
      echo "| figure | value |"
      echo "|---|---|"
      echo "| set-up: generate the objects locally | $(fmt "$sync_generate_secs") s |"
      echo "| set-up: \`rclone copy --transfers $transfers\` of them into the lab bucket | $(fmt "$sync_upload_secs") s ($(per_s "$sync_plan_objects" "$sync_upload_secs") objects/s) |"
      echo "| first sync to an empty mirror (server-side copies within RGW) | $(fmt "$sync_first_secs") s ($(per_s "$sync_plan_objects" "$sync_first_secs") objects/s) |"
      echo "| **sync of the unchanged mirror**, median of $repeat runs | **$(fmt "$secs") s** ($(per_s "$sync_plan_objects" "$secs") objects/s) |"
      echo "| of which the listing of the mirror (\`rclone lsf -R\`) | $(fmt "$(m "${sync_list_secs_runs[@]}")") s |"
      echo "| of which copying/checking the $sync_plan_mutable mutable keys (\`rclone copy --files-from-raw --checksum\`, listing their directories) | $(fmt "$(m "${sync_mutable_secs_runs[@]}")") s |"
      echo "| of which r2-sync.sh's own work outside rclone (splitting the plan, sort, comm) | $(fmt "$(m "${sync_own_secs_runs[@]}")") s |"
      echo "| rclone calls per run | $(m "${sync_calls_runs[@]}") ($sync_call_list) |"
      echo "| HTTP requests per run (\`--dump headers\` run, $(fmt "$sync_dump_secs") s) | $(for k in "${!sync_requests[@]}"; do echo "${sync_requests[$k]} $k"; done | sort -rn | awk '{ t += $1; s = s (NR > 1 ? ", " : "") $1 " " $2 } END { printf "%d: %s", t, s }') |"
      echo "| RGW's OSD resident memory with both buckets loaded (memstore) | $sync_osd_rss MB |"
      echo
      echo "Runs (s): $(runs "${sync_secs_runs[@]}"); listing $(runs "${sync_list_secs_runs[@]}"); mutable copy/check $(runs "${sync_mutable_secs_runs[@]}"); outside rclone $(runs "${sync_own_secs_runs[@]}"). Request kinds: LIST is a GET of the bucket (one listing page of up to 1000 keys), the side is the bucket (source: the lab's, mirror: the copy)."
      echo
    fi
    echo "### GC"
    echo
    if ((${#gc_rows[@]} > 0)); then
      echo "\`nixedge-gc-bench\` (bench/gc/gc_bench.cpp): $gc_paths paths in an edge cache, each with its own NAR of"
      echo "9 small chunks (11 objects a path, plus listings), published through the metadata store and the"
      echo "storage, left to expire, then the three GC runs that remove them, timed (seconds, and objects removed"
      echo "per second: paths, NARs, chunks). Setup is the publishing, for scale. Load $gc_load_before before, $gc_load_after after."
      echo
      echo "| setup | objects | setup s | GC paths (+ narinfos) | GC NARs (manifests) | GC chunks | GC total s |"
      echo "|---|---|---|---|---|---|---|"
      printf '%s\n' "${gc_rows[@]}"
    else
      echo "GC: not measured in this run (NIXEDGE_BENCH_ONLY)."
    fi
    if ((forced_kills > 0)); then
      echo
      echo "- **nixedge-server did not exit within 15 s of SIGTERM $forced_kills time(s)** and was killed"
    fi
    echo
    echo "<!-- prod-benchmarks:end -->"
  } >"$out"
}

main() {
  [[ -x $server_bin ]] || die "no $server_bin (make build-native, or NIXEDGE_SERVER=path)"
  for tool in nix nix-store curl jq rclone python3 psql radosgw openssl; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh)"
  done
  [[ $(id -u) == 0 ]] || die "needs root (RGW, PostgreSQL, the chroot Nix store)"
  start_fixtures
  wants ingest && measure_ingest
  wants sync && measure_sync
  measure_gc
  report
  log "done in $SECONDS s"
}

# Sourcing this file (tests of single pieces) defines the functions only.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main
fi
