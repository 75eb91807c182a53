# shellcheck shell=bash
# What the shell tests that run real servers share. Source it after
# `set -euo pipefail`; it sets:
#   tmp              a temp dir, removed on exit with every server still running
#   server_pid       the lab server's PID once start_lab ran (stop_server ends it)
#   edge_pid         wrangler dev's PID, started with setsid (stop_edge ends its group)
#   fail MSG         prints MSG and the tails of $tmp/server.err and $tmp/edge.log, exits 1
#   step MSG         a progress line, with the seconds elapsed
#   free_port        a free TCP port on 127.0.0.1
#   start_lab CONFIG starts `nixedge-server --config CONFIG serve` (the caller's
#                    $server names the binary) and sets lab_url from its "listening on" line
#   lab_config [TOML] a fresh token secret in the environment (no other NIXEDGE_
#                    setting leaks in), and $tmp/server.toml: a server on a free
#                    port with its data in $tmp/data, plus TOML
#   admin ARGS       nixedge-server --config $tmp/server.toml ARGS
#   fresh_nix_env    a fresh HOME and client cache for the next Nix calls: Nix
#                    remembers narinfo lookups (a warm cache turns a push into no requests)
#   nix_cmd ARGS     nix with the nix-command feature and no default substituter
tmp=$(mktemp -d)
server_pid=
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

start_lab() {
  # shellcheck disable=SC2154 # $server is the caller's
  "$server" --config "$1" serve >"$tmp/server.out" 2>"$tmp/server.err" &
  server_pid=$!
  for _ in $(seq 100); do grep -qs '^listening on ' "$tmp/server.out" && break; sleep 0.05; done
  lab_url=$(sed -n 's/^listening on //p' "$tmp/server.out")
  [[ -n $lab_url ]] || fail "the lab server did not start"
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
