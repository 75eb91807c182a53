#!/usr/bin/env bash
# bench/push_bench.sh OUT: pushing a closure of >= 1 GB of real files, side by
# side in one run (docs/benchmarks.md, "Push: nixedge push against nix copy").
# Writes the markdown section to OUT; progress goes to stderr. Called by
# bench/run.sh push.
#
# Each run, one after the other on the same machine state:
#  1. the ingest bound: the core alone (NAR validation, SHA-256, FastCDC,
#     zstd level 3) on both cores, no I/O (`nixedge-bench ingest-bound`);
#  2. `nixedge push` of the closure to a fresh nixedge-server (SQLite + local
#     directory): the NAR travels uncompressed over loopback, the server does
#     the rest;
#  3. `nix copy --to 'http://…?compression=zstd'` of the same closure to a
#     fresh nixedge-server;
#  4. `nix copy --to 'file://…?compression=zstd'` (Nix alone, no server).
# Each server's data directory stays until the end (with $T): deleting a
# thousand chunk files just before the next push made ext4 scan the recently
# freed inodes on every file it created (perf: find_inode_bit,
# recently_deleted), a cost of the benchmark's clean-up, not of a push.
# Figures: wall time, MB/s of NAR, server CPU, client CPU, stored bytes;
# targets: nixedge push >= 70 % of the bound, >= 1.5x `nix copy` to http://.
#
# Environment: NIXEDGE_BENCH_REPEAT (runs, default 3), NIXEDGE_BENCH_CLOSURE_MB
# (default 1100), NIXEDGE_SERVER, NIXEDGE_CLIENT, NIXEDGE_BENCH_BIN (binaries,
# default build/bin/...), NIXEDGE_PUSH_JOBS (nixedge push --jobs, default its own).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:?usage: bench/push_bench.sh OUT}

repeat=${NIXEDGE_BENCH_REPEAT:-3}
closure_mb=${NIXEDGE_BENCH_CLOSURE_MB:-1100}
big_min_mb=300
server_bin=$(realpath -m "${NIXEDGE_SERVER:-build/bin/nixedge-server}")
client_bin=$(realpath -m "${NIXEDGE_CLIENT:-build/bin/nixedge}")
bench_bin=$(realpath -m "${NIXEDGE_BENCH_BIN:-build/bin/nixedge-bench}")
jobs_option=()
[[ -n ${NIXEDGE_PUSH_JOBS:-} ]] && jobs_option=(--jobs "$NIXEDGE_PUSH_JOBS")

T=$(mktemp -d "${TMPDIR:-/tmp}/nixedge-push-bench.XXXXXX")
started=()
cleanup() {
  local pid
  for pid in "${started[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      stop_pid "$pid"
    fi
  done
  rm -rf "$T"
}
trap cleanup EXIT

bench_name=push-bench
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_nix_env
for bin in "$server_bin" "$client_bin" "$bench_bin"; do
  [[ -x $bin ]] || die "$bin is missing: build first (make build-native)"
done

