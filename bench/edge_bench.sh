#!/usr/bin/env bash
# bench/edge_bench.sh OUT: the edge Worker against the naive Worker, side by
# side in one run, in local workerd (`wrangler dev`). Writes the markdown
# section of docs/benchmarks.md ("Edge Worker against a naive Worker") to
# OUT; progress goes to stderr. Called by bench/run.sh (`bench/run.sh edge`).
#
# Three `wrangler dev` servers run at once on 127.0.0.1, each on its own copy
# of the same local R2 bucket (bench/edge/load_cache.mjs fills it: 200 small
# signed narinfos, 4 NARs of 8-64 MiB in ~1 MiB chunk objects, and each NAR
# again as one whole object):
#   cold   nixedge (wrangler.toml) with NARINFO_TTL=0 NARINFO_MISS_TTL=0
#          CACHE_CHUNKS=false: every request reads R2 and checks the signature;
#   warm   nixedge with the default TTLs: narinfos, 404s and chunks come from
#          the Cache API once fetched;
#   naive  bench/naive_proxy_worker.mjs (bench/naive_wrangler.toml): whole R2
#          objects proxied by key, no verification, no Cache API.
# Each run measures every figure on all three, one after the other (the order
# rotates per run), with wrk: narinfo GETs (200), narinfo GETs of paths the
# bucket lacks (404), and NAR downloads (a few connections). CPU per request
# is the workerd processes' utime + stime (/proc/<pid>/stat) over the wrk run
# divided by the requests wrk counted. Then the wasm narinfo check alone in
# Node, and the bundle sizes (`wrangler deploy --dry-run`).
#
# Environment: NIXEDGE_BENCH_REPEAT (runs per figure, default 3),
# NIXEDGE_BENCH_EDGE_SECONDS (seconds per wrk run, default 5),
# NIXEDGE_BENCH_EDGE_NARINFOS (small paths, default 200),
# NIXEDGE_BENCH_EDGE_NAR_MIB (the NARs' stored sizes, default 8,16,32,64).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:?usage: bench/edge_bench.sh OUT}

repeat=${NIXEDGE_BENCH_REPEAT:-3}
seconds=${NIXEDGE_BENCH_EDGE_SECONDS:-5}
narinfos=${NIXEDGE_BENCH_EDGE_NARINFOS:-200}
nar_mib=${NIXEDGE_BENCH_EDGE_NAR_MIB:-8,16,32,64}
narinfo_conns=16
nar_conns=4
wasm=build-wasm/wasm-edge/nixedge-edge.wasm
wrangler=node_modules/.bin/wrangler
lua_script=bench/lab/narinfo.lua
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false

