#!/usr/bin/env bash
# Backend faults with the real Nix client and real servers:
#   faults_test.sh storage  NIXEDGE_SERVER_BINARY
#   faults_test.sh database NIXEDGE_SERVER_BINARY   (NIXEDGE_TEST_RGW_ENV: the RGW fixture's env file)
#
# storage: the S3 endpoint goes away during a push. The test runs its own RGW
# (tests/lib/rgw.sh start; the fixture's RGW is shared with tests running at
# the same time) under a server on SQLite with small S3 retries and timeouts
# (2 tries, 2 s connect, 5 s request). radosgw alone stops (rgw.sh
# stop-gateway) while a 12 MB NAR is being PUT, once 2 of its chunks are
# stored: the PUT gets 503 with a JSON body naming the storage, and no NAR is
# recorded or staged. With radosgw still down, `nix copy` of the closure fails
# within seconds on a 503 (the access log says so), every narinfo GET is 404
# and the database has no path. radosgw comes back (rgw.sh start-gateway)
# and, without a server restart, the same push succeeds with no chunk left
# claimed, a fresh store substitutes the closure with require-sigs, and
# `fsck --verify-content` finds the database and the bucket in agreement.
# GET /readyz is 200 before, 503 with a body naming the storage (only) while
# radosgw is down, and 200 again after; /healthz stays 200.
#
# database: PostgreSQL goes away under a running server. The test runs its own
# PostgreSQL (tests/lib/postgres.sh start: a free port, a dir under $TMPDIR
# or /tmp, removed at exit; restarting the fixture's would cut other tests'
# connections) under a server on the fixture's RGW. After a push:
# a restart (every pooled connection cut) is survived with no failed request;
# while PostgreSQL is stopped, requests that need the database get a prompt
# 503 with a JSON body (no hang, no crash), the process stays up, /readyz is
# 503 naming the database (only) and /healthz 200; once it is started again,
# /readyz is 200 and narinfo GETs and a new push succeed with no server restart.
set -euo pipefail
mode=${1:?usage: faults_test.sh storage|database NIXEDGE_SERVER_BINARY}
server=$(realpath "${2:?usage: faults_test.sh storage|database NIXEDGE_SERVER_BINARY}")
here=$(cd "$(dirname "$0")" && pwd)
rgw_script=$here/../lib/rgw.sh
postgres_script=$here/../lib/postgres.sh
# shellcheck source=tests/lib/harness.sh
source "$here/../lib/harness.sh"

own_rgw=
own_postgres=
faults_cleanup() {
  # A server stuck in a request (a bug this test looks for) gets 10 s to stop.
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  stop_server
  [[ -z $own_rgw ]] || "$rgw_script" stop "$own_rgw" >/dev/null 2>&1 || true
  [[ -z $own_postgres ]] || "$postgres_script" stop "$own_postgres" >/dev/null 2>&1 || true
  harness_cleanup
}
trap faults_cleanup EXIT

case $mode in
storage)
  own_rgw=$tmp/rgw
  "$rgw_script" start "$own_rgw" >"$tmp/rgw.out" 2>&1 || fail "cannot start an RGW: $(cat "$tmp/rgw.out")"
  export NIXEDGE_TEST_RGW_ENV=$own_rgw/env
  ;;
database)
  own_postgres=$tmp/postgres.state
  "$postgres_script" start "$own_postgres" >"$tmp/postgres.out" 2>&1 ||
    fail "cannot start PostgreSQL: $(cat "$tmp/postgres.out")"
  # shellcheck disable=SC1090
  source "$own_postgres"
  ;;
*) fail "unknown mode '$mode' (storage or database)" ;;
esac
# shellcheck source=tests/s3/s3_lib.sh
source "$here/s3_lib.sh"

