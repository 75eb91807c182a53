#!/usr/bin/env bash
# bench/lab_bench.sh OUT: the lab server against its baselines, side by side in
# one run (docs/benchmarks.md, "Lab server against baselines"). Writes the
# markdown section to OUT; progress goes to stderr. Called by bench/run.sh.
#
#  1. narinfo GET req/s and p99 (wrk, keep-alive) vs nginx serving the same
#     narinfo files statically;
#  2. NAR download MB/s of one multi-chunk NAR (>= 256 MB) vs nginx serving
#     the same .nar.zst bytes as one static file;
#  3. push ingest MB/s (`nix copy`, compression=none) and peak RSS, vs the CPU
#     bound of the same work on both cores (`nixedge-bench ingest-bound`) and
#     `nix copy` to a file:// cache with zstd;
#  4. stored bytes for two releases of real software (npm's typescript) vs
#     Nix's own file:// cache (zstd) of the same store paths.
#
# Data are real files of this machine's /usr added to a chroot Nix store.
# Everything lives in one mktemp directory, removed at the end; every server
# listens on 127.0.0.1 only and is stopped by its PID.
#
# Environment: NIXEDGE_BENCH_REPEAT (runs per figure, default 3),
# NIXEDGE_BENCH_CLOSURE_MB (closure size, default 1100), NIXEDGE_SERVER and
# NIXEDGE_BENCH_BIN (binaries, default build/bin/...), NIXEDGE_BENCH_ONLY
# (space-separated subset of: narinfo nar ingest dedup).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:?usage: bench/lab_bench.sh OUT}

repeat=${NIXEDGE_BENCH_REPEAT:-3}
closure_mb=${NIXEDGE_BENCH_CLOSURE_MB:-1100}
big_min_mb=300 # the download NAR: the smallest /usr entry at least this big
server_bin=$(realpath -m "${NIXEDGE_SERVER:-build/bin/nixedge-server}")
bench_bin=$(realpath -m "${NIXEDGE_BENCH_BIN:-build/bin/nixedge-bench}")
lua_script=$(realpath bench/lab/narinfo.lua)
only=" ${NIXEDGE_BENCH_ONLY:-narinfo nar ingest dedup} "
wants() { [[ $only == *" $1 "* ]]; }
npm_releases=(typescript@5.4.5 typescript@5.5.4)

T=$(mktemp -d "${TMPDIR:-/tmp}/nixedge-lab-bench.XXXXXX")
started=() # PIDs of the servers this script started
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

bench_name=lab-bench
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_nix_env

# ---------------------------------------------------------------- nginx

nginx_dir=$T/nginx
nginx_pid=
nginx_port=
start_nginx() { # serves $nginx_dir/www on 127.0.0.1, 2 workers, sendfile
  mkdir -p "$nginx_dir/www" "$nginx_dir/tmp"
  for attempt in 1 2 3; do
    nginx_port=$(free_port)
    cat >"$nginx_dir/nginx.conf" <<EOF
daemon off;
user root;
worker_processes $(nproc);
pid $nginx_dir/nginx.pid;
error_log $nginx_dir/error.log warn;
events { worker_connections 4096; }
http {
  types { text/x-nix-narinfo narinfo; application/zstd zst; text/plain nix-cache-info; }
  default_type application/octet-stream;
  access_log $nginx_dir/access.log;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 75s;
  keepalive_requests 1000000;
  client_body_temp_path $nginx_dir/tmp/body;
  proxy_temp_path $nginx_dir/tmp/proxy;
  fastcgi_temp_path $nginx_dir/tmp/fastcgi;
  uwsgi_temp_path $nginx_dir/tmp/uwsgi;
  scgi_temp_path $nginx_dir/tmp/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    root $nginx_dir/www;
  }
}
EOF
    nginx -p "$nginx_dir" -c "$nginx_dir/nginx.conf" -e "$nginx_dir/error.log" &
    nginx_pid=$!
    started+=("$nginx_pid")
    for _ in $(seq 50); do
      curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && return 0
      kill -0 "$nginx_pid" 2>/dev/null || break
      sleep 0.1
    done
    stop_pid "$nginx_pid"
    log "nginx did not start on port $nginx_port (attempt $attempt): $(tail -2 "$nginx_dir/error.log" 2>/dev/null)"
  done
  die "nginx would not start"
}

# ---------------------------------------------------------------- lab server