mb_per_s() { awk -v b="$closure_bytes" -v s="$1" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
# timed OUT COMMAND...: runs it, writes "wall user+system" of it and its children to OUT.
timed() {
  local out=$1
  shift
  /usr/bin/time -f '%e %U %S' -o "$out.time" "$@"
  awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$out.time" >"$out"
}

bound_runs=() bound_cpu_runs=()
nixedge_wall=() nixedge_rate=() nixedge_server_rate=() nixedge_server_cpu=() nixedge_client_cpu=()
nixedge_stored=() nixedge_rss=() nixedge_bound_ratio=() nixedge_http_ratio=()
http_wall=() http_rate=() http_server_cpu=() http_client_cpu=() http_stored=()
file_wall=() file_rate=() file_cpu=() file_stored=()

bound_once() {
  local line
  line=$("$bench_bin" ingest-bound --threads 2 --level 3 --repeat 1 "${nar_files[@]}")
  bound_runs+=("$(sed -n 's/.*ingest_bound_mb_per_s=\([0-9.]*\).*/\1/p' <<<"$line")")
  bound_cpu_runs+=("$(sed -n 's/.* mb_per_cpu_s=\([0-9.]*\).*/\1/p' <<<"$line")")
  bound_detail=$line
  log "  ingest bound: ${bound_runs[-1]} MB/s"
}

nixedge_once() {
  local run=$1 wall cpu rate busy token
  start_server "nixedge-$run" bench
  token=$(awk '{ print $4 }' "$srv_netrc")
  export XDG_CONFIG_HOME=$T/client-$run
  "$client_bin" login bench "http://127.0.0.1:$srv_port" "$token" >/dev/null
  timed "$T/nixedge-$run" "$client_bin" push "${jobs_option[@]}" --store "$store" bench "${closure[@]}" \
    2>"$T/nixedge-$run.log" || {
    tail -20 "$T/nixedge-$run.log" >&2
    die "nixedge push failed"
  }
  unset XDG_CONFIG_HOME
  read -r wall cpu <"$T/nixedge-$run"
  nixedge_wall+=("$wall")
  nixedge_rate+=("$(mb_per_s "$wall")")
  nixedge_client_cpu+=("$cpu")
  nixedge_server_cpu+=("$(cpu_seconds "$srv_pid")")
  nixedge_rss+=("$(peak_rss_mb "$srv_pid")")
  read -r rate busy <<<"$(access_log_ingest_rate "$srv_dir/stderr" "$closure_bytes" attic-upload-path)"
  nixedge_server_rate+=("$(fmt "$rate")")
  nixedge_stored+=("$(mb "$(bucket_stored_bytes "$srv_dir/data/bucket")")")
  nixedge_bound_ratio+=("$(ratio "${nixedge_rate[-1]}" "${bound_runs[-1]}")")
  log "  nixedge push: $wall s, ${nixedge_rate[-1]} MB/s (server side ${nixedge_server_rate[-1]} MB/s over $busy s), server CPU ${nixedge_server_cpu[-1]} s, client CPU $cpu s, stored ${nixedge_stored[-1]} MB"
  log "    its summary: $(tail -1 "$T/nixedge-$run.log")"
  stop_pid "$srv_pid"
}

http_once() {
  local run=$1 wall cpu
  start_server "http-$run" bench
  timed "$T/http-$run" nix --store "$store" copy --option download-attempts 1 \
    --to "http://127.0.0.1:$srv_port/bench?compression=zstd" --option netrc-file "$srv_netrc" \
    "${closure[@]}" 2>>"$T/nix.log" || {
    tail -20 "$T/nix.log" >&2
    die "nix copy to http:// failed"
  }
  read -r wall cpu <"$T/http-$run"
  http_wall+=("$wall")
  http_rate+=("$(mb_per_s "$wall")")
  http_client_cpu+=("$cpu")
  http_server_cpu+=("$(cpu_seconds "$srv_pid")")
  http_stored+=("$(mb "$(bucket_stored_bytes "$srv_dir/data/bucket")")")
  nixedge_http_ratio+=("$(ratio "${nixedge_rate[-1]}" "${http_rate[-1]}")")
  log "  nix copy to http://: $wall s, ${http_rate[-1]} MB/s, server CPU ${http_server_cpu[-1]} s, client CPU $cpu s, stored ${http_stored[-1]} MB"
  stop_pid "$srv_pid"
}

file_once() {
  local run=$1 wall cpu
  rm -rf "$T/filecache"
  timed "$T/file-$run" nix --store "$store" copy --to "file://$T/filecache?compression=zstd" \
    "${closure[@]}" 2>>"$T/nix.log" || die "nix copy to file:// failed"
  read -r wall cpu <"$T/file-$run"
  file_wall+=("$wall")
  file_rate+=("$(mb_per_s "$wall")")
  file_cpu+=("$cpu")
  file_stored+=("$(mb "$(nix_cache_bytes "$T/filecache")")")
  log "  nix copy to file://: $wall s, ${file_rate[-1]} MB/s, CPU $cpu s, stored ${file_stored[-1]} MB"
  rm -rf "$T/filecache"
}

prepare_closure
log "closure: ${#closure[@]} paths, $closure_bytes NAR bytes (largest: $big_src, $big_bytes bytes)"
for run in $(seq "$repeat"); do
  log "run $run of $repeat"
  bound_once
  nixedge_once "$run"
  http_once "$run"
  file_once "$run"
done

med() { printf '%s\n' "$@" | median; }
bound=$(med "${bound_runs[@]}")
bound_ratio=$(med "${nixedge_bound_ratio[@]}")
http_ratio=$(med "${nixedge_http_ratio[@]}")
pct() { awk -v r="$1" 'BEGIN { if (r == "nan") print "n/a"; else printf "%.1f %%", r * 100 }'; }
{
  echo '<!-- push-benchmarks:begin -->'
  # shellcheck disable=SC2016 # Markdown backquotes
  echo '## Push: `nixedge push` against `nix copy` (`bench/run.sh push`)'
  echo
  echo "One closure of $(mb "$closure_bytes") MB of NARs (${#closure[@]} store paths made of this machine's /usr files, the largest $(mb "$big_bytes") MB), pushed $repeat times by each client, one after the other within each run; medians, and ratios as the median of the per-run ratios. Machine:"
  echo
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(free -g | awk '/^Mem:/ {print $2}') GiB; $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "- nixedge-server on SQLite + a local directory, zstd level 3, one fresh server per push; $(nix --version); clients and server on the same cores; measured $(date -u +%Y-%m-%d)"
  echo
  echo "| figure | \`nixedge push\` | \`nix copy\` to http:// (zstd) | \`nix copy\` to file:// (zstd) | bound (core alone, 2 cores) |"
  echo "|---|---|---|---|---|"
  echo "| wall time, s | $(med "${nixedge_wall[@]}") | $(med "${http_wall[@]}") | $(med "${file_wall[@]}") | — |"
  echo "| MB/s of NAR, end to end | $(med "${nixedge_rate[@]}") | $(med "${http_rate[@]}") | $(med "${file_rate[@]}") | $bound |"
  echo "| MB/s of NAR, server side (time in uploads, access log) | $(med "${nixedge_server_rate[@]}") | — | — | — |"
  echo "| server CPU, s (user + system) | $(med "${nixedge_server_cpu[@]}") | $(med "${http_server_cpu[@]}") | — | — |"
  echo "| client CPU, s (user + system, with children) | $(med "${nixedge_client_cpu[@]}") | $(med "${http_client_cpu[@]}") | $(med "${file_cpu[@]}") | — |"
  echo "| stored MB (chunks + manifests; Nix: .nar.zst files) | $(med "${nixedge_stored[@]}") | $(med "${http_stored[@]}") | $(med "${file_stored[@]}") | — |"
  echo "| peak server RSS, MB | $(med "${nixedge_rss[@]}") | — | — | — |"
  echo
  echo "| target | measured | verdict |"
  echo "|---|---|---|"
  echo "| \`nixedge push\` >= 70 % of the bound | $(pct "$bound_ratio") | $(verdict "$bound_ratio" '>=' 0.7) |"
  echo "| \`nixedge push\` >= 1.5x \`nix copy\` to http:// | $(fmt "$http_ratio" 2)x | $(verdict "$http_ratio" '>=' 1.5) |"
  echo
  echo "Runs:"
  echo
  echo "- bound MB/s: $(printf '%s\n' "${bound_runs[@]}" | list); detail (last run): \`$bound_detail\`"
  echo "- \`nixedge push\` wall s: $(printf '%s\n' "${nixedge_wall[@]}" | list); / bound: $(printf '%s\n' "${nixedge_bound_ratio[@]}" | list); / \`nix copy\` http: $(printf '%s\n' "${nixedge_http_ratio[@]}" | list)"
  echo "- \`nixedge push\` server-side MB/s: $(printf '%s\n' "${nixedge_server_rate[@]}" | list); server CPU s: $(printf '%s\n' "${nixedge_server_cpu[@]}" | list); client CPU s: $(printf '%s\n' "${nixedge_client_cpu[@]}" | list)"
  echo "- \`nix copy\` http:// wall s: $(printf '%s\n' "${http_wall[@]}" | list); server CPU s: $(printf '%s\n' "${http_server_cpu[@]}" | list)"
  echo "- \`nix copy\` file:// wall s: $(printf '%s\n' "${file_wall[@]}" | list)"
  echo
  echo '<!-- push-benchmarks:end -->'
} >"$out"
log "done"
