#!/usr/bin/env bash
# `wrangler dev` on a free loopback port: the Worker loads the core module in
# workerd, answers GET (501 until the cache routes exist) and refuses writes (405).
set -euo pipefail
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
# Its own process group, so that stopping it also stops wrangler's workerd.
setsid npx wrangler dev --ip 127.0.0.1 --port "$port" --show-interactive-dev-session=false >"$log" 2>&1 &
pid=$!
# SIGINT to the group first, as Ctrl-C in a terminal would: wrangler and
# workerd shut down and reap each other.
stop() {
  kill -INT -- -"$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -- -"$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$log"
}
trap stop EXIT
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.2
done
fail=0
expect() { # expect METHOD STATUS BODY_PATTERN
  local body status
  body=$(curl -s -X "$1" -w '\n%{http_code}' "http://127.0.0.1:$port/nix-cache-info")
  status=${body##*$'\n'}
  body=${body%$'\n'*}
  if [[ $status != "$2" || ! $body =~ $3 ]]; then
    echo "FAIL $1: status $status, body: $body"; fail=1
  else
    echo "ok   $1 -> $status"
  fi
}
expect GET 501 "core ABI [0-9]+ loaded"
for method in PUT POST DELETE PATCH; do expect "$method" 405 "method not allowed"; done
exit $fail
