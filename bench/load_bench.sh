#!/usr/bin/env bash
# bench/load_bench.sh OUT: nixedge-server under load and against slow clients
# (docs/reliability.md, "Load and slow clients"). Writes the markdown section
# (with its markers) to OUT; progress goes to stderr. Called by bench/run.sh
# (`bench/run.sh load`, only when named).
#
#  1. Load: one server (embedded default: SQLite + a local directory) holding
#     ~200 small store paths and 3 multi-chunk NARs of 16-64 MB, then wrk
#     -t2 -c256 for LOAD_SECONDS each on narinfo hits (every pushed narinfo in
#     turn), narinfo 404s (random absent hashes) and NAR downloads; req/s,
#     p50/p99, every answer that is not the expected status, wrk's socket
#     errors; the server's resident memory (VmRSS sampled, VmHWM) and open
#     descriptors. nginx serves the same narinfo files (and the same 404s) in
#     the same run as the baseline.
#  2. Slow clients (bench/slow_clients.py) while a normal wrk load (-c32)
#     runs, LOAD_SLOW_SECONDS each: none (the baseline), slowloris connections
#     below and above the server's connection limit, and stalled NAR uploads;
#     a fresh-connection probe every 100 ms besides. How long the server let
#     each slow connection live, whether the others were served, memory, and
#     whether the descriptors came back to the baseline afterwards.
#  3. Per-request limits under load: over-long headers (431), an over-size
#     narinfo body and a NAR whose Content-Length is over the cap (413), sent
#     during the narinfo-hit load.
#
# The server runs with short timeouts (so the slow clients are cut within
# the run): request_header 5s, read 5s, write 10s, idle 15s (defaults 30s,
# 60s, 60s, 75s). Its connection limit is not configurable (http::Limits
# max_connections, 1024).
#
# Environment: LOAD_SECONDS (per load workload, default 60),
# LOAD_SLOW_SECONDS (per slow-client phase, default 20), LOAD_MACHINE (a
# file describing the machine, bench/run.sh's; default lab_bench.sh's
# description), NIXEDGE_SERVER (default build/bin/nixedge-server).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:?usage: bench/load_bench.sh OUT}
seconds=${LOAD_SECONDS:-60}
slow_seconds=${LOAD_SLOW_SECONDS:-20}
load_conns=256
slow_conns=32
loris_below=500
loris_above=2048
max_connections=1024 # lab-server/src/http/server.hpp, Limits::max_connections
stall_count=200
small_count=200
timeouts_toml='[server.timeouts]
request_header = "5s"
read = "5s"
write = "10s"
idle = "15s"'

# lab_bench.sh's set-up (temp dir $T, cleanup of what was started, lib.sh,
# nginx); sourcing it defines its functions and runs nothing else.
# shellcheck source=bench/lab_bench.sh
. bench/lab_bench.sh "$out"
bench_name=load-bench
slow_py=$(realpath bench/slow_clients.py)
lab_machine() { machine; }

# ---------------------------------------------------------------- data

