#!/usr/bin/env bash
# scripts/run-lab.sh (`make run`) on a temp data directory:
#   run-lab-test.sh NIXEDGE_SERVER_BINARY
# Checks the set-up it does (token secret, server.toml, cache `main`, token,
# netrc) and every line it prints for Nix, that a second run keeps the secret
# and the cache, that a secret from the environment is used as is, that it
# execs `serve` (the same process, with its config), and what the real
# `serve` then does.
set -euo pipefail
server=$(realpath "$1")
repo=$(cd "$(dirname "$0")/../.." && pwd)
script=$repo/scripts/run-lab.sh
tmp=$(mktemp -d)
serve_pid=
cleanup() {
  if [[ -n $serve_pid ]]; then kill "$serve_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
unset NIXEDGE_TOKEN_HS256_SECRET NIXEDGE_TOKEN_HS256_SECRET_BASE64 NIXEDGE_CONFIG NIXEDGE_URL
export NIXEDGE_SERVER=$server

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
expect_line() { # expect_line FILE LINE
  grep -qxF -- "$2" "$1" || { cat "$1" >&2; fail "no line '$2'"; }
}
mode_of() { stat -c %a "$1"; }
base64url_decode() {
  local s
  s=$(tr '_-' '/+' <<<"$1")
  while ((${#s} % 4)); do s+='='; done
  base64 -d <<<"$s"
}
# The token's HS256 signature checks out with the hex secret, and its claims
# are those of `make-token --sub local-admin --validity 1y --pull main --push main`.
check_token() { # check_token TOKEN HEX_SECRET
  local header payload signature expected claims
  IFS=. read -r header payload signature <<<"$1"
  expected=$(printf '%s' "$header.$payload" |
    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$2" -binary | base64 | tr '+/' '-_' | tr -d '=')
  [[ $signature == "$expected" ]] || fail "the token is not signed with the secret"
  claims=$(base64url_decode "$payload")
  [[ $(jq -r .sub <<<"$claims") == local-admin ]] || fail "sub in $claims"
  [[ $(jq -c '.["https://jwt.attic.rs/v1"].caches' <<<"$claims") == '{"main":{"r":1,"w":1}}' ]] ||
    fail "grants in $claims"
  [[ $(jq '.exp - .nbf' <<<"$claims") == 31557600 ]] || fail "validity in $claims"
}
# The line after the one that starts with $2.
line_after() { grep -A1 -- "^$2" "$1" | tail -n 1; }

# ---- first run: everything is made -------------------------------------------------
data=$tmp/data
port=18123 # set-up only: nothing listens on it
NIXEDGE_DATA_DIR=$data NIXEDGE_LISTEN=127.0.0.1:$port NIXEDGE_RUN_SETUP_ONLY=1 \
  "$script" >"$tmp/out1" 2>"$tmp/err1" || { cat "$tmp/err1" >&2; fail "set-up failed"; }
[[ ! -s $tmp/err1 ]] || { cat "$tmp/err1" >&2; fail "set-up wrote to stderr"; }

[[ $(mode_of "$data/token-secret") == 600 ]] || fail "token-secret mode $(mode_of "$data/token-secret")"
secret=$(<"$data/token-secret")
[[ $secret =~ ^[0-9a-f]{64}$ ]] || fail "token-secret is not 32 bytes of hex"
[[ $(mode_of "$data/netrc") == 600 ]] || fail "netrc mode $(mode_of "$data/netrc")"
[[ $(mode_of "$data") == 700 ]] || fail "data dir mode $(mode_of "$data")"
grep -qxF "listen = \"127.0.0.1:$port\"" "$data/server.toml" || fail "listen in server.toml"
grep -qxF "data_dir = \"$data\"" "$data/server.toml" || fail "data_dir in server.toml"

admin() { "$server" --config "$data/server.toml" "$@"; }
[[ $(admin cache list) == "main public no-edge priority=41 retention=forever" ]] ||
  fail "cache list: $(admin cache list)"
public_key=$(admin cache info main --public-key)
[[ $public_key == main-1:* ]] || fail "public key $public_key"

token=$(line_after "$tmp/out1" "Token ")
check_token "$token" "$secret"
[[ $(line_after "$tmp/out1" "Public key of 'main'") == "$public_key" ]] || fail "printed public key"
url=http://127.0.0.1:$port
expect_line "$tmp/out1" "substituters = $url/main"
expect_line "$tmp/out1" "trusted-public-keys = $public_key"
expect_line "$tmp/out1" "machine 127.0.0.1 password $token"
expect_line "$tmp/out1" "nix copy --to '$url/main?compression=zstd' --option netrc-file $data/netrc <path>"
expect_line "$tmp/out1" "$(dirname "$server")/nixedge login local $url $token"
expect_line "$tmp/out1" "$(dirname "$server")/nixedge push main <path>"
[[ $(<"$data/netrc") == "machine 127.0.0.1 password $token" ]] || fail "netrc content"
echo "first run: secret, server.toml, public cache main, token and the lines for Nix"

# ---- second run: the secret and the cache stay ---------------------------------------
NIXEDGE_DATA_DIR=$data NIXEDGE_LISTEN=127.0.0.1:$port NIXEDGE_RUN_SETUP_ONLY=1 \
  "$script" >"$tmp/out2" 2>"$tmp/err2" || { cat "$tmp/err2" >&2; fail "second set-up failed"; }
[[ $(<"$data/token-secret") == "$secret" ]] || fail "the secret changed"
[[ $(admin cache info main --public-key) == "$public_key" ]] || fail "the cache was made again"
[[ $(admin cache list | wc -l) == 1 ]] || fail "more than one cache"
check_token "$(line_after "$tmp/out2" "Token ")" "$secret"
echo "second run: same secret, same cache and key"

# ---- a secret from the environment is used, and none is written -----------------------
env_data=$tmp/env-data
env_secret=$(openssl rand -hex 32)
NIXEDGE_DATA_DIR=$env_data NIXEDGE_TOKEN_HS256_SECRET=$env_secret NIXEDGE_RUN_SETUP_ONLY=1 \
  "$script" >"$tmp/out3" 2>"$tmp/err3" || { cat "$tmp/err3" >&2; fail "set-up with env secret"; }
[[ ! -e $env_data/token-secret ]] || fail "token-secret written although the environment had one"
check_token "$(line_after "$tmp/out3" "Token ")" "$env_secret"
expect_line "$tmp/out3" "substituters = http://127.0.0.1:8080/main" # the default listen address
echo "environment secret: used, not stored"

# ---- it execs serve: same process, with the data dir's config ----------------------------
fake=$tmp/fake-server
cat >"$fake" <<EOF
#!/usr/bin/env bash
if [[ \${!#} == serve ]]; then echo "\$\$ \$*" >"$tmp/serve-call"; exit 0; fi
exec "$server" "\$@"
EOF
chmod +x "$fake"
NIXEDGE_SERVER=$fake NIXEDGE_DATA_DIR=$data NIXEDGE_LISTEN=127.0.0.1:$port "$script" >"$tmp/out4" &
script_pid=$!
wait "$script_pid" || fail "the script with a fake server failed"
[[ $(<"$tmp/serve-call") == "$script_pid --config $data/server.toml serve" ]] ||
  fail "serve was not exec'd as expected: $(<"$tmp/serve-call") (script pid $script_pid)"
echo "execs: nixedge-server --config <data>/server.toml serve, in the script's own process"

# ---- the real serve ----------------------------------------------------------------------
NIXEDGE_DATA_DIR=$data NIXEDGE_LISTEN=127.0.0.1:0 "$script" >"$tmp/out5" 2>"$tmp/err5" &
serve_pid=$!
for _ in $(seq 200); do
  grep -q '^listening on ' "$tmp/out5" && break
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 0.1
done
if listening=$(grep '^listening on ' "$tmp/out5"); then
  base=${listening#listening on }
  [[ $base =~ ^http://127\.0\.0\.1:[0-9]+$ && $base != *:0 ]] || fail "listening line '$listening'"
  code=$(curl -s -o /dev/null -w '%{http_code}' "$base/healthz") || fail "nothing answers at $base"
  [[ $code == 200 ]] || fail "GET $base/healthz: $code"
  kill "$serve_pid"
  wait "$serve_pid" || fail "serve did not stop cleanly on SIGTERM"
  serve_pid=
  echo "serve: listening on $base, healthz 200, stopped by SIGTERM"
else
  # Until app/serve.cpp is wired to the HTTP server its stub fails at once;
  # that (and only that) must come through the CLI's error path: exit 1 and
  # one message on stderr. Any other failure of serve fails this test.
  status=0
  wait "$serve_pid" || status=$?
  serve_pid=
  [[ $status == 1 ]] || { cat "$tmp/err5" >&2; fail "serve exited with $status"; }
  grep -qx 'nixedge-server: .*not wired yet (internal)' "$tmp/err5" ||
    { cat "$tmp/err5" >&2; fail "serve failed"; }
  echo "serve: not available in this build yet: $(<"$tmp/err5")"
fi
