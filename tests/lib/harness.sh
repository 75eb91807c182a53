# shellcheck shell=bash
# What the shell tests that run real servers share. Source it after
# `set -euo pipefail`; it sets:
#   tmp              a temp dir, removed on exit with every server still running
#   server_pid       the lab server's PID once start_lab ran (stop_server ends it)
#   replica_pids     the PIDs of start_replica's servers (ended on exit)
#   edge_pid         wrangler dev's PID, started with setsid (stop_edge ends its group)
#   fail MSG         prints MSG and the tails of $tmp/server.err and $tmp/edge.log, exits 1
#   step MSG         a progress line, with the seconds elapsed
#   free_port        a free TCP port on 127.0.0.1
#   start_lab CONFIG starts `nixedge-server --config CONFIG serve` (the caller's
#                    $server names the binary) and sets lab_url from its "listening on" line
#   start_replica NAME one more server on $tmp/server.toml (a replica of the lab:
#                    same database and bucket), output in $tmp/NAME.{out,err}; sets replica_url
#   use_postgres_database STATE NAME  a new database NAME on the PostgreSQL of
#                    STATE (tests/lib/postgres.sh), named by NIXEDGE_DATABASE_URL
#                    (after lab_config, which unsets it)
#   lab_config [TOML] a fresh token secret in the environment (no other NIXEDGE_
#                    setting leaks in), and $tmp/server.toml: a server on a free
#                    port with its data in $tmp/data, plus TOML
#   admin ARGS       nixedge-server --config $tmp/server.toml ARGS
#   fresh_nix_env    a fresh HOME and client cache for the next Nix calls: Nix
#                    remembers narinfo lookups (a warm cache turns a push into no requests)
#   nix_cmd ARGS     nix with the nix-command feature and no default substituter
#   start_edge PORT PERSIST_DIR [OPTION...]  the Worker under `wrangler dev` on
#                    127.0.0.1:PORT, local R2 in PERSIST_DIR, OPTIONs passed on
#                    (--var ...), in its own process group, logging to $tmp/edge.log
#   substitute STORE URL KEY PATH...  nix-store -r PATH into STORE from URL alone,
#                    require-sigs with KEY the only trusted key (fresh client cache)
#   build_paths FILE nix-build of FILE's attributes into $tmp/root (FILE: a
#                    function of testlib, tests/lib/test_paths.nix); sets built
#   built_path NAME  the path of testlib's `mk NAME` among them
#   same_path STORE PATH  fails unless PATH in STORE has the tree and NarHash it
#                    has in $tmp/root (where build_paths builds)
harness_dir=$(realpath "$(dirname "${BASH_SOURCE[0]}")")
tmp=$(mktemp -d)
server_pid=
replica_pids=()
edge_pid=

stop_server() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}

# SIGINT to the group, as Ctrl-C would (wrangler and workerd reap each other),
# then SIGKILL to whatever is left of it.
stop_edge() {
  if [[ -n $edge_pid ]]; then
    kill -INT -- -"$edge_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$edge_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- -"$edge_pid" 2>/dev/null || true
    wait "$edge_pid" 2>/dev/null || true
    edge_pid=
  fi
}

harness_cleanup() {
  stop_edge
  stop_server
  local pid
  for pid in "${replica_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap harness_cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  [[ -f $tmp/server.err ]] && tail -20 "$tmp/server.err" >&2
  [[ -f $tmp/edge.log ]] && tail -30 "$tmp/edge.log" >&2
  exit 1
}

step() { echo "== $* ($SECONDS s)"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# background_server CONFIG NAME: the server in the background, output in $tmp/NAME.{out,err};
# sets bg_server_pid, and bg_server_url once it listens (empty if it did not)
background_server() {
  # shellcheck disable=SC2154 # $server is the caller's
  "$server" --config "$1" serve >"$tmp/$2.out" 2>"$tmp/$2.err" &
  bg_server_pid=$!
  for _ in $(seq 100); do grep -qs '^listening on ' "$tmp/$2.out" && break; sleep 0.05; done
  bg_server_url=$(sed -n 's/^listening on //p' "$tmp/$2.out")
}

start_lab() {
  background_server "$1" server
  server_pid=$bg_server_pid lab_url=$bg_server_url
  [[ -n $lab_url ]] || fail "the lab server did not start"
}

start_replica() {
  background_server "$tmp/server.toml" "$1"
  replica_pids+=("$bg_server_pid")
  replica_url=$bg_server_url
  [[ -n $replica_url ]] || fail "replica $1 did not start: $(cat "$tmp/$1.err")"
}

use_postgres_database() {
  [[ -f ${1:-} ]] || fail "no PostgreSQL state file '${1:-}': run through ctest (the postgres fixture)"
  # shellcheck disable=SC1090
  source "$1"
  psql -q -X -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" \
    -U postgres -d postgres -c "CREATE DATABASE $2 OWNER nixedge"
  export NIXEDGE_DATABASE_URL=${NIXEDGE_TEST_POSTGRES_URL%/*}/$2
}

lab_config() {
  NIXEDGE_TOKEN_HS256_SECRET=$(openssl rand -hex 32)
  export NIXEDGE_TOKEN_HS256_SECRET
  unset NIXEDGE_TOKEN_HS256_SECRET_BASE64 NIXEDGE_CONFIG NIXEDGE_DATABASE_URL
  printf '[server]\nlisten = "127.0.0.1:0"\ndata_dir = "%s"\n%s' "$tmp/data" "${1:-}" >"$tmp/server.toml"
}

# shellcheck disable=SC2154 # $server is the caller's
admin() { "$server" --config "$tmp/server.toml" "$@"; }

fresh_nix_env() {
  local d
  d=$(mktemp -d "$tmp/client.XXXX")
  export HOME=$d XDG_CACHE_HOME=$d/cache
}

nix_cmd() { nix --extra-experimental-features nix-command --option substituters '' "$@"; }

start_edge() {
  local port=$1 persist=$2
  shift 2
  setsid npx wrangler dev --persist-to "$persist" --ip 127.0.0.1 --port "$port" \
    --show-interactive-dev-session=false "$@" >>"$tmp/edge.log" 2>&1 &
  edge_pid=$!
  for _ in $(seq 300); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
    kill -0 "$edge_pid" 2>/dev/null || fail "wrangler dev exited"
    sleep 0.1
  done
  fail "wrangler dev did not answer"
}

substitute() {
  local store=$1 url=$2 key=$3
  shift 3
  fresh_nix_env
  nix-store --store "$store" -r "$@" --option substituters "$url" --option require-sigs true \
    --option trusted-public-keys "$key" --option download-attempts 1 \
    --option connect-timeout 5 >/dev/null
}

build_paths() {
  fresh_nix_env
  built=$(nix-build --store "$tmp/root" "$1" --no-out-link --arg testlib "$harness_dir/test_paths.nix" \
    --option substituters '' --option sandbox-paths '/bin /usr /lib /lib64' \
    --option build-users-group '' 2>"$tmp/build.log") || { cat "$tmp/build.log" >&2; fail "nix-build"; }
}

built_path() { grep -- "-nixedge-test-$1\$" <<<"$built" || fail "no path $1 in: $built"; }

same_path() {
  diff -r --no-dereference "$tmp/root$2" "$1$2" >/dev/null || fail "$2 differs after substitution"
  [[ $(nix-store --store "$1" -q --hash "$2") == $(nix-store --store "$tmp/root" -q --hash "$2") ]] ||
    fail "$2: NarHash differs"
}