# Small S3 retries, so an outage costs seconds: 2 tries, connect 2 s, request 5 s.
s3_config() { # bucket
  lab_config_on_s3 "$1"
  printf 'max_attempts = 2\nconnect_timeout = "2s"\nrequest_timeout = "5s"\n' >>"$tmp/server.toml"
}

# Two input-addressed paths (signatures are checked on them): a dependency
# with a multi-chunk random file of $2 bytes, and a path that refers to it.
# $1 names the pair.
build_closure() { # name, size of the dependency's big file
  cat >"$tmp/closure-$1.nix" <<NIX
let
  sh = cmd: [ "-c" ("export PATH=/bin:/usr/bin; set -e; " + cmd) ];
  dep = derivation {
    name = "nixedge-fault-dep-$1"; system = builtins.currentSystem; builder = "/bin/sh";
    args = sh "mkdir \$out; echo $1 > \$out/name; head -c $2 /dev/urandom > \$out/big";
  };
in derivation {
  name = "nixedge-fault-top-$1"; system = builtins.currentSystem; builder = "/bin/sh";
  args = sh "mkdir \$out; echo \${dep} > \$out/refs";
}
NIX
  fresh_nix_env
  nix-build --store "$tmp/root" "$tmp/closure-$1.nix" --no-out-link --option substituters '' \
    --option sandbox-paths '/bin /usr /lib /lib64' --option build-users-group '' 2>"$tmp/build.log" ||
    { cat "$tmp/build.log" >&2; fail "nix-build $1"; }
}

start_server_with_cache() {
  admin cache create main --public --edge >"$tmp/main.pk"
  printf 'machine 127.0.0.1 password %s\n' \
    "$(admin make-token --sub ci --validity 1h --push '*' --pull '*')" >"$tmp/netrc"
  start_lab "$tmp/server.toml"
  url=$lab_url
}

push() { # PATH...: nix copy to the cache, one try per request, at most 30 s, from a fresh client
  fresh_nix_env
  timeout 30 nix --extra-experimental-features nix-command --option substituters '' copy \
    --store "$tmp/root" --to "$url/main?compression=zstd" --option netrc-file "$tmp/netrc" \
    --option download-attempts 1 --option connect-timeout 5 "$@"
}

substitute() { # PATH...: into a fresh store, with require-sigs, and compared
  local store
  store=$(mktemp -d "$tmp/subst.XXXX")
  fresh_nix_env
  nix_cmd copy --from "$url/main" --to "$store" --option require-sigs true \
    --option trusted-public-keys "$(cat "$tmp/main.pk")" --option download-attempts 1 "$@" ||
    fail "substituting $* from the server"
  local p
  for p in $(nix-store --store "$tmp/root" -qR "$@"); do
    diff -r --no-dereference "$tmp/root$p" "$store$p" >/dev/null || fail "$p differs after substitution"
  done
}

status_of() { # curl args...: the HTTP status, the body in $tmp/body; 000 if no answer in 20 s
  curl -s --max-time 20 -o "$tmp/body" -w '%{http_code}' "$@" || true
}

narinfo_url() { echo "$url/main/$(basename "$1" | cut -c1-32).narinfo"; }

# GET /readyz answers $1 within 10 s (the server reuses a probe's result for
# 2 s); a 503's JSON body names exactly the backends $2 (comma-separated) as
# down. /healthz (liveness) is 200 all the same.
expect_readyz() { # status [down]
  local code
  for _ in $(seq 50); do
    code=$(status_of "$url/readyz")
    [[ $code == "$1" ]] && break
    sleep 0.2
  done
  [[ $code == "$1" ]] || fail "GET /readyz: $code, expected $1: $(cat "$tmp/body")"
  echo "GET /readyz: $code $(cat "$tmp/body")"
  if [[ $1 == 503 ]]; then
    python3 - "$2" "$tmp/body" <<'PY' || fail "not the /readyz body naming $2: $(cat "$tmp/body")"
import json, sys
body = json.load(open(sys.argv[2]))
assert body["error"] == "service_unavailable", body
assert body["down"] == sys.argv[1].split(","), body
PY
  fi
  [[ $(status_of "$url/healthz") == 200 ]] || fail "GET /healthz: $(cat "$tmp/body")"
}