# $small_count paths from /usr/share/doc and 3 directories of /usr of
# 16-64 MB (the smallest, middle and largest such), pushed to the server
# with `nix copy`; narinfos and the NARs' URLs listed, narinfos copied into
# nginx's root.
prepare_load_data() {
  local docs=() entry multiarch sizes=$T/sizes
  for entry in /usr/share/doc/*; do
    valid_name "$(basename "$entry")" && docs+=("$entry")
    ((${#docs[@]} < small_count)) || break
  done
  multiarch=/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
  for entry in "$multiarch"/* /usr/lib/* /usr/share/*; do
    [[ -d $entry && ! -L $entry && $entry != "$multiarch" && $entry != /usr/share/doc ]] || continue
    valid_name "$(basename "$entry")" || continue
    printf '%s\t%s\n' "$(du -sb "$entry" 2>/dev/null | cut -f1)" "$entry"
  done | awk -F'\t' '$1 >= 16e6 && $1 <= 64e6' | sort -n >"$sizes"
  local n
  n=$(wc -l <"$sizes")
  ((n >= 3)) || die "fewer than 3 directories of 16-64 MB under /usr"
  mapfile -t big_src < <(sed -n "1p;$(((n + 1) / 2))p;${n}p" "$sizes" | cut -f2)
  log "adding ${#docs[@]} small paths and ${big_src[*]} to a chroot store"
  mapfile -t small < <(nix_store --add "${docs[@]}")
  mapfile -t bigs < <(nix_store --add "${big_src[@]}")
  big_nar_bytes=()
  local p
  for p in "${bigs[@]}"; do
    big_nar_bytes+=("$(nix-store --dump "$store$p" | wc -c)")
  done
  first_big_nar=$T/big0.nar
  nix-store --dump "$store${bigs[0]}" >"$first_big_nar"
}

push_load_data() {
  local start
  start=$(now)
  nix_copy --to "http://127.0.0.1:$srv_port/bench?compression=none" \
    --option netrc-file "$srv_netrc" "${small[@]}" "${bigs[@]}"
  log "pushed $((${#small[@]} + ${#bigs[@]})) paths in $(elapsed "$start") s"
  narinfo_urls=$T/narinfo-urls
  nar_urls=$T/nar-urls
  absent_urls=$T/absent-urls
  : >"$narinfo_urls"
  : >"$nar_urls"
  local conf=$T/curl-narinfos path hash url
  printf 'fail\ncreate-dirs\n' >"$conf"
  for path in "${small[@]}" "${bigs[@]}"; do
    hash=$(basename "$path" | cut -c1-32)
    echo "/bench/$hash.narinfo" >>"$narinfo_urls"
    printf 'url = "http://127.0.0.1:%s/bench/%s.narinfo"\noutput = "%s/www/bench/%s.narinfo"\n' \
      "$srv_port" "$hash" "$nginx_dir" "$hash" >>"$conf"
  done
  curl -s -K "$conf"
  big_chunks=()
  big_zst_bytes=()
  for path in "${bigs[@]}"; do
    hash=$(basename "$path" | cut -c1-32)
    url=$(sed -n 's/^URL: //p' "$nginx_dir/www/bench/$hash.narinfo")
    [[ $url == nar/*.nar.zst ]] || die "unexpected NAR URL '$url' in $hash.narinfo"
    echo "/bench/$url" >>"$nar_urls"
    big_chunks+=("$(grep -c . "$srv_dir/data/bucket/manifests/$(basename "$url" .nar.zst)" || echo '?')")
    big_zst_bytes+=("$(sed -n 's/^FileSize: //p' "$nginx_dir/www/bench/$hash.narinfo")")
  done
  # Absent store hashes (Nix's base32 alphabet); at 32 characters, a random
  # one is in the set with probability ~0.
  python3 -c 'import random, sys
alphabet = "0123456789abcdfghijklmnpqrsvwxyz"
for _ in range(20000):
    sys.stdout.write("/bench/" + "".join(random.choice(alphabet) for _ in range(32)) + ".narinfo\n")' >"$absent_urls"
  narinfo_count=$(wc -l <"$narinfo_urls")
}

# ---------------------------------------------------------------- sampling

# Every 0.25 s: time, VmRSS (kB), open descriptors of the server.
sampler_pid=
start_sampler() { # pid
  local pid=$1 file=$T/samples
  : >"$file"
  (
    while kill -0 "$pid" 2>/dev/null; do
      printf '%s %s %s\n' "$(date +%s.%N)" \
        "$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" \
        "$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" >>"$file"
      sleep 0.25
    done
  ) &
  sampler_pid=$!
  started+=("$sampler_pid")
}
window_max() { # start end column(2: rss kB, 3: fds) -> max in the window
  awk -v a="$1" -v b="$2" -v c="$3" '$1 >= a && $1 <= b && $c != "" && $c > m { m = $c } END { print m + 0 }' "$T/samples"
}
fds_now() { find "/proc/$srv_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
rss_mb_of_kb() { awk -v k="$1" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }'; }

# After a phase: wait (30 s at most) until the descriptors are back to the
# baseline. Prints "fds seconds".
fds_settle() {
  local start fds
  start=$(now)
  for _ in $(seq 120); do
    fds=$(fds_now)
    ((fds <= fd_baseline)) && break
    sleep 0.25
  done
  echo "$fds $(elapsed "$start")"
}

# ---------------------------------------------------------------- wrk

# A wrk script: the URL paths of a file in turn (as bench/lab/narinfo.lua),
# and a count of the answers by status (wrk itself only counts non-2xx/3xx).
status_lua=$T/status.lua
cat >"$status_lua" <<'EOF'
local threads = {}
local paths = {}
local next_index = 1
statuses = {}

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  local file = assert(io.open(args[1], "r"), "cannot open the URL list")
  for line in file:lines() do
    if line ~= "" then paths[#paths + 1] = line end
  end
  file:close()
  next_index = ((id or 0) * 7919) % #paths + 1
end

function request()
  local path = paths[next_index]
  next_index = next_index % #paths + 1
  return wrk.format("GET", path)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do parts[#parts + 1] = status .. "=" .. count end
  table.sort(parts)
  io.write("Statuses: " .. table.concat(parts, " ") .. "\n")
end
EOF

# run_wrk NAME BASE URLS CONNS SECONDS EXPECT [TIMEOUT]: wrk -t2, report in
# $T/wrk-NAME.txt. EXPECT: the one status every answer should have; with
# "any2xx", the URLs are NARs and wrk counts (no Lua response hook, which
# would make wrk keep every body).
run_wrk() {
  local name=$1 base=$2 urls=$3 conns=$4 secs=$5 expect=$6 timeout=${7:-2s}
  if [[ $expect == any2xx ]]; then
    wrk -t2 -c"$conns" -d"${secs}s" --timeout "$timeout" --latency -s "$lua_script" "$base" -- "$urls" >"$T/wrk-$name.txt"
  else
    wrk -t2 -c"$conns" -d"${secs}s" --timeout "$timeout" --latency -s "$status_lua" "$base" -- "$urls" >"$T/wrk-$name.txt"
  fi
}
# wrk_figures NAME EXPECT -> "req/s p50_ms p99_ms requests unexpected connect read write timeout statuses MB/s"
wrk_figures() {
  awk -v expect="$2" '
    function ms(v,   unit) { unit = v; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v)
      return (unit == "us") ? v / 1000 : (unit == "s") ? v * 1000 : (unit == "m") ? v * 60000 : v }
    /^Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    / requests in / { requests = $1 }
    /Socket errors:/ { gsub(/,/, ""); c = $4; r = $6; w = $8; t = $10 }
    /Non-2xx or 3xx responses:/ { non2xx = $5 }
    /^Transfer\/sec:/ { v = $2; unit = v; sub(/^[0-9.]+/, "", unit); sub(/[A-Za-z]+$/, "", v)
      mbps = v * ((unit == "KB") ? 1024 : (unit == "MB") ? 1048576 : (unit == "GB") ? 1073741824 : 1) / 1e6 }
    /^Statuses:/ { st = ""; bad = 0; for (i = 2; i <= NF; i++) { split($i, kv, "="); st = st (st ? "," : "") $i; if (kv[1] != expect) bad += kv[2] } }
    END {
      if (expect == "any2xx") { bad = non2xx + 0; st = "non-2xx/3xx=" bad }
      printf "%s %.2f %.2f %s %d %d %d %d %d %s %.1f\n", rps, p50, p99, requests, bad, c, r, w, t, (st == "" ? "-" : st), mbps }' "$T/wrk-$1.txt"
}

# ---------------------------------------------------------------- 3. limits

# Sent while the narinfo-hit load runs: COUNT of each, statuses collected.
# (Run in the background: the statuses go to $T/limit-*, one a line.)
send_over_limits() {
  local count=$1 i token pad big_narinfo=$T/big.narinfo
  token=$(awk '{ print $4 }' "$srv_netrc")
  pad=$(head -c 20000 /dev/zero | tr '\0' a) # over max_header_bytes (16 KiB)
  head -c 100000 /dev/zero | tr '\0' a >"$big_narinfo" # over max_narinfo_bytes (64 KiB)
  for i in $(seq "$count"); do
    (curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "X-Pad: $pad" \
      "http://127.0.0.1:$srv_port$(sed -n 1p "$narinfo_urls")"; echo) >>"$T/limit-431"
    (curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X PUT \
      -H "Authorization: Bearer $token" -H 'Content-Type: text/x-nix-narinfo' \
      --data-binary @"$big_narinfo" "http://127.0.0.1:$srv_port/bench/$(printf '%032d' "$i" | tr 0 a).narinfo"; echo) >>"$T/limit-413-narinfo"
    # A NAR PUT announcing max_nar_bytes + 1 (64 GiB + 1): the header only,
    # then the status line of the answer.
    (
      exec 3<>"/dev/tcp/127.0.0.1/$srv_port"
      printf 'PUT /bench/nar/%s.nar HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Type: application/x-nix-nar\r\nContent-Length: 68719476737\r\n\r\n' \
        "$(printf '%052d' "$i" | tr 0 b)" "$token" >&3
      timeout 10 head -1 <&3 | cut -d' ' -f2
      exec 3<&-
    ) >>"$T/limit-413-nar"
    sleep 0.2
  done
}
count_of() { # value list... -> "value: n of m"
  local want=$1 n=0 v
  shift
  for v in "$@"; do [[ $v == "$want" ]] && n=$((n + 1)); done
  echo "$n of $#"
}

# ---------------------------------------------------------------- 1. load

declare -A load_row
measure_load() { # NAME BASE URLS EXPECT TIMEOUT [SERVER_PID]
  local name=$1 base=$2 urls=$3 expect=$4 timeout=$5 pid=${6:-} t0 t1 figures
  log "load: $name, wrk -t2 -c$load_conns -d${seconds}s"
  t0=$(now)
  if [[ $name == lab-narinfo ]]; then
    (sleep 2; send_over_limits 5) &
    local limits_pid=$!
    run_wrk "$name" "$base" "$urls" "$load_conns" "$seconds" "$expect" "$timeout"
    wait "$limits_pid"
    mapfile -t limit_statuses_431 <"$T/limit-431"
    mapfile -t limit_statuses_413_narinfo <"$T/limit-413-narinfo"
    mapfile -t limit_statuses_413_nar <"$T/limit-413-nar"
  else
    run_wrk "$name" "$base" "$urls" "$load_conns" "$seconds" "$expect" "$timeout"
  fi
  t1=$(now)
  figures=$(wrk_figures "$name" "$expect")
  local rss='-' fds='-' after='-'
  if [[ -n $pid ]]; then
    rss=$(rss_mb_of_kb "$(window_max "$t0" "$t1" 2)")
    fds=$(window_max "$t0" "$t1" 3)
    after=$(fds_settle)
  fi
  load_row[$name]="$figures $rss $fds $after"
  log "  $name: $figures; RSS max $rss MB, fds max $fds, after: ${after}"
}

# ---------------------------------------------------------------- 2. slow clients

declare -A slow_row slow_json
slow_phase() { # NAME [slow_clients.py arguments...]
  local name=$1 t0 t1 wrk_pid json
  shift
  log "slow clients: $name (${slow_seconds}s, wrk -c$slow_conns besides)"
  t0=$(now)
  run_wrk "slow-$name" "http://127.0.0.1:$srv_port" "$narinfo_urls" "$slow_conns" "$slow_seconds" 200 &
  wrk_pid=$!
  sleep 0.5
  json=$(python3 "$slow_py" --port "$srv_port" --seconds "$((slow_seconds - 1))" \
    --probe-interval 0.1 --probe-path "$(sed -n 1p "$narinfo_urls")" "$@")
  wait "$wrk_pid"
  t1=$(now)
  slow_json[$name]=$json
  local rss fds after
  rss=$(rss_mb_of_kb "$(window_max "$t0" "$t1" 2)")
  fds=$(window_max "$t0" "$t1" 3)
  after=$(fds_settle)
  slow_row[$name]="$(wrk_figures "slow-$name" 200) $rss $fds $after"
  log "  $name: wrk ${slow_row[$name]}"
  log "  $name: $json"
}

# ---------------------------------------------------------------- report

# "req/s p50 p99 requests unexpected c r w t statuses MB/s rss fds fds_after settle_s"
row_load() { # label name baseline-name
  local rps p50 p99 req bad c r w t st mbps rss fds after settle
  read -r rps p50 p99 req bad c r w t st mbps rss fds after settle <<<"${load_row[$2]}"
  local ratio_text='—'
  if [[ -n ${3:-} ]]; then
    ratio_text="$(fmt "$(ratio "$rps" "$(cut -d' ' -f1 <<<"${load_row[$3]}")")" 2)x"
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s / %s / %s / %s / %s | %s | %s |\n' \
    "$1" "$(fmt "$rps" 0)" "$ratio_text" "$(fmt "$p50" 2)" "$(fmt "$p99" 2)" "$req" "$bad" "$c" "$r" "$w" "$t" \
    "$([[ $rss == - ]] && echo — || echo "$rss MB")" \
    "$([[ $fds == - ]] && echo — || echo "$fds max; $after after $(fmt "$settle" 1) s")"
}

jqs() { jq -r "$2" <<<"${slow_json[$1]}"; }
row_slow() { # label name
  local rps p50 p99 req bad c r w t st mbps rss fds after settle
  read -r rps p50 p99 req bad c r w t st mbps rss fds after settle <<<"${slow_row[$2]}"
  local kind ended life probes
  kind=$(jqs "$2" 'if .slowloris then "slowloris" elif .stall then "stall" else "" end')
  if [[ -n $kind ]]; then
    ended=$(jqs "$2" ".$kind | \"\(.opened) opened; \" + (.outcomes | to_entries | map(\"\(.key) \(.value)\") | join(\", \")) + \"; \(.open_at_end) open at the end (oldest \(.oldest_open_at_end_s) s)\"")
    life=$(jqs "$2" ".$kind.unanswered_lifetime | if .count > 0 then \"\(.p50_s * 100 | round / 100) / \(.max_s * 100 | round / 100) s\" else \"—\" end")
  else
    ended='—' life='—'
  fi
  probes=$(jqs "$2" '.probe | (.statuses | to_entries | map("\(.key) \(.value)") | join(", ")) + "; p99 \(.ok_p99_ms) ms"')
  printf '| %s | %s | %s | %s | %s | %s / %s / %s / %s / %s | %s | %s MB | %s max; %s after %s s |\n' \
    "$1" "$ended" "$life" "$(fmt "$rps" 0)" "$(fmt "$p99" 2)" "$bad" "$c" "$r" "$w" "$t" "$probes" "$rss" "$fds" "$after" "$(fmt "$settle" 1)"
}

write_report() {
  local mb_list i
  mb_list=$(for i in "${!bigs[@]}"; do
    echo "$(awk -v b="${big_nar_bytes[$i]}" 'BEGIN { printf "%.1f", b / 1e6 }') MB (${big_chunks[$i]} chunks, ${big_src[$i]#/usr/})"
  done | paste -sd ';' | sed 's/;/; /g')
  {
    echo "<!-- BEGIN load -->"
    echo "## Load and slow clients (\`bench/run.sh load\`)"
    echo
    echo "One nixedge-server (SQLite + a local directory, the embedded default) on 127.0.0.1,"
    echo "holding $narinfo_count store paths: ${#small[@]} small ones from /usr/share/doc and NARs of $mb_list."
    echo "**The machine is shared and noisy (2 cores, other jobs running; wrk, nginx and the slow"
    echo "clients run on the same cores as the server)**: the rates say what this machine gave"
    echo "in this run, the ratio to nginx (same run, same files) is the figure to compare; errors,"
    echo "timeouts and descriptor counts do not depend on the noise. Machine:"
    echo
    if [[ -n ${LOAD_MACHINE:-} && -s ${LOAD_MACHINE:-} ]]; then
      cat "$LOAD_MACHINE"
    else
      lab_machine
    fi
    echo "- load: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $(nginx -v 2>&1 | sed 's/^nginx version: //'), Python $(python3 -c 'import platform; print(platform.python_version())') (bench/slow_clients.py)"
    echo "- server settings for the run: \`[server.timeouts]\` request_header 5s, read 5s, write 10s, idle 15s (defaults 30s, 60s, 60s, 75s: shortened so slow clients are cut within a phase); connection limit $max_connections (\`server.limits.max_connections\`, the default); other keys default"
    echo
    echo "### Under load (wrk -t2 -c$load_conns, ${seconds} s each)"
    echo
    echo "| workload | req/s | / nginx | p50 ms | p99 ms | requests | unexpected status / connect / read / write / timeout errors | server RSS (max VmRSS) | server fds |"
    echo "|---|---|---|---|---|---|---|---|---|"
    row_load "narinfo hits ($narinfo_count narinfos in turn), lab" lab-narinfo nginx-narinfo
    row_load "narinfo hits, nginx (same files)" nginx-narinfo
    row_load "narinfo 404s (20000 random absent hashes), lab" lab-404 nginx-404
    row_load "narinfo 404s, nginx" nginx-404
    row_load "NAR downloads (the 3 NARs in turn, wrk --timeout 30s), lab: $(cut -d' ' -f11 <<<"${load_row[lab-nar]}") MB/s of .nar.zst" lab-nar
    echo
    echo "Expected status: 200 for hits and NARs, 404 for the absent hashes; \"unexpected\" counts every other answer."
    echo "Server peak RSS over the whole load part (VmHWM): $load_hwm MB; descriptors at rest (after a warm-up): $fd_baseline."
    echo
    echo "### Slow clients (${slow_seconds} s each, beside wrk -t2 -c$slow_conns on narinfo hits)"
    echo
    echo "A fresh connection GETs a narinfo every 100 ms besides (\"new clients\"). Slowloris: each"
    echo "connection sends a GET header one byte every 2 s, never finishing it, and is replaced"
    echo "when the server closes it (1 s later if the server answered, e.g. 503). Stalled uploads: PUT"
    echo "of a NAR with Content-Length 1 GiB, the header and the first 64 KiB of a real NAR, then"
    echo "nothing (with a push token, so the server really reads the body); replaced likewise."
    echo
    echo "| phase | slow connections: how they ended | server cut them after (p50 / max) | wrk req/s | wrk p99 ms | wrk unexpected / connect / read / write / timeout | new clients: statuses; p99 | server RSS max | server fds |"
    echo "|---|---|---|---|---|---|---|---|---|"
    row_slow "none (baseline)" none
    row_slow "slowloris, $loris_below connections" loris-below
    row_slow "slowloris, $loris_above connections (2x the limit)" loris-above
    row_slow "stalled NAR uploads, $stall_count" stall
    echo
    echo "\"closed\": the server closed the connection without an answer (a request-header or body"
    echo "timeout; the access log records it as 408)."
    echo
    echo "### Per-request limits during the narinfo-hit load"
    echo
    echo "| request | expected | answered so |"
    echo "|---|---|---|"
    echo "| GET narinfo with a 20 000-byte header (max_header_bytes 16 KiB) | 431 | $(count_of 431 "${limit_statuses_431[@]}") ($(printf '%s\n' "${limit_statuses_431[@]}" | sort | uniq -c | awk '{ printf "%s%s×%s", (NR > 1 ? ", " : ""), $2, $1 }')) |"
    echo "| PUT narinfo of 100 000 bytes, with a push token (max_narinfo_bytes 64 KiB) | 413 | $(count_of 413 "${limit_statuses_413_narinfo[@]}") ($(printf '%s\n' "${limit_statuses_413_narinfo[@]}" | sort | uniq -c | awk '{ printf "%s%s×%s", (NR > 1 ? ", " : ""), $2, $1 }')) |"
    echo "| PUT NAR announcing Content-Length 64 GiB + 1, with a push token (max_nar_bytes 64 GiB) | 413 | $(count_of 413 "${limit_statuses_413_nar[@]}") ($(printf '%s\n' "${limit_statuses_413_nar[@]}" | sort | uniq -c | awk '{ printf "%s%s×%s", (NR > 1 ? ", " : ""), $2, $1 }')) |"
    echo
    if [[ -n $findings ]]; then
      echo "Findings of this run:"
      echo
      printf '%s' "$findings"
      echo
    fi
    echo "Server metrics at the end: $(tr '\n' ';' <"$T/metrics-end" | sed 's/;$//; s/;/; /g')."
    if ((forced_kills > 0)); then
      echo
      echo "- **nixedge-server did not exit within 15 s of SIGTERM $forced_kills time(s)** and was killed"
    fi
    echo
    echo "<!-- END load -->"
  } >"$out"
}

# Lines for "Findings of this run", from the figures.
findings=
note() { findings+="- $*"$'\n'; }
# shellcheck disable=SC2034 # read names every field, some go unused here
find_issues() {
  local name rps p50 p99 req bad c r w t st mbps rss fds after settle
  for name in lab-narinfo lab-404 lab-nar; do
    read -r rps p50 p99 req bad c r w t st mbps rss fds after settle <<<"${load_row[$name]}"
    if ((bad + c + r + w + t > 0)); then
      note "**$name: $bad unexpected answers ($st), socket errors connect $c, read $r, write $w, timeout $t of $req requests**"
    fi
    ((after <= fd_baseline)) || note "**$name: descriptors did not return to the baseline ($fd_baseline) within 30 s: $after**"
  done
  for name in none loris-below loris-above stall; do
    read -r rps p50 p99 req bad c r w t st mbps rss fds after settle <<<"${slow_row[$name]}"
    if ((bad + c + r + w + t > 0)); then
      note "**slow clients, $name: the normal wrk load got $bad unexpected answers ($st), socket errors connect $c, read $r, write $w, timeout $t of $req requests**"
    fi
    ((after <= fd_baseline)) || note "**slow clients, $name: descriptors did not return to the baseline ($fd_baseline) within 30 s: $after**"
    local probe_bad
    probe_bad=$(jqs "$name" '[.probe.statuses | to_entries[] | select(.key != "200") | .value] | add // 0')
    if ((probe_bad > 0)); then
      note "slow clients, $name: $probe_bad of $(jqs "$name" '.probe.sent') new connections were not served 200 ($(jqs "$name" '.probe.statuses | to_entries | map("\(.key) \(.value)") | join(", ")'))"
    fi
    local p99 kind over
    p99=$(jqs "$name" '.probe.ok_p99_ms // 0')
    if awk -v p="$p99" 'BEGIN { exit !(p > 1000) }'; then
      note "**slow clients, $name: new clients waited up to $p99 ms (p99 of those served; baseline $(jqs none '.probe.ok_p99_ms') ms)**"
    fi
    for kind in slowloris stall; do
      over=$(jqs "$name" "if .$kind then (.$kind.unanswered_lifetime.max_s // 0) else 0 end")
      if awk -v o="$over" 'BEGIN { exit !(o > 7) }'; then
        note "**slow clients, $name: a $kind connection lived $over s (timeout 5 s)**"
      fi
      over=$(jqs "$name" "if .$kind then .$kind.oldest_open_at_end_s else 0 end")
      if awk -v o="$over" 'BEGIN { exit !(o > 7) }'; then
        note "**slow clients, $name: a $kind connection was still open after $over s at the end (timeout 5 s)**"
      fi
    done
  done
  local v
  for v in "${limit_statuses_431[@]}"; do [[ $v == 431 ]] || { note "**a header over the limit got $v, not 431**"; break; }; done
  for v in "${limit_statuses_413_narinfo[@]}"; do [[ $v == 413 ]] || { note "**an over-size narinfo PUT got $v, not 413**"; break; }; done
  for v in "${limit_statuses_413_nar[@]}"; do [[ $v == 413 ]] || { note "**an over-size NAR PUT got '$v', not 413**"; break; }; done
}

main() {
  [[ -x $server_bin ]] || die "no $server_bin (make build-native)"
  for tool in nginx wrk nix nix-store curl jq python3 openssl; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh)"
  done
  prepare_load_data
  start_server load bench "$timeouts_toml"
  local base=http://127.0.0.1:$srv_port
  start_nginx
  push_load_data
  start_sampler "$srv_pid"
  # Warm-up (pools open, pages cached), then the descriptors at rest.
  wrk -t2 -c"$slow_conns" -d2s -s "$lua_script" "$base" -- "$narinfo_urls" >/dev/null
  wrk -t2 -c"$slow_conns" -d2s -s "$lua_script" "http://127.0.0.1:$nginx_port" -- "$narinfo_urls" >/dev/null
  sleep 1
  fd_baseline=$(fds_now)
  log "server PID $srv_pid on port $srv_port; descriptors at rest: $fd_baseline"

  measure_load lab-narinfo "$base" "$narinfo_urls" 200 2s "$srv_pid"
  measure_load nginx-narinfo "http://127.0.0.1:$nginx_port" "$narinfo_urls" 200 2s
  measure_load lab-404 "$base" "$absent_urls" 404 2s "$srv_pid"
  measure_load nginx-404 "http://127.0.0.1:$nginx_port" "$absent_urls" 404 2s
  measure_load lab-nar "$base" "$nar_urls" any2xx 30s "$srv_pid"
  load_hwm=$(peak_rss_mb "$srv_pid")
  stop_pid "$nginx_pid"

  local token
  token=$(awk '{ print $4 }' "$srv_netrc")
  slow_phase none
  slow_phase loris-below --slowloris "$loris_below" --loris-path "$(sed -n 2p "$narinfo_urls")"
  slow_phase loris-above --slowloris "$loris_above" --loris-path "$(sed -n 2p "$narinfo_urls")"
  slow_phase stall --stall "$stall_count" --nar-file "$first_big_nar" --auth "Bearer $token" \
    --stall-length $((1 << 30)) --stall-bytes 65536
  curl -s "$base/metrics" | grep -E '^nixedge_http_connections_(total|rejected_total) ' >"$T/metrics-end" || true
  curl -s "$base/metrics" | grep -E '^nixedge_http_requests_total\{.*status="(408|413|431|503)"' >>"$T/metrics-end" || true
  stop_pid "$srv_pid"

  find_issues
  write_report
  cat "$out" >&2
  log "done"
}

main
