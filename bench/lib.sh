# shellcheck shell=bash
# Helpers the benchmark scripts share (bench/lab_bench.sh, bench/prod_bench.sh):
# figures (median, ratio, fmt...), stopping a process, a Nix 2.8 client on a
# chroot store, a fresh nixedge-server with a cache and a push token, its peak
# RSS, CPU time and ingest rate from its access log. Source it after setting
#   bench_name  the prefix of progress lines (stderr)
#   T           the script's temp dir (servers, Nix store, logs)
#   server_bin  the nixedge-server binary
#   started     an array: start_server adds each server's PID (for cleanup)
# shellcheck disable=SC2154,SC2034 # bench_name, T, server_bin, started are the caller's; srv_* are for it

log() { echo "$bench_name: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
fmt() { awk -v v="$1" -v d="${2:-1}" 'BEGIN { if (v == "nan" || v == "") print "n/a"; else printf "%.*f", d, v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b == 0 || a == "" || b == "") print "nan"; else printf "%.3f", a / b }'; }
verdict() { # value op target
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
    if (v == "nan" || v == "") { print "not measured"; exit }
    met = (op == ">=") ? (v >= t) : (v <= t)
    print met ? "met" : "**missed**" }'
}
list() { tr '\n' ' ' | sed 's/ $//; s/ /, /g'; } # one value per line -> "a, b, c"
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# Nix 2.8 as root on a chroot store ($store, under $T); a fresh HOME and
# cache (Nix caches narinfo lookups client side), no substituters.
bench_nix_env() {
  export HOME=$T/home XDG_CACHE_HOME=$T/xdg-cache
  mkdir -p "$HOME" "$XDG_CACHE_HOME"
  export NIX_CONFIG=$'experimental-features = nix-command\nsubstituters =\nbuild-users-group =\nwarn-dirty = false'
  store=$T/root
}
nix_store() { nix-store --store "$store" "$@"; }
nix_copy() { # its progress lines go to a log, shown if it fails
  nix --store "$store" copy --option download-attempts 1 "$@" 2>>"$T/nix.log" || {
    tail -20 "$T/nix.log" >&2
    die "nix copy $* failed"
  }
}

# A port nobody listens on right now (nginx needs one up front).
free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 40000))
    if [[ -z $(ss -Htln "sport = :$port") ]]; then
      echo "$port"
      return
    fi
  done
  die "no free port found"
}

wait_http() { # url: until it answers (any status), 20 s at most
  for _ in $(seq 200); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  die "$1 does not answer"
}

# SIGTERM, then SIGKILL if the process is still there after 15 s (counted:
# a server that does not stop on SIGTERM is a finding of its own).
forced_kills=0
stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "warning: PID $pid did not exit within 15 s of SIGTERM; killing it"
    forced_kills=$((forced_kills + 1))
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- the server