log() { echo "edge-bench [${SECONDS}s]: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}
[[ -f $wasm ]] || die "$wasm is missing: run make build-wasm"
[[ -x $wrangler ]] || die "$wrangler is missing: run npm ci"
command -v wrk >/dev/null || die "wrk is missing (Debian package wrk)"

T=$(mktemp -d "${TMPDIR:-/tmp}/nixedge-edge-bench.XXXXXX")
declare -A group=() # instance -> the PID (= process group) of its wrangler dev
cleanup() {
  local name
  for name in "${!group[@]}"; do stop_instance "$name"; done
  rm -rf "$T"
}
trap cleanup EXIT

# ---------------------------------------------------------------- helpers

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
fmt() { awk -v v="$1" -v d="${2:-1}" 'BEGIN { if (v == "nan" || v == "") print "n/a"; else printf "%.*f", d, v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b == 0 || a == "" || b == "") print "nan"; else printf "%.3f", a / b }'; }
list() { tr '\n' ' ' | sed 's/ $//; s/ /, /g'; } # one value per line -> "a, b, c"
med() { printf '%s\n' "$@" | median; }            # median of the arguments
now() { date +%s.%N; }
hz=$(getconf CLK_TCK)
cpu_ticks() { # utime + stime of a live process (all its threads), in clock ticks
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------- servers

declare -A port=() iport=() runtime_pid=() proxy_pid=() rss=()
# start_instance NAME CONFIG [wrangler dev options...]: its own process
# group (setsid), so that stopping it stops wrangler's workerd processes too.
# Started one after the other: wrangler.toml's [build] runs make build-wasm.
start_instance() {
  local name=$1 config=$2 pid p
  shift 2
  port[$name]=$(free_port)
  iport[$name]=$(free_port) # wrangler's DevTools inspector (bench/edge/isolate_heap.mjs)
  mkdir -p "$T/state-$name/v3/r2"
  # The loaded bucket: blobs are immutable files (hard links), the SQLite
  # index a copy of its own.
  cp -al "$T/template/v3/r2/nixedge-mirror" "$T/state-$name/v3/r2/"
  cp -a "$T/template/v3/r2/miniflare-R2BucketObject" "$T/state-$name/v3/r2/"
  setsid "$wrangler" dev -c "$config" --ip 127.0.0.1 --port "${port[$name]}" \
    --inspector-ip 127.0.0.1 --inspector-port "${iport[$name]}" --persist-to "$T/state-$name" \
    --show-interactive-dev-session=false --log-level warn "$@" >"$T/$name.log" 2>&1 &
  pid=$!
  group[$name]=$pid
  for _ in $(seq 600); do
    curl -s -o /dev/null "http://127.0.0.1:${port[$name]}/" && break
    kill -0 "$pid" 2>/dev/null || { tail -20 "$T/$name.log" >&2; die "wrangler dev ($name) exited"; }
    sleep 0.1
  done
  curl -s -o /dev/null "http://127.0.0.1:${port[$name]}/" || { tail -20 "$T/$name.log" >&2; die "wrangler dev ($name) does not answer"; }
  # wrangler dev runs two workerd: a proxy on our port, which forwards to the
  # runtime that runs the Worker (and Miniflare's R2 and Cache API simulators).
  runtime_pid[$name]='' proxy_pid[$name]=''
  for p in $(pgrep -g "$pid" -x workerd); do
    if tr '\0' ' ' <"/proc/$p/cmdline" | grep -q "entry=127.0.0.1:${port[$name]} "; then
      proxy_pid[$name]=$p
    else
      runtime_pid[$name]=$p
    fi
  done
  [[ -n ${runtime_pid[$name]} && -n ${proxy_pid[$name]} ]] ||
    die "wrangler dev ($name): expected two workerd processes, found: $(pgrep -g "$pid" -x workerd | list)"
  log "  $name: http://127.0.0.1:${port[$name]} (workerd runtime ${runtime_pid[$name]}, proxy ${proxy_pid[$name]})"
}

# SIGINT to the group, as Ctrl-C would; then SIGTERM, then SIGKILL.
stop_instance() {
  local pid=${group[$1]:-} sig
  [[ -n $pid ]] || return 0
  for sig in INT TERM KILL; do
    kill -"$sig" -- -"$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      pgrep -g "$pid" >/dev/null || break
      sleep 0.1
    done
    pgrep -g "$pid" >/dev/null || break
  done
  wait "$pid" 2>/dev/null || true
  unset "group[$1]"
}

# ---------------------------------------------------------------- checks

# status and size of every URL path in FILE, in order, one curl process.
statuses() { # name file
  local conf=$T/curl-$1.conf path
  : >"$conf"
  while read -r path; do
    printf 'url = "http://127.0.0.1:%s%s"\noutput = "/dev/null"\n' "${port[$1]}" "$path" >>"$conf"
  done <"$2"
  curl -s -K "$conf" -w '%{http_code} %{size_download}\n'
}

check_instances() {
  local name got edge_path naive_path sha
  for name in cold warm naive; do
    statuses "$name" "$T/data/narinfo_paths" >"$T/narinfo-$name.status"
    statuses "$name" "$T/data/missing_paths" >"$T/missing-$name.status"
    [[ $(grep -vc '^200 ' "$T/narinfo-$name.status") == 0 ]] ||
      die "$name: not every narinfo answers 200: $(grep -v '^200 ' "$T/narinfo-$name.status" | sort | uniq -c | head -3 | list)"
    [[ $(grep -vc '^404 ' "$T/missing-$name.status") == 0 ]] ||
      die "$name: not every missing narinfo answers 404"
  done
  if ! cmp -s "$T/narinfo-cold.status" "$T/narinfo-naive.status" || ! cmp -s "$T/narinfo-warm.status" "$T/narinfo-naive.status"; then
    die "nixedge and the naive Worker answer narinfos of different sizes"
  fi
  local first
  first=$(head -1 "$T/data/narinfo_paths")
  cmp -s <(curl -s "http://127.0.0.1:${port[cold]}$first") <(curl -s "http://127.0.0.1:${port[naive]}$first") ||
    die "nixedge's $first differs from the bucket's"
  # Every NAR from every server, whole and exact (this also fills warm's chunk cache).
  while IFS=$'\t' read -r edge_path naive_path _ _ sha; do
    for name in cold warm naive; do
      local path=$edge_path
      [[ $name == naive ]] && path=$naive_path
      got=$(curl -s "http://127.0.0.1:${port[$name]}$path" | sha256sum | cut -d' ' -f1)
      [[ $got == "$sha" ]] || die "$name: GET $path: sha256 $got, want $sha"
    done
  done <"$T/data/nars.tsv"
  log "  checked: every narinfo 200 (same bytes as the bucket), every missing one 404, every NAR exact, on all three"
}

# ---------------------------------------------------------------- wrk

# wrk_run NAME PATHS CONNS [--timeout S]: prints "req/s p50_ms p99_ms
# requests non2xx MB/s runtime_cpu_ms proxy_cpu_ms" (CPU over the run).
wrk_run() {
  local name=$1 paths=$2 conns=$3 report r0 p0 r1 p1
  shift 3
  r0=$(cpu_ticks "${runtime_pid[$name]}")
  p0=$(cpu_ticks "${proxy_pid[$name]}")
  report=$(wrk -t2 -c"$conns" -d"${seconds}s" --latency "$@" -s "$lua_script" "http://127.0.0.1:${port[$name]}" -- "$paths")
  r1=$(cpu_ticks "${runtime_pid[$name]}")
  p1=$(cpu_ticks "${proxy_pid[$name]}")
  if grep -q 'Socket errors' <<<"$report"; then
    log "  wrk against $name: $(grep 'Socket errors' <<<"$report")"
  fi
  awk -v rc=$((r1 - r0)) -v pc=$((p1 - p0)) -v hz="$hz" '
    function ms(v,   unit) { unit = v; sub(/^[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v)
      return (unit == "us") ? v / 1000 : (unit == "s") ? v * 1000 : (unit == "m") ? v * 60000 : v }
    /^Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    / requests in / { n = $1 }
    /^ +Non-2xx/ { bad = $NF }
    /^Transfer\/sec:/ { v = $2; unit = v; sub(/^[0-9.]+/, "", unit); sub(/[A-Za-z]+$/, "", v)
      f = (unit == "KB") ? 1024 : (unit == "MB") ? 1048576 : (unit == "GB") ? 1073741824 : 1
      mbs = v * f / 1e6 }
    END { printf "%s %s %s %d %d %.1f %.0f %.0f\n", rps, p50, p99, n, bad, mbs, rc * 1000 / hz, pc * 1000 / hz }' <<<"$report"
}

# Results: R[figure,name] = space-separated values, one per run.
declare -A R=()
add() { R[$1,$2]="${R[$1,$2]:-} $3"; }
vals() { tr ' ' '\n' <<<"${R[$1,$2]:-}" | sed '/^$/d'; }
fig() { vals "$1" "$2" | median; } # median over runs
fig_ratio() { # figure a b: median of the per-run ratios a / b
  paste <(vals "$1" "$2") <(vals "$1" "$3") | awk '$2 > 0 { printf "%.3f\n", $1 / $2 }' | median
}

measure() { # kind (narinfo|missing|nar) name
  local kind=$1 name=$2 paths conns extra=() rps p50 p99 n bad mbs rcpu pcpu
  case $kind in
    narinfo) paths=$T/data/narinfo_paths conns=$narinfo_conns ;;
    missing) paths=$T/data/missing_paths conns=$narinfo_conns ;;
    nar)
      paths=$T/data/nar_paths_edge conns=$nar_conns extra=(--timeout 30s)
      [[ $name == naive ]] && paths=$T/data/nar_paths_naive
      ;;
  esac
  # During NAR downloads, the isolate's memory through the inspector.
  local sampler=
  if [[ $kind == nar ]]; then
    node bench/edge/isolate_heap.mjs "${iport[$name]}" "$seconds" >"$T/heap-$name" 2>"$T/heap-$name.err" &
    sampler=$!
  fi
  read -r rps p50 p99 n bad mbs rcpu pcpu <<<"$(wrk_run "$name" "$paths" "$conns" "${extra[@]}")"
  if [[ -n $sampler ]]; then
    local heap
    wait "$sampler" || log "  isolate memory of $name not sampled: $(tail -1 "$T/heap-$name.err")"
    heap=$(sed -n 's/.*total_mb=\([0-9.]*\).*/\1/p' "$T/heap-$name")
    add nar-mem "$name" "${heap:-nan}"
    log "    isolate memory $name: $(cat "$T/heap-$name")"
  fi
  ((n > 0)) || die "wrk got no answer from $name ($kind)"
  if [[ $kind == missing ]]; then
    ((bad == n)) || die "$name: $((n - bad)) of $n missing narinfos did not answer 404"
  else
    ((bad == 0)) || die "$name: $bad of $n $kind answers were not 2xx"
  fi
  add "$kind-rps" "$name" "$rps"
  add "$kind-p50" "$name" "$p50"
  add "$kind-p99" "$name" "$p99"
  add "$kind-mbs" "$name" "$mbs"
  add "$kind-cpu" "$name" "$(awk -v c="$rcpu" -v n="$n" 'BEGIN { printf "%.3f", c / n }')"
  add "$kind-proxycpu" "$name" "$(awk -v c="$pcpu" -v n="$n" 'BEGIN { printf "%.3f", c / n }')"
  add "$kind-cpumb" "$name" "$(awk -v c="$rcpu" -v m="$mbs" -v s="$seconds" 'BEGIN { if (m > 0) printf "%.3f", c / (m * s); else print "nan" }')"
  log "    $kind $name: $rps req/s, p50 $p50 ms, p99 $p99 ms, $mbs MB/s, runtime CPU $rcpu ms / $n requests, proxy CPU $pcpu ms"
}