stored_bytes() { bucket_stored_bytes "$1/data/bucket"; }

# ---------------------------------------------------------------- data

prepare_data() {
  prepare_closure
  local docs=()
  for entry in /usr/share/doc/*; do
    valid_name "$(basename "$entry")" && docs+=("$entry")
  done
  mapfile -t small < <(nix_store --add "${docs[@]}")
  log "closure: ${#closure[@]} paths, $closure_bytes NAR bytes; download NAR: $big_src ($big_bytes bytes); narinfo set: ${#small[@]} more paths"
}

# ---------------------------------------------------------------- figures

# 3. The ingest bound, nix copy to file://, and pushes to the lab server.
bound_runs=()
filecache_runs=()
push_runs=()
push_e2e_runs=()
push_rss_runs=()
push_cpu_runs=()
bound_once() {
  local line
  line=$("$bench_bin" ingest-bound --threads 2 --level 3 --repeat 1 "${nar_files[@]}")
  bound_runs+=("$(sed -n 's/.*ingest_bound_mb_per_s=\([0-9.]*\).*/\1/p' <<<"$line")")
  bound_cpu_runs+=("$(sed -n 's/.* mb_per_cpu_s=\([0-9.]*\).*/\1/p' <<<"$line")")
  bound_detail=$line
  log "  ingest bound: ${bound_runs[-1]} MB/s ($line)"
}

filecache_once() {
  local start secs
  rm -rf "$T/filecache"
  start=$(now)
  nix_copy --to "file://$T/filecache?compression=zstd" "${closure[@]}"
  secs=$(elapsed "$start")
  filecache_runs+=("$(awk -v b="$closure_bytes" -v s="$secs" 'BEGIN { printf "%.1f", b / 1e6 / s }')")
  log "  nix copy to file:// (zstd): $secs s, ${filecache_runs[-1]} MB/s"
  rm -rf "$T/filecache"
}

# Server side: the closure's NARs PUT by curl straight from files (page
# cache), two at a time as Nix uploads, largest first, each on its own
# connection, to Nix's URL for compression=none (nar/<file hash>.nar, which
# is the NAR hash). The server is then the only thing working on the bytes.
# End to end: `nix copy`, which also reads the chroot store and builds each
# NAR in memory first. A fresh server for each push; the last `nix copy`
# server stays up (srv_*) for the download figures.
push_with_curl() {
  local hashes i list=$T/put-list
  mapfile -t hashes < <(nix_store -q --hash "${closure[@]}")
  : >"$list"
  for i in "${!closure[@]}"; do
    printf '%s %s\n' "$(stat -c %s "${nar_files[$i]}")" \
      "${nar_files[$i]} http://127.0.0.1:$srv_port/bench/nar/${hashes[$i]#sha256:}.nar" >>"$list"
  done
  sort -rn "$list" | cut -d' ' -f2- |
    xargs -P 2 -n 2 sh -c 'curl -sSf -o /dev/null --netrc-file "$0" -H "Content-Type: application/x-nix-nar" -T "$1" "$2"' "$srv_netrc"
}
# One run of each ingest figure after the other, so that all of them see the
# same state of a shared, noisy machine; the verdict takes the median of the
# per-run ratios.
push_ratio_runs=()
push_nix_cpu_runs=()
bound_cpu_runs=()
cpu_eff_runs=()
push_nix_server_runs=()
push_nix_ratio_runs=()
measure_ingest() {
  local run start secs rate busy
  for run in $(seq "$repeat"); do
    log "ingest run $run of $repeat"
    bound_once

    start_server "curl-$run" bench
    start=$(now)
    push_with_curl
    secs=$(elapsed "$start")
    push_runs+=("$(awk -v b="$closure_bytes" -v s="$secs" 'BEGIN { printf "%.1f", b / 1e6 / s }')")
    push_rss_runs+=("$(peak_rss_mb "$srv_pid")")
    push_cpu_runs+=("$(cpu_seconds "$srv_pid")")
    push_ratio_runs+=("$(ratio "${push_runs[-1]}" "${bound_runs[-1]}")")
    cpu_eff_runs+=("$(ratio "$(awk -v b="$closure_bytes" -v c="${push_cpu_runs[-1]}" 'BEGIN { printf "%.3f", b / 1e6 / c }')" "${bound_cpu_runs[-1]}")")
    log "  curl PUTs to the lab server: $secs s, ${push_runs[-1]} MB/s, peak RSS ${push_rss_runs[-1]} MB, server CPU ${push_cpu_runs[-1]} s"
    stop_pid "$srv_pid"
    rm -rf "$srv_dir"

    start_server "nix-$run" bench
    start=$(now)
    nix_copy --to "http://127.0.0.1:$srv_port/bench?compression=none" \
      --option netrc-file "$srv_netrc" "${closure[@]}"
    secs=$(elapsed "$start")
    push_e2e_runs+=("$(awk -v b="$closure_bytes" -v s="$secs" 'BEGIN { printf "%.1f", b / 1e6 / s }')")
    push_rss_runs+=("$(peak_rss_mb "$srv_pid")")
    push_nix_cpu_runs+=("$(cpu_seconds "$srv_pid")")
    read -r rate busy <<<"$(access_log_ingest_rate "$srv_dir/stderr")"
    push_nix_server_runs+=("$(fmt "$rate")")
    push_nix_ratio_runs+=("$(ratio "${push_nix_server_runs[-1]}" "${bound_runs[-1]}")")
    log "  nix copy to the lab server: $secs s, ${push_e2e_runs[-1]} MB/s end to end; server side ${push_nix_server_runs[-1]} MB/s ($busy s in NAR PUTs); peak RSS ${push_rss_runs[-1]} MB, server CPU ${push_nix_cpu_runs[-1]} s"
    if ((run < repeat)); then
      stop_pid "$srv_pid"
      rm -rf "$srv_dir"
    fi

    filecache_once
  done
}