# The body of a 503: JSON whose error is $1 and whose message says to retry.
check_unavailable_body() {
  python3 - "$1" "$tmp/body" <<'PY' || fail "not the JSON error body of a 503 for $1: $(cat "$tmp/body")"
import json, sys
body = json.load(open(sys.argv[2]))
assert body["error"] == sys.argv[1], body
assert body["code"] == 503, body
assert "unavailable" in body["message"] and "retry" in body["message"], body
PY
}

# Access log lines ({"route":...,"status":...}) of the server since line $1.
log_since() { tail -n "+$(($1 + 1))" "$tmp/server.err"; }

# What the server answered since line $1: requests per route and status, and
# the slowest. Fails on a request slower than $2 ms.
log_summary() {
  log_since "$1" | python3 -c '
import collections, json, sys
limit = float(sys.argv[1])
seen, slowest = collections.Counter(), (0.0, "")
for line in sys.stdin:
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    if "route" not in entry:
        continue
    seen[entry["method"] + " " + entry["route"] + " " + str(entry["status"])] += 1
    slowest = max(slowest, (entry["duration_ms"], entry["target"]))
print("  answered: " + ", ".join(f"{k} x{v}" for k, v in sorted(seen.items())))
print(f"  slowest: {slowest[0]:.0f} ms ({slowest[1]})")
sys.exit(slowest[0] > limit)
' "$2" || fail "a request took longer than $2 ms"
}