# ---------------------------------------------------------------- run

log "loading the synthetic cache into local R2 ($narinfos narinfos, NARs of $nar_mib MiB)"
start=$(now)
node bench/edge/load_cache.mjs "$wasm" "$T/template/v3/r2" "$T/data" \
  --narinfos "$narinfos" --nar-mib "$nar_mib" --chunk-kib 1024 >"$T/summary.out"
log "  loaded in $(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s: $(cat "$T/summary.out")"

log "starting three wrangler dev servers"
keys=$(cat "$T/data/trusted_keys.json")
start_instance cold wrangler.toml --var "TRUSTED_KEYS:$keys" \
  --var NARINFO_TTL:0 --var NARINFO_MISS_TTL:0 --var CACHE_CHUNKS:false
start_instance warm wrangler.toml --var "TRUSTED_KEYS:$keys"
start_instance naive bench/naive_wrangler.toml
check_instances

names=(cold naive warm)
for run in $(seq "$repeat"); do
  log "run $run of $repeat"
  order=("${names[@]:$(((run - 1) % 3))}" "${names[@]:0:$(((run - 1) % 3))}")
  for kind in narinfo missing nar; do
    for name in "${order[@]}"; do measure "$kind" "$name"; done
  done
done
for name in cold warm naive; do # the runtime's peak RSS, after everything
  rss[$name]=$(awk '/^VmHWM:/ { printf "%.0f", $2 * 1024 / 1e6 }' "/proc/${runtime_pid[$name]}/status")
