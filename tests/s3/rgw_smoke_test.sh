#!/usr/bin/env bash
# The RGW harness end to end: start a cluster, a SigV4-signed PUT, GET and
# DELETE with curl (and a wrong secret refused), stop it, nothing left running.
set -euo pipefail
rgw=$1
dir=$(mktemp -d)
trap '"$rgw" stop "$dir/rgw"; rm -rf "$dir"' EXIT

start=$(date +%s.%N)
"$rgw" start "$dir/rgw" >"$dir/env"
started=$(date +%s.%N)
# shellcheck disable=SC1091
. "$dir/env"

s3() { # method key secret [curl args]
  local method=$1 key=$2 secret=$3
  shift 3
  curl -sS --max-time 10 -o "$dir/out" -w '%{http_code}' -X "$method" \
    --aws-sigv4 "aws:amz:$RGW_REGION:s3" --user "$RGW_ACCESS_KEY:$secret" "$@" \
    "$RGW_ENDPOINT/$RGW_BUCKET/$key"
}
empty=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
head -c 100000 /dev/urandom >"$dir/object"
hash=$(sha256sum "$dir/object" | cut -d' ' -f1)

code=$(s3 PUT smoke/object "$RGW_SECRET_KEY" -H "x-amz-content-sha256: $hash" -T "$dir/object")
[[ $code == 200 ]] || { echo "PUT: $code $(cat "$dir/out")"; exit 1; }
code=$(s3 GET smoke/object "$RGW_SECRET_KEY" -H "x-amz-content-sha256: $empty")
[[ $code == 200 ]] || { echo "GET: $code"; exit 1; }
cmp "$dir/object" "$dir/out" || { echo "GET returned other bytes"; exit 1; }
code=$(s3 GET smoke/object wrong-secret -H "x-amz-content-sha256: $empty")
[[ $code == 403 ]] || { echo "GET with a wrong secret: $code, expected 403"; exit 1; }
code=$(s3 PUT smoke/object "$RGW_SECRET_KEY" -H "x-amz-content-sha256: $empty" -T "$dir/object")
[[ $code == 400 ]] || { echo "PUT with a wrong payload hash: $code, expected 400"; exit 1; }
code=$(s3 DELETE smoke/object "$RGW_SECRET_KEY" -H "x-amz-content-sha256: $empty")
[[ $code == 204 ]] || { echo "DELETE: $code"; exit 1; }
code=$(s3 GET smoke/object "$RGW_SECRET_KEY" -H "x-amz-content-sha256: $empty")
[[ $code == 404 ]] || { echo "GET after DELETE: $code"; exit 1; }

pids=$(cat "$dir"/rgw/run/*.daemon-pid)
stop=$(date +%s.%N)
"$rgw" stop "$dir/rgw"
stopped=$(date +%s.%N)
for pid in $pids; do
  state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || true)
  [[ -z $state || $state == Z ]] || { echo "daemon $pid still running after stop"; exit 1; }
done
[[ ! -e $dir/rgw ]] || { echo "stop left $dir/rgw"; exit 1; }
awk -v a="$start" -v b="$started" -v c="$stop" -v d="$stopped" \
  'BEGIN { printf "RGW started in %.2f s, stopped in %.2f s\n", b - a, d - c }'