# The narinfo set and the download NAR, fetched once from the live server
# into nginx's root under the same URL paths.
small_push_secs=nan
mirror_to_nginx() {
  local start
  start=$(now)
  nix_copy --to "http://127.0.0.1:$srv_port/bench?compression=none" \
    --option netrc-file "$srv_netrc" "${small[@]}"
  small_push_secs=$(elapsed "$start")
  log "  pushed the narinfo set (${#small[@]} paths) in $small_push_secs s"

  local urls=$T/narinfo-urls conf=$T/curl-narinfos path
  : >"$urls"
  echo 'fail' >"$conf"
  echo 'create-dirs' >>"$conf"
  for path in "${closure[@]}" "${small[@]}"; do
    local hash
    hash=$(basename "$path" | cut -c1-32)
    echo "/bench/$hash.narinfo" >>"$urls"
    printf 'url = "http://127.0.0.1:%s/bench/%s.narinfo"\noutput = "%s/www/bench/%s.narinfo"\n' \
      "$srv_port" "$hash" "$nginx_dir" "$hash" >>"$conf"
  done
  printf 'url = "http://127.0.0.1:%s/bench/nix-cache-info"\noutput = "%s/www/bench/nix-cache-info"\n' \
    "$srv_port" "$nginx_dir" >>"$conf"
  curl -s -K "$conf"
  narinfo_count=$(wc -l <"$urls")
  narinfo_urls=$urls

  local big_hash nar_url
  big_hash=$(basename "$big" | cut -c1-32)
  nar_url=$(sed -n 's/^URL: //p' "$nginx_dir/www/bench/$big_hash.narinfo")
  [[ $nar_url == nar/*.nar.zst ]] || die "unexpected NAR URL '$nar_url' in $big_hash.narinfo"
  big_nar_path=/bench/$nar_url
  curl -sf -o "$nginx_dir/www$big_nar_path" --create-dirs "http://127.0.0.1:$srv_port$big_nar_path"
  zstd -dc "$nginx_dir/www$big_nar_path" | cmp -s - "$T/nars/0.nar" ||
    die "the server's $big_nar_path does not decompress to the NAR of $big"
  big_zst_bytes=$(stat -c %s "$nginx_dir/www$big_nar_path")
  big_chunks=$(grep -c . "$srv_dir/data/bucket/manifests/$(basename "$nar_url" .nar.zst)" 2>/dev/null || echo '?')
}

# 1. wrk against both, interleaved.
wrk_lab_rps=()
wrk_lab_p99=()
wrk_nginx_rps=()
wrk_nginx_p99=()
rps_ratio_runs=()
wrk_one() { # base-url -> "req/s p99-ms"
  local report
  report=$(wrk -t2 -c64 -d10s --latency -s "$lua_script" "$1" -- "$narinfo_urls")
  if grep -q 'Socket errors' <<<"$report"; then
    log "wrk against $1: $(grep 'Socket errors' <<<"$report")"
  fi
  if grep -q 'Non-2xx' <<<"$report"; then
    die "wrk against $1: $(grep 'Non-2xx' <<<"$report")"
  fi
  awk '
    /^Requests\/sec:/ { rps = $2 }
    /^ +99%/ { v = $2; unit = v; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v)
               p99 = (unit == "us") ? v / 1000 : (unit == "s") ? v * 1000 : (unit == "m") ? v * 60000 : v }
    END { printf "%s %s\n", rps, p99 }' <<<"$report"
}
measure_narinfo() {
  local run rps p99 runs=$((repeat < 5 ? 5 : repeat))
  for run in $(seq "$runs"); do
    read -r rps p99 <<<"$(wrk_one "http://127.0.0.1:$srv_port")"
    wrk_lab_rps+=("$rps") wrk_lab_p99+=("$p99")
    log "  narinfo run $run: lab $rps req/s, p99 $p99 ms"
    read -r rps p99 <<<"$(wrk_one "http://127.0.0.1:$nginx_port")"
    wrk_nginx_rps+=("$rps") wrk_nginx_p99+=("$p99")
    rps_ratio_runs+=("$(ratio "${wrk_lab_rps[-1]}" "$rps")")
    log "  narinfo run $run: nginx $rps req/s, p99 $p99 ms"
  done
}

# 2. One download at a time: first one checked by curl (status, length),
# then wrk on one connection for 5 s (the NAR again and again, ~0.1 s each),
# alternating between the two servers.
nar_lab_runs=()
nar_nginx_runs=()
nar_ratio_runs=()
check_download() { # url
  local code size
  read -r code size <<<"$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "$1")"
  [[ $code == 200 && $size == "$big_zst_bytes" ]] ||
    die "GET $1: status $code, $size bytes (want 200, $big_zst_bytes)"
}
wrk_download_rate() { # url -> MB/s (10^6 bytes)
  local report
  report=$(wrk -t1 -c1 -d5s --timeout 30s "$1")
  if grep -q 'Non-2xx\|Socket errors' <<<"$report"; then
    die "wrk against $1: $(grep 'Non-2xx\|Socket errors' <<<"$report")"
  fi
  awk '/^Transfer\/sec:/ {
    v = $2; unit = v; sub(/^[0-9.]+/, "", unit); sub(/[A-Za-z]+$/, "", v)
    f = (unit == "KB") ? 1024 : (unit == "MB") ? 1048576 : (unit == "GB") ? 1073741824 : (unit == "TB") ? 1099511627776 : 1
    printf "%.1f", v * f / 1e6 }' <<<"$report"
}
measure_nar() {
  local run runs=$((repeat < 7 ? 7 : repeat))
  check_download "http://127.0.0.1:$srv_port$big_nar_path"
  check_download "http://127.0.0.1:$nginx_port$big_nar_path"
  for run in $(seq "$runs"); do
    nar_lab_runs+=("$(wrk_download_rate "http://127.0.0.1:$srv_port$big_nar_path")")
    nar_nginx_runs+=("$(wrk_download_rate "http://127.0.0.1:$nginx_port$big_nar_path")")
    nar_ratio_runs+=("$(ratio "${nar_lab_runs[-1]}" "${nar_nginx_runs[-1]}")")
    log "  NAR download run $run: lab ${nar_lab_runs[-1]} MB/s, nginx ${nar_nginx_runs[-1]} MB/s"
  done
}

# 4. Two releases of an npm package, each unpacked into a store path, pushed
# to a fresh server and to Nix's file:// cache; bytes stored after each.
dedup_note=
dedup_lab=()
dedup_nix=()
measure_dedup() {
  local dir=$T/npm release tarball name paths=()
  mkdir -p "$dir"
  for release in "${npm_releases[@]}"; do
    if ! tarball=$(cd "$dir" && npm pack --silent --cache "$dir/cache" "$release" 2>"$dir/npm.log" | tail -1) ||
      [[ ! -f $dir/$tarball ]]; then
      dedup_note="skipped: npm pack $release failed ($(tail -1 "$dir/npm.log"))"
      log "$dedup_note"
      return 0
    fi
    name=${release/@/-}
    mkdir -p "$dir/$name"
    tar -xzf "$dir/$tarball" -C "$dir/$name" --strip-components=1
    paths+=("$(nix_store --add "$dir/$name")")
  done
  dedup_nar_bytes=()
  for path in "${paths[@]}"; do
    dedup_nar_bytes+=("$(nix-store --dump "$store$path" | wc -c)")
  done

  start_server dedup dedup
  local filecache=$T/dedup-filecache
  for path in "${paths[@]}"; do
    nix_copy --to "http://127.0.0.1:$srv_port/dedup?compression=none" \
      --option netrc-file "$srv_netrc" "$path"
    dedup_lab+=("$(stored_bytes "$srv_dir")")
    nix_copy --to "file://$filecache?compression=zstd" "$path"
    dedup_nix+=("$(nix_cache_bytes "$filecache")")
    log "  after $(basename "$path"): lab stores ${dedup_lab[-1]} bytes, Nix's file:// cache ${dedup_nix[-1]}"
  done
  stop_pid "$srv_pid"
}

# ---------------------------------------------------------------- run

machine() {
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; memory $(free -g | awk '/^Mem:/ {print $2}') GiB; kernel $(uname -r); $(. /etc/os-release; echo "$PRETTY_NAME")"
  echo "- nixedge-server: this commit, native Release; [server] io_threads and worker_threads 0 (one per core); zstd level 3"
  echo "- baselines: $(nginx -v 2>&1 | sed 's/^nginx version: //') ($(nproc) workers, sendfile, access log to a file, as the lab server logs every request); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(nix --version); $(curl --version | head -1 | cut -d' ' -f1-2)"
  echo "- load generators run on the same $(nproc) cores as the servers; measured $(date -u +%Y-%m-%d)"
}

main() {
  [[ -x $server_bin ]] || die "no $server_bin (make build-native)"
  [[ -x $bench_bin ]] || die "no $bench_bin (make build-native)"
  for tool in nginx wrk nix nix-store curl jq zstd openssl npm; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh)"
  done

  prepare_data
  if wants ingest; then
    measure_ingest # leaves the last `nix copy` server up
  elif wants narinfo || wants nar; then
    start_server nix-1 bench
    nix_copy --to "http://127.0.0.1:$srv_port/bench?compression=none" \
      --option netrc-file "$srv_netrc" "${closure[@]}"
  fi
  if wants narinfo || wants nar; then
    start_nginx
    mirror_to_nginx
    wants narinfo && measure_narinfo
    wants nar && measure_nar
    stop_pid "$nginx_pid"
  fi
  [[ -n $srv_pid ]] && stop_pid "$srv_pid"
  wants dedup && measure_dedup

  # ---------------------------------------------------------------- report

  m() { printf '%s\n' "$@" | median; }
  lab_rps=$(m "${wrk_lab_rps[@]}") nginx_rps=$(m "${wrk_nginx_rps[@]}")
  lab_p99=$(m "${wrk_lab_p99[@]}") nginx_p99=$(m "${wrk_nginx_p99[@]}")
  lab_nar=$(m "${nar_lab_runs[@]}") nginx_nar=$(m "${nar_nginx_runs[@]}")
  push=$(m "${push_runs[@]}") push_e2e=$(m "${push_e2e_runs[@]}")
  push_rss=$(printf '%s\n' "${push_rss_runs[@]}" | sort -g | tail -1)
  push_cpu=$(m "${push_cpu_runs[@]}")
  push_nix_cpu=$(m "${push_nix_cpu_runs[@]}")
  per_cpu() { awk -v b="$closure_bytes" -v c="$1" 'BEGIN { if (c > 0) printf "%.1f", b / 1e6 / c; else print "nan" }'; }
  filecache=$(m "${filecache_runs[@]}")
  bound=$(m "${bound_runs[@]}")
  # lab / baseline: the median of the per-run ratios (each run pairs the two).
  rps_ratio=$(m "${rps_ratio_runs[@]}")
  nar_ratio=$(m "${nar_ratio_runs[@]}")
  push_ratio=$(m "${push_ratio_runs[@]}")
  push_nix_server=$(m "${push_nix_server_runs[@]}")
  push_nix_ratio=$(m "${push_nix_ratio_runs[@]}")
  bound_cpu=$(m "${bound_cpu_runs[@]}")
  cpu_eff=$(m "${cpu_eff_runs[@]}")

  mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
  pct() { fmt "$(awk -v r="$1" 'BEGIN { if (r == "nan" || r == "") print "nan"; else print r * 100 }')" 1; }
  {
    echo "<!-- lab-benchmarks:begin -->"
    echo "## Lab server against baselines (\`make bench\`)"
    echo
    echo "Side by side in one run: each figure is the median of the runs listed under it, and"
    echo "lab / baseline the median of the per-run ratios (each run measures both, one after the other)."
    echo "Machine:"
    echo
    machine
    echo
    echo "| figure | lab server | baseline | lab / baseline | target | verdict |"
    echo "|---|---|---|---|---|---|"
    if wants narinfo; then
      echo "| narinfo GET, req/s (wrk -t2 -c64 -d10s, keep-alive, $narinfo_count different narinfos) | $(fmt "$lab_rps" 0) | nginx: $(fmt "$nginx_rps" 0) | $(fmt "$rps_ratio" 3)x | >= 0.8x | $(verdict "$rps_ratio" '>=' 0.8) |"
      echo "| narinfo GET, p99 latency (same runs) | $(fmt "$lab_p99" 2) ms | nginx: $(fmt "$nginx_p99" 2) ms | $(fmt "$(ratio "$lab_p99" "$nginx_p99")" 3)x | — | recorded |"
    fi
    if wants nar; then
      echo "| NAR download, MB/s of .nar.zst (one $(mb "$big_bytes") MB NAR, $(mb "$big_zst_bytes") MB compressed, $big_chunks chunks; one connection, one download after the other, wrk -t1 -c1 -d5s) | $(fmt "$lab_nar") | nginx, one static file: $(fmt "$nginx_nar") | $(fmt "$nar_ratio" 3)x | >= 0.8x | $(verdict "$nar_ratio" '>=' 0.8) |"
    fi
    if wants ingest; then
      echo "| push ingest, server side, MB/s of NAR: \`nix copy\` of $(mb "$closure_bytes") MB of NARs in ${#closure[@]} store paths, compression=none; NAR bytes / time in NAR PUTs (access log) | $(fmt "$push_nix_server") | CPU bound, both cores: $(fmt "$bound") | $(pct "$push_nix_ratio") % | >= 70 % | $(verdict "$push_nix_ratio" '>=' 0.7) |"
      echo "| push ingest, server side, MB/s of NAR: the same NARs PUT by curl from files, 2 at a time | $(fmt "$push") | CPU bound, both cores: $(fmt "$bound") | $(pct "$push_ratio") % | >= 70 % | $(verdict "$push_ratio" '>=' 0.7) |"
      echo "| push ingest, server side, MB of NAR per server CPU second (user + system; unaffected by other load) | $(per_cpu "$push_cpu") | the bound per CPU second: $(fmt "$bound_cpu") | $(pct "$cpu_eff") % | — | recorded |"
      echo "| push, end to end: \`nix copy --to http://…/bench?compression=none\`, MB/s of NAR | $(fmt "$push_e2e") | \`nix copy\` to file://, zstd: $(fmt "$filecache") | $(fmt "$(ratio "$push_e2e" "$filecache")" 3)x | — | recorded |"
      echo "| peak server RSS during a push (VmHWM, highest of all pushes) | $(fmt "$push_rss") MB | — | — | <= 200 MB | $(verdict "$push_rss" '<=' 200) |"
    fi
    if wants dedup; then
      if [[ -n $dedup_note ]]; then
        echo "| stored bytes, ${npm_releases[*]} | $dedup_note | | | — | not measured |"
      else
        echo "| stored bytes, ${npm_releases[0]} ($(mb "${dedup_nar_bytes[0]}") MB NAR) | $(mb "${dedup_lab[0]}") MB | Nix file:// zstd: $(mb "${dedup_nix[0]}") MB | $(fmt "$(ratio "${dedup_lab[0]}" "${dedup_nix[0]}")" 3)x | — | recorded |"
        echo "| stored bytes, then ${npm_releases[1]} added ($(mb "${dedup_nar_bytes[1]}") MB NAR) | +$(mb $((dedup_lab[1] - dedup_lab[0]))) MB | +$(mb $((dedup_nix[1] - dedup_nix[0]))) MB | $(fmt "$(ratio $((dedup_lab[1] - dedup_lab[0])) $((dedup_nix[1] - dedup_nix[0])))" 3)x | — | recorded |"
        echo "| stored bytes, both releases | $(mb "${dedup_lab[1]}") MB | $(mb "${dedup_nix[1]}") MB | $(fmt "$(ratio "${dedup_lab[1]}" "${dedup_nix[1]}")" 3)x | — | recorded |"
      fi
    fi
    echo
    echo "Runs:"
    echo
    if wants narinfo; then
      echo "- narinfo req/s: lab $(printf '%s\n' "${wrk_lab_rps[@]}" | list); nginx $(printf '%s\n' "${wrk_nginx_rps[@]}" | list); ratios $(printf '%s\n' "${rps_ratio_runs[@]}" | list)"
      echo "- narinfo p99 ms: lab $(printf '%s\n' "${wrk_lab_p99[@]}" | list); nginx $(printf '%s\n' "${wrk_nginx_p99[@]}" | list)"
    fi
    if wants nar; then
      echo "- NAR download MB/s: lab $(printf '%s\n' "${nar_lab_runs[@]}" | list); nginx $(printf '%s\n' "${nar_nginx_runs[@]}" | list); ratios $(printf '%s\n' "${nar_ratio_runs[@]}" | list)"
    fi
    if wants ingest; then
      echo "- ingest CPU bound MB/s (2 threads): $(printf '%s\n' "${bound_runs[@]}" | list); server side / bound per run: $(printf '%s\n' "${push_ratio_runs[@]}" | list)"
      echo "- ingest bound detail (last run): \`$bound_detail\`"
      cores=$(for i in "${!bound_runs[@]}"; do ratio "${bound_runs[$i]}" "${bound_cpu_runs[$i]}"; echo; done | median)
      echo "- cores the bound had (its wall rate / its rate per CPU second): $(for i in "${!bound_runs[@]}"; do fmt "$(ratio "${bound_runs[$i]}" "${bound_cpu_runs[$i]}")" 2; echo; done | list) of $(nproc)"
      if awk -v c="$cores" -v n="$(nproc)" 'BEGIN { exit !(c < 0.75 * n) }'; then
        echo "- **the machine was busy: the bound had a median $(fmt "$cores" 2) of $(nproc) cores, so the ingest ratios above say little about an idle machine (they come near the per-CPU-second ratio); see the notes below the table**"
      fi
      echo "- push MB/s, server side: \`nix copy\` $(printf '%s\n' "${push_nix_server_runs[@]}" | list) (/ bound: $(printf '%s\n' "${push_nix_ratio_runs[@]}" | list)); curl $(printf '%s\n' "${push_runs[@]}" | list)"
      echo "- server CPU seconds (user + system) per push: curl $(printf '%s\n' "${push_cpu_runs[@]}" | list), \`nix copy\` $(printf '%s\n' "${push_nix_cpu_runs[@]}" | list); medians as MB of NAR per server CPU second: curl $(per_cpu "$push_cpu"), \`nix copy\` $(per_cpu "$push_nix_cpu"), against the bound's $(fmt "$bound_cpu") (runs: $(printf '%s\n' "${bound_cpu_runs[@]}" | list))"
      echo "- push MB/s, end to end (\`nix copy\`): $(printf '%s\n' "${push_e2e_runs[@]}" | list)"
      echo "- peak RSS MB, curl and \`nix copy\` pushes in turn: $(printf '%s\n' "${push_rss_runs[@]}" | list)"
      echo "- \`nix copy\` to file:// (zstd) MB/s: $(printf '%s\n' "${filecache_runs[@]}" | list)"
    fi
    if wants narinfo || wants nar; then
      echo "- narinfo set pushed to the lab server ($(( ${#small[@]} )) small paths from /usr/share/doc) in $(fmt "$small_push_secs" 1) s"
    fi
    echo "- closure: ${#closure[@]} store paths made from /usr (the download NAR: ${big_src#/usr/}); the list:"
    echo
    echo "<details><summary>store paths of the closure</summary>"
    echo
    for s in "${closure_src[@]}"; do echo "${s#/usr/}"; done | sort | list
    echo
    echo "</details>"
    if ((forced_kills > 0)); then
      echo "- **nixedge-server did not exit within 15 s of SIGTERM $forced_kills time(s)** and was killed (the benchmark's own processes only)"
    fi
    echo
    echo "<!-- lab-benchmarks:end -->"
  } >"$out"
  log "done"
}

# Sourcing this file (tests of single pieces) defines the functions only.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main
fi