done
for name in cold warm naive; do stop_instance "$name"; done

log "the wasm narinfo check alone (Node)"
check_line=$(node bench/edge/narinfo_check_time.mjs "$wasm" "$T/data/check_sample.json")
log "  $check_line"
check_us=$(sed -n 's/.*cpu_median_us=\([0-9.]*\).*/\1/p' <<<"$check_line")
check_wall_us=$(sed -n 's/.*wall_median_us=\([0-9.]*\).*/\1/p' <<<"$check_line")
sample_bytes=$(sed -n 's/.*narinfo_bytes=\([0-9]*\).*/\1/p' <<<"$check_line")

log "bundle sizes (wrangler deploy --dry-run)"
bundle() { # config -> "Total Upload: … / gzip: …" as wrangler prints it
  local log
  log=$("$wrangler" deploy --dry-run -c "$1" --outdir "$T/dist-$(basename "$1" .toml)" 2>&1) || { echo "$log" >&2; die "wrangler deploy --dry-run -c $1 failed"; }
  grep -oE 'Total Upload: .* gzip: [0-9.]+ KiB' <<<"$log" | head -1 | sed 's/Total Upload: //'
}
bundle_edge=$(bundle wrangler.toml)
bundle_naive=$(bundle bench/naive_wrangler.toml)
gzip_kib() { sed -E 's/.*gzip: ([0-9.]+) KiB.*/\1/' <<<"$1"; }
log "  nixedge: $bundle_edge; naive: $bundle_naive"