storage_faults() {
  local database=$tmp/data/nixedge.sqlite
  sql() { sqlite3 "$database" "$1"; }
  s3_config "$RGW_BUCKET"
  local top closure dep
  top=$(build_closure storage 12000000)
  closure=$(nix-store --store "$tmp/root" -qR "$top")
  dep=$(grep -- -dep- <<<"$closure")
  start_server_with_cache
  expect_readyz 200

  step "radosgw stops in the middle of a NAR upload: 503, nothing recorded"
  # The dependency's NAR (12 MB, ~12 chunks) sent at 3 MB/s; radosgw stops
  # once a few of its chunks are stored.
  nix-store --dump "$tmp/root$dep" >"$tmp/dep.nar"
  local nar_url log_mark
  nar_url=$url/main/nar/$(nix-hash --type sha256 --flat --base32 "$tmp/dep.nar").nar
  log_mark=$(wc -l <"$tmp/server.err")
  curl -s --max-time 60 --limit-rate 3M -X PUT --netrc-file "$tmp/netrc" \
    -H 'Content-Type: application/x-nix-nar' --data-binary "@$tmp/dep.nar" \
    -o "$tmp/body" -w '%{http_code}' "$nar_url" >"$tmp/put.code" 2>"$tmp/put.err" &
  local put_pid=$!
  for _ in $(seq 200); do
    (($(sql "SELECT count(*) FROM chunks WHERE state = 'stored'") >= 2)) && break
    sleep 0.05
  done
  "$rgw_script" stop-gateway "$own_rgw"
  [[ $(status_of "$RGW_ENDPOINT/") == 000 ]] || fail "radosgw still answers"
  wait "$put_pid" || true
  [[ $(cat "$tmp/put.code") == 503 ]] ||
    fail "the interrupted NAR PUT: $(cat "$tmp/put.code") $(cat "$tmp/body" "$tmp/put.err")"
  check_unavailable_body storage_unavailable
  echo "503 body: $(cat "$tmp/body")"
  echo "the 503 came after $(log_since "$log_mark" | grep -o '"route":"nar-upload","target":"[^"]*","status":503,"bytes_in":[0-9]*' |
    grep -o '[0-9]*$' | head -1) of the NAR's $(wc -c <"$tmp/dep.nar") bytes"
  log_since "$log_mark" | grep -q '"route":"nar-upload","target":"[^"]*","status":503,"bytes_in":[0-9]*.*S3 PUT .*/chunks/' ||
    fail "the access log has no 503 for an S3 chunk PUT: $(log_since "$log_mark")"
  echo "chunks: $(sql "SELECT state || ' ' || count(*) FROM chunks GROUP BY state" | paste -sd,)," \
    "NARs: $(sql 'SELECT count(*) FROM nars'), staged: $(sql 'SELECT count(*) FROM staged_uploads')"
  [[ $(sql 'SELECT count(*) FROM nars') == 0 ]] || fail "a NAR was recorded"
  [[ $(sql 'SELECT count(*) FROM staged_uploads') == 0 ]] || fail "an upload was staged"

  step "radosgw down: a push fails promptly with 503, nothing is published"
  local started elapsed
  started=$SECONDS
  push "$top" >"$tmp/push-down.log" 2>&1 && fail "a push succeeded with the S3 endpoint down"
  elapsed=$((SECONDS - started))
  echo "the push failed after ${elapsed} s: $(grep -m1 'error' "$tmp/push-down.log" || tail -1 "$tmp/push-down.log")"
  ((elapsed < 30)) || fail "the failing push took ${elapsed} s"
  grep -q '503' "$tmp/push-down.log" || fail "Nix did not see a 503: $(cat "$tmp/push-down.log")"
  log_since "$log_mark" | grep -q '"route":"nar-upload".*"status":503' ||
    fail "no 503 for a NAR upload in the access log: $(log_since "$log_mark")"
  log_since "$log_mark" | grep '"status":5' | grep -qv '"status":503' &&
    fail "a 5xx other than 503: $(log_since "$log_mark" | grep '"status":5')"
  log_since "$log_mark" | grep -q '"route":"narinfo-upload","target":"[^"]*","status":200' &&
    fail "a narinfo upload succeeded with the storage down"
  local p
  for p in $closure; do
    [[ $(status_of "$(narinfo_url "$p")") == 404 ]] || fail "$p is served with the storage down"
  done
  [[ $(sql 'SELECT count(*) FROM paths') == 0 ]] || fail "the database has paths"
  [[ $(sql 'SELECT count(*) FROM nars') == 0 ]] || fail "the database has NARs"
  expect_readyz 503 storage
  kill -0 "$server_pid" || fail "the server died"
  log_summary "$log_mark" 15000

  step "radosgw is back: the same push succeeds without a server restart"
  "$rgw_script" start-gateway "$own_rgw"
  started=$SECONDS
  push "$top" >"$tmp/push-up.log" 2>&1 || fail "the push after recovery: $(cat "$tmp/push-up.log")"
  echo "the push after recovery took $((SECONDS - started)) s"
  for p in $closure; do
    [[ $(status_of "$(narinfo_url "$p")") == 200 ]] || fail "$p is not served after the push"
  done
  [[ $(sql 'SELECT count(*) FROM paths') == 2 ]] || fail "not 2 paths in the database"
  [[ $(sql "SELECT count(*) FROM chunks WHERE state = 'claimed'") == 0 ]] || fail "chunks are left claimed"
  expect_readyz 200

  step "a fresh store substitutes the closure with require-sigs"
  substitute "$top"

  step "fsck: the database and the bucket agree"
  stop_server
  admin fsck --verify-content >"$tmp/fsck.out" 2>&1 || fail "fsck: $(cat "$tmp/fsck.out")"
  grep -q "no differences" "$tmp/fsck.out" || fail "fsck: $(cat "$tmp/fsck.out")"
}

