#!/usr/bin/env bash
# `wrangler dev` on a free loopback port, as a person runs it: the Worker
# builds, loads the core module in workerd, answers reads from its (empty)
# local R2 and refuses writes (405). With wrangler.toml's placeholder key it
# says it is misconfigured; with a key it serves (here: 404, nothing synced).
set -euo pipefail
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
state=$(mktemp -d)
start() { # start [wrangler dev options...]
  # Its own process group, so that stopping it also stops wrangler's workerd.
  setsid npx wrangler dev --ip 127.0.0.1 --port "$port" --persist-to "$state" \
    --show-interactive-dev-session=false "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
    kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.2
  done
  cat "$log"; exit 1
}
# SIGINT to the group first, as Ctrl-C in a terminal would: wrangler and
# workerd shut down and reap each other.
stop() {
  [[ -n ${pid:-} ]] || return 0
  kill -INT -- -"$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -- -"$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
}
trap 'stop; rm -rf "$log" "$state"' EXIT
fail=0
expect() { # expect METHOD PATH STATUS BODY_PATTERN
  local body status
  body=$(curl -s -X "$1" -w '\n%{http_code}' "http://127.0.0.1:$port$2")
  status=${body##*$'\n'}
  body=${body%$'\n'*}
  if [[ $status != "$3" || ! $body =~ $4 ]]; then
    echo "FAIL $1 $2: status $status, body: $body"; fail=1
  else
    echo "ok   $1 $2 -> $status"
  fi
}
start
expect GET /nix-cache-info 500 "edge misconfigured: TRUSTED_KEYS.main"
stop
key='main-1:Zu+/SZh6D4RRdZqkC5GMQuanFxp61KffkzlSnq5+TEI='
start --var "TRUSTED_KEYS:{\"main\":[\"$key\"]}"
expect GET /nix-cache-info 404 "not found: nix-cache-info of cache 'main'"
expect GET /main/nix-cache-info 404 "not found"
expect GET /main/../sync/plan 404 "not found"
expect GET /other/nix-cache-info 404 "not found: /other/nix-cache-info"
for method in PUT POST DELETE PATCH; do expect "$method" /nix-cache-info 405 "method not allowed"; done
exit $fail