# ---------------------------------------------------------------- report

wrangler_version=$("$wrangler" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)
workerd_version=$(node -p "require('./node_modules/workerd/package.json').version" 2>/dev/null || echo '?')
nar_list=$(cut -f3,4 "$T/data/nars.tsv" | awk '{ printf "%s%.0f MiB (%d chunks)", (NR > 1 ? ", " : ""), $1 / 1048576, $2 }')
largest_chunks=$(cut -f4 "$T/data/nars.tsv" | sort -n | tail -1)
row() { # label unit figure digits: cold, warm, naive, cold/naive, warm/naive
  local label=$1 figure=$2 digits=$3
  printf '| %s | %s | %s | %s | %sx | %sx |\n' "$label" \
    "$(fmt "$(fig "$figure" cold)" "$digits")" "$(fmt "$(fig "$figure" warm)" "$digits")" \
    "$(fmt "$(fig "$figure" naive)" "$digits")" \
    "$(fmt "$(fig_ratio "$figure" cold naive)" 2)" "$(fmt "$(fig_ratio "$figure" warm naive)" 2)"
}
runs_line() { # label figure
  printf -- '- %s: cold %s; warm %s; naive %s\n' "$1" "$(vals "$2" cold | list)" "$(vals "$2" warm | list)" "$(vals "$2" naive | list)"
}
cold_cpu=$(fig narinfo-cpu cold)
naive_cpu=$(fig narinfo-cpu naive)
{
  echo '<!-- edge-benchmarks:begin -->'
  echo '## Edge Worker against a naive Worker (`make bench`, `bench/run.sh edge`)'
  echo
  echo "Side by side in one run, in **local workerd** (\`wrangler dev\` $wrangler_version, workerd $workerd_version, local R2 and"
  echo "Cache API simulated by Miniflare in the same process): each figure is the median of $repeat runs, and the"
  echo "ratios the median of the per-run ratios. Machine:"
  echo
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, shared with other work; memory $(free -g | awk '/^Mem:/ {print $2}') GiB; kernel $(uname -r); $(. /etc/os-release; echo "$PRETTY_NAME")"
  echo "- Node $(node --version); $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'); wrk, the three servers and their workerd processes share the same 2 cores"
  echo "- cache: $narinfos small paths + 4 NAR paths, each narinfo signed (Ed25519, up to 12 references, ~0.6-1 KB); NARs $nar_list, random bytes as stored chunk frames"
  echo "- measured $(date -u +%Y-%m-%d)"
  echo
  echo "Servers: **cold** = nixedge with \`NARINFO_TTL=0 NARINFO_MISS_TTL=0 CACHE_CHUNKS=false\` (every"
  echo "request reads R2 and checks the signature); **warm** = nixedge with the default TTLs (narinfos, 404s and"
  echo "chunks served from the Cache API after the first fetch); **naive** = \`bench/naive_proxy_worker.mjs\`,"
  echo "whole R2 objects by key, no check, no Cache API."
  echo
  echo "| figure | nixedge cold | nixedge warm | naive | cold / naive | warm / naive |"
  echo "|---|---|---|---|---|---|"
  row "narinfo GET, req/s (wrk -t2 -c$narinfo_conns -d${seconds}s, $(wc -l <"$T/data/narinfo_paths") narinfos in turn)" narinfo-rps 0
  row "narinfo GET, p50 ms" narinfo-p50 2
  row "narinfo GET, p99 ms" narinfo-p99 2
  row "narinfo GET, CPU ms per request: workerd running the Worker" narinfo-cpu 3
  row "narinfo GET, CPU ms per request: wrangler's proxy workerd" narinfo-proxycpu 3
  row "narinfo 404, req/s ($narinfos paths the bucket lacks)" missing-rps 0
  row "narinfo 404, p99 ms" missing-p99 2
  row "narinfo 404, CPU ms per request: workerd running the Worker" missing-cpu 3
  row "NAR download, MB/s of .nar.zst (wrk -t2 -c$nar_conns -d${seconds}s, the 4 NARs in turn; cold: CACHE_CHUNKS=false, warm: chunks from the Cache API)" nar-mbs 1
  row "NAR download, CPU ms per MB: workerd running the Worker" nar-cpumb 2
  row "NAR download, peak memory of the Worker's isolate, MB (V8 heap + ArrayBuffers, DevTools \`Runtime.getHeapUsage\` every 100 ms, $nar_conns downloads at once)" nar-mem 1
  printf '| peak RSS of the workerd running the Worker, MB (VmHWM, after all runs) | %s | %s | %s | %sx | %sx |\n' \
    "${rss[cold]}" "${rss[warm]}" "${rss[naive]}" "$(fmt "$(ratio "${rss[cold]}" "${rss[naive]}")" 2)" "$(fmt "$(ratio "${rss[warm]}" "${rss[naive]}")" 2)"
  printf '| bundle, gzip KiB (`wrangler deploy --dry-run`; the free plan allows 3072) | %s | (same) | %s | | |\n' \
    "$(gzip_kib "$bundle_edge")" "$(gzip_kib "$bundle_naive")"
  printf '| wasm narinfo check alone (`core.narinfoCheck` in Node on the same .wasm, %s-byte narinfo): CPU µs per call | %s | — | — | | |\n' \
    "$sample_bytes" "$check_us"
  echo
  echo "Runs:"
  echo
  runs_line "narinfo req/s" narinfo-rps
  runs_line "narinfo p99 ms" narinfo-p99
  runs_line "narinfo CPU ms/request (runtime workerd)" narinfo-cpu
  runs_line "narinfo CPU ms/request (proxy workerd)" narinfo-proxycpu
  runs_line "404 req/s" missing-rps
  runs_line "404 CPU ms/request (runtime workerd)" missing-cpu
  runs_line "NAR MB/s" nar-mbs
  runs_line "NAR CPU ms/MB (runtime workerd)" nar-cpumb
  runs_line "NAR isolate peak MB" nar-mem
  echo "- wasm narinfo check: \`$check_line\` (wall median $check_wall_us µs)"
  echo "- bundles: nixedge $bundle_edge; naive $bundle_naive"
  echo
  echo "Against the Workers free plan (what these figures say, and do not):"
  echo
  echo "- **CPU, 10 ms per request.** A cold narinfo cost the workerd process $(fmt "$cold_cpu" 2) ms of CPU here against"
  echo "  $(fmt "$naive_cpu" 2) ms for the naive Worker; both include Miniflare's R2 and Cache API simulators"
  echo "  (JavaScript and SQLite in the same process), which on Cloudflare run outside the Worker and are not"
  echo "  billed to it. The difference, $(fmt "$(awk -v a="$cold_cpu" -v b="$naive_cpu" 'BEGIN { print a - b }')" 2) ms, bounds what nixedge adds per cold narinfo"
  echo "  (the wasm check alone is $(fmt "$check_us" 0) µs); all of it is well under 10 ms. A warm narinfo skips R2 and the check."
  echo "  NAR downloads cost more CPU per MB than the naive Worker's because they make one R2 read per chunk"
  echo "  (~1 MiB) instead of one per NAR, and each simulated read costs CPU in this same process; the chunk"
  echo "  bytes themselves are piped by the runtime, never read into JavaScript."
  echo "- **Subrequests, 1000.** From \`request_context.mjs\`'s accounting: a cold narinfo makes 3 (Cache API"
  echo "  lookup, R2 get, Cache API store; 1 with both TTLs 0, as in the cold column), a cached one 1. A"
  echo "  NAR of n chunks makes 3 + 3n with the chunk cache and 1 + n without: the largest NAR here"
  echo "  ($largest_chunks chunks) $((3 + 3 * largest_chunks)) / $((1 + largest_chunks)); beyond 332 chunks the Worker drops the chunk cache"
  echo "  for that request, beyond 997 it refuses with 502 (about 1 GB of stored chunks at the 1 MiB average)."
  echo "  Local workerd does not enforce the limit."
  echo "- **Memory, 128 MB per isolate.** With $nar_conns NAR downloads at once the Worker's isolate peaked at"
  echo "  $(fmt "$(fig nar-mem cold)" 0) MB (cold) / $(fmt "$(fig nar-mem warm)" 0) MB (warm) against $(fmt "$(fig nar-mem naive)" 0) MB for the naive Worker: nixedge"
  echo "  pipes each chunk's body from R2 (or the Cache API) into the response, checking its length from the"
  echo "  object's metadata first, and keeps at most PREFETCH_CHUNKS (4) chunks open per response; the bytes"
  echo "  in flight sit in the runtime's stream buffers, not in the isolate's heap. The RSS row is the whole"
  echo "  runtime process (workerd, Miniflare's simulators and their caches), not the isolate."
  echo "- **Bundle, 3 MB gzip.** $(gzip_kib "$bundle_edge") KiB gzipped, $(fmt "$(awk -v k="$(gzip_kib "$bundle_edge")" 'BEGIN { print 100 * k / 3072 }')" 1) % of the free plan's limit (most of it the wasm core)."
  echo "- **Not Cloudflare's edge.** Local R2 is a file and SQLite on this disk (~1.5 ms per get), the Cache"
  echo "  API a local simulator, wrangler dev adds a proxy workerd in front, and wrk, both workerd processes and"
  echo "  other work share 2 cores. Throughputs are local ones, for comparing the two Workers with each other,"
  echo "  not predictions of production latency or req/s."
  echo
  echo '<!-- edge-benchmarks:end -->'
} >"$out"
log "wrote $out"