NIXEDGE_TOKEN_HS256_SECRET=$(openssl rand -hex 32)
export NIXEDGE_TOKEN_HS256_SECRET
# What start_server sets, for the caller.
srv_pid='' srv_port='' srv_dir='' srv_netrc=''
# start_server NAME CACHE [TOML]: a fresh server in $T/server-NAME with one
# public cache and a push token (srv_netrc); TOML is added to its config
# (e.g. [database] and [storage] sections).
start_server() {
  local name=$1 cache=$2 extra=${3:-} line token
  srv_dir=$T/server-$name
  mkdir -p "$srv_dir/data"
  cat >"$srv_dir/server.toml" <<EOF
[server]
listen = "127.0.0.1:0"
data_dir = "$srv_dir/data"
$extra
EOF
  "$server_bin" --config "$srv_dir/server.toml" cache create "$cache" --public >"$srv_dir/public-key"
  token=$("$server_bin" --config "$srv_dir/server.toml" make-token --sub bench --validity 1d \
    --pull "$cache" --push "$cache")
  srv_netrc=$srv_dir/netrc
  echo "machine 127.0.0.1 password $token" >"$srv_netrc"
  "$server_bin" --config "$srv_dir/server.toml" serve >"$srv_dir/stdout" 2>"$srv_dir/stderr" &
  srv_pid=$!
  started+=("$srv_pid")
  for _ in $(seq 300); do
    line=$(grep -s -m1 -o 'listening on http://127\.0\.0\.1:[0-9]*' "$srv_dir/stdout" || true)
    if [[ -n $line ]]; then
      srv_port=${line##*:}
      return 0
    fi
    kill -0 "$srv_pid" 2>/dev/null || break
    sleep 0.1
  done
  die "nixedge-server did not start: $(tail -5 "$srv_dir/stderr")"
}

# Peak resident set of a live process, in MB (10^6 bytes).
peak_rss_mb() { awk '/^VmHWM:/ { printf "%.1f", $2 * 1024 / 1e6 }' "/proc/$1/status"; }
cpu_seconds() { # user + system CPU time of a live process
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

# Server-side ingest of a push, from the server's access log: NAR bytes
# received by uploads (route ROUTE: nar-upload, Nix's NAR PUT, by default) over
# the time the server spent on at least one of them (the union of their
# [first byte, answer] intervals). Nix 2.8 has each NAR in memory before its
# PUT, so the body arrives as fast as the server takes it. Prints "MB/s
# seconds". access_log_ingest_rate LOG [NAR_BYTES [ROUTE]]: with NAR_BYTES,
# the rate is of those bytes rather than of the bodies' (which are compressed
# when Nix compresses).
access_log_ingest_rate() {
  jq -R -r -s --arg nar_bytes "${2:-}" --arg route "${3:-nar-upload}" '
    [ split("\n")[] | (fromjson? // empty)
      | select(.method == "PUT" and .route == $route and .status < 300)
      | ((.time[0:19] + "Z" | fromdateiso8601) + (.time[20:23] | tonumber) / 1000) as $t
      | { start: $t, end: ($t + .duration_ms / 1000), bytes: .bytes_in } ]
    | sort_by(.start) as $puts
    | (reduce $puts[] as $p ({busy: 0, s: null, e: null};
        if .e == null then {busy: 0, s: $p.start, e: $p.end}
        elif $p.start <= .e then .e = ([.e, $p.end] | max)
        else {busy: (.busy + .e - .s), s: $p.start, e: $p.end} end)
       | .busy + (if .e == null then 0 else .e - .s end)) as $busy
    | (if $nar_bytes == "" then ($puts | map(.bytes) | add // 0) else ($nar_bytes | tonumber) end) as $bytes
    | if $busy > 0 then "\($bytes / 1e6 / $busy) \($busy)" else "nan 0" end
  ' "$1"
}

# Bytes a server's bucket directory holds for all its caches: chunk frames
# and manifests.
bucket_stored_bytes() {
  { find "$1/chunks" "$1/manifests" -type f -printf '%s\n' 2>/dev/null || true; } |
    awk '{ s += $1 } END { printf "%d\n", s }'
}
nix_cache_bytes() { # a file:// cache's NAR files
  { find "$1/nar" -type f -name '*.nar.zst' -printf '%s\n' 2>/dev/null || true; } |
    awk '{ s += $1 } END { printf "%d\n", s }'
}

# ---------------------------------------------------------------- data

valid_name() { [[ $1 =~ ^[A-Za-z0-9+_?=-][A-Za-z0-9+._?=-]*$ ]]; }

# prepare_closure: real files of /usr/lib and /usr/share, each directory (or
# file) of /usr/lib/x86_64-linux-gnu, /usr/lib and /usr/share its own store
# path, as packages are: one of at least $big_min_mb MB (a multi-chunk NAR),
# then the largest of those under $part_max_mb MB until the closure holds
# $closure_mb MB (sizes as a NAR counts them: a hard-linked file once per
# name), added to the chroot store. Sets closure (store paths, the big one
# first), big, nar_files (each path's NAR, dumped), closure_bytes, big_src,
# big_bytes.
part_max_mb=40
prepare_closure() {
  local sizes=$T/usr-sizes multiarch
  multiarch=/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
  log "measuring /usr/lib and /usr/share"
  for entry in "$multiarch"/* /usr/lib/* /usr/share/*; do
    [[ ( -d $entry || -f $entry ) && ! -L $entry ]] || continue
    [[ $entry != "$multiarch" && $entry != /usr/share/doc ]] || continue
    valid_name "$(basename "$entry")" || continue
    printf '%s\t%s\t%s\n' "$(du -sbl "$entry" 2>/dev/null | cut -f1)" "$entry" \
      "$(du -sb "$entry" 2>/dev/null | cut -f1)"
  done | sort -n >"$sizes"
  # The download NAR by its distinct bytes, so its chunks are not repeats of a
  # few hard-linked files.
  big_src=$(awk -F'\t' -v min="$big_min_mb" '$1 >= min * 1e6 && $3 >= min * 1e6 { print $2; exit }' "$sizes")
  [[ -n $big_src ]] || die "no directory of >= $big_min_mb MB under /usr/lib or /usr/share"
  local want=$((closure_mb * 1000000)) have
  have=$(awk -F'\t' -v p="$big_src" '$2 == p { print $1 }' "$sizes")
  closure_src=("$big_src")
  while IFS=$'\t' read -r size entry _; do
    ((have >= want)) && break
    ((size < part_max_mb * 1000000)) || continue
    closure_src+=("$entry")
    have=$((have + size))
  done < <(sort -rn "$sizes")
  ((have >= want)) || die "only $have bytes of /usr found for a $closure_mb MB closure"

  log "adding ${#closure_src[@]} paths ($((have / 1000000)) MB) to a chroot store"
  local start
  start=$(now)
  mapfile -t closure < <(nix_store --add "${closure_src[@]}")
  big=${closure[0]}
  log "  took $(elapsed "$start") s"
  mkdir -p "$T/nars"
  nar_files=()
  local i=0
  for path in "${closure[@]}"; do
    nix-store --dump "$store$path" >"$T/nars/$i.nar" # the chroot store's file system
    nar_files+=("$T/nars/$i.nar")
    i=$((i + 1))
  done
  closure_bytes=$(stat -c %s "${nar_files[@]}" | awk '{ s += $1 } END { print s }')
  big_bytes=$(stat -c %s "$T/nars/0.nar")
}