database_faults() {
  local bucket=faults-$$-$RANDOM
  rgw_rclone_config
  rclone mkdir "rgw:$bucket" || fail "cannot create bucket $bucket"
  s3_config "$bucket"
  export NIXEDGE_DATABASE_URL=$NIXEDGE_TEST_POSTGRES_URL
  local first second
  first=$(build_closure first 1500000)
  second=$(build_closure second 1500000)
  start_server_with_cache
  expect_readyz 200
  push "$first" >"$tmp/push-first.log" 2>&1 || fail "the first push: $(cat "$tmp/push-first.log")"

  step "PostgreSQL restarts: no request fails"
  "$postgres_script" restart "$own_postgres"
  local log_mark p
  log_mark=$(wc -l <"$tmp/server.err")
  sleep 1.1 # past the server's one-second memory of cache settings: each request reads the database
  for p in $(nix-store --store "$tmp/root" -qR "$first"); do
    [[ $(status_of "$(narinfo_url "$p")") == 200 ]] || fail "GET $p.narinfo after a restart: $(cat "$tmp/body")"
  done
  [[ $(status_of "$url/main/nix-cache-info") == 200 ]] || fail "nix-cache-info after a restart"

  step "PostgreSQL stopped: prompt 503s with a JSON body, the server stays up"
  "$postgres_script" stop-server "$own_postgres"
  sleep 1.1
  local started code
  started=$SECONDS
  code=$(status_of "$url/main/nix-cache-info")
  [[ $code == 503 ]] || fail "nix-cache-info with the database down: $code $(cat "$tmp/body")"
  check_unavailable_body database_unavailable
  echo "503 body: $(cat "$tmp/body")"
  code=$(status_of "$url/main/00000000000000000000000000000000.narinfo")
  [[ $code == 503 ]] || fail "an unknown narinfo with the database down: $code $(cat "$tmp/body")"
  nix-store --dump "$tmp/root$second" >"$tmp/second.nar"
  code=$(status_of -X PUT --netrc-file "$tmp/netrc" -H 'Content-Type: application/x-nix-nar' \
    --data-binary "@$tmp/second.nar" "$url/main/nar/$(nix-hash --type sha256 --flat --base32 "$tmp/second.nar").nar")
  [[ $code == 503 ]] || fail "a NAR PUT with the database down: $code $(cat "$tmp/body")"
  check_unavailable_body database_unavailable
  push "$second" >"$tmp/push-down.log" 2>&1 && fail "a push succeeded with the database down"
  grep -q '503' "$tmp/push-down.log" || fail "Nix did not see a 503: $(cat "$tmp/push-down.log")"
  ((SECONDS - started < 20)) || fail "requests with the database down took $((SECONDS - started)) s"
  kill -0 "$server_pid" || fail "the server died with the database down"
  log_since "$log_mark" | grep '"status":5' | grep -qv '"status":503' &&
    fail "a 5xx other than 503: $(log_since "$log_mark" | grep '"status":5')"
  log_summary "$log_mark" 5000
  expect_readyz 503 database

  step "PostgreSQL is back: GETs and a new push succeed without a server restart"
  "$postgres_script" start-server "$own_postgres"
  expect_readyz 200
  sleep 1.1
  for p in $(nix-store --store "$tmp/root" -qR "$first"); do
    [[ $(status_of "$(narinfo_url "$p")") == 200 ]] || fail "GET $p.narinfo after recovery: $(cat "$tmp/body")"
  done
  push "$second" >"$tmp/push-second.log" 2>&1 || fail "the push after recovery: $(cat "$tmp/push-second.log")"
  substitute "$first" "$second"
  kill -0 "$server_pid" || fail "the server died"

  step "fsck: the database and the bucket agree"
  stop_server
  admin fsck --verify-content >"$tmp/fsck.out" 2>&1 || fail "fsck: $(cat "$tmp/fsck.out")"
  grep -q "no differences" "$tmp/fsck.out" || fail "fsck: $(cat "$tmp/fsck.out")"
}

"${mode}_faults"
echo "PASS ($SECONDS s)"
