#!/usr/bin/env bash
# nixedge-server on S3 storage (the RGW of the ctest fixture, a bucket of its
# own) with the real Nix client:
#   s3_push_test.sh NIXEDGE_SERVER_BINARY     (NIXEDGE_TEST_RGW_ENV: the RGW's env file)
# A server with a wrong S3 secret refuses to start, saying why; then a closure
# (a multi-chunk file among others) is pushed with `nix copy`, its chunks,
# manifests, narinfos and sync plan are checked in the bucket through S3, and it is
# substituted into a fresh store with require-sigs and compared.
set -euo pipefail
server=$(realpath "$1")
# shellcheck source=tests/lib/harness.sh
source "$(dirname "$0")/../lib/harness.sh"
# shellcheck source=tests/s3/s3_lib.sh
source "$(dirname "$0")/s3_lib.sh"

empty_sha=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
s3() { # method path [curl args]: SigV4 with the test user, body to stdout
  local method=$1 path=$2
  shift 2
  curl -sS --fail --max-time 20 -X "$method" --aws-sigv4 "aws:amz:$RGW_REGION:s3" \
    --user "$RGW_ACCESS_KEY:$RGW_SECRET_KEY" -H "x-amz-content-sha256: $empty_sha" "$@" \
    "$RGW_ENDPOINT$path"
}
bucket=e2e-$$-$RANDOM
s3 PUT "/$bucket" >/dev/null || fail "cannot create bucket $bucket"
count_keys() { # prefix; curl 7.88 signs the query as written: encode it canonically
  s3 GET "/$bucket?list-type=2&prefix=${1//\//%2F}" | grep -o '<Key>' | wc -l
}

lab_config_on_s3 "$bucket"

step "a wrong S3 secret stops the server at start, saying why"
NIXEDGE_S3_SECRET_ACCESS_KEY=wrong-secret-value "$server" --config "$tmp/server.toml" serve \
  >"$tmp/bad.out" 2>"$tmp/bad.err" && fail "the server started with a wrong S3 secret"
grep -q 'HTTP 403 (access denied: check the credentials' "$tmp/bad.err" || fail "unclear error: $(cat "$tmp/bad.err")"
grep -q 'wrong-secret-value' "$tmp/bad.err" && fail "the secret leaked into the error"

step "build a closure with the real Nix"
cat >"$tmp/closure.nix" <<'NIX'
let
  sh = cmd: [ "-c" ("export PATH=/bin:/usr/bin; set -e; " + cmd) ];
  dep = derivation {
    name = "nixedge-s3-dep"; system = builtins.currentSystem; builder = "/bin/sh";
    args = sh ''
      mkdir -p $out/sub; echo hello > $out/sub/file; ln -s sub/file $out/link
      head -c 6000000 /dev/urandom > $out/big
    '';
  };
in derivation {
  name = "nixedge-s3-top"; system = builtins.currentSystem; builder = "/bin/sh";
  args = sh "mkdir $out; echo ${dep} > $out/refs";
}
NIX
fresh_nix_env
top=$(nix-build --store "$tmp/root" "$tmp/closure.nix" --no-out-link --option substituters '' \
  --option sandbox-paths '/bin /usr /lib /lib64' --option build-users-group '' 2>"$tmp/build.log") ||
  { cat "$tmp/build.log" >&2; fail "nix-build"; }
closure=$(nix-store --store "$tmp/root" -qR "$top")

step "start the server on S3 storage"
# An edge cache: its narinfos and nix-cache-info go to the bucket too (the outbox).
admin cache create main --public --edge >"$tmp/main.pk"
token=$(admin make-token --sub ci --validity 1h --pull '*' --push '*')
printf 'machine 127.0.0.1 password %s\n' "$token" >"$tmp/netrc"
start_lab "$tmp/server.toml"
url=$lab_url
[[ ! -e $tmp/data/bucket ]] || fail "an S3 server wrote a local bucket directory"

step "push with nix copy"
fresh_nix_env
nix_cmd copy --store "$tmp/root" --to "$url/main?compression=zstd" --option netrc-file "$tmp/netrc" \
  "$top" || fail "nix copy to the S3-backed server"
chunks=$(count_keys chunks/)
[[ $chunks -ge 4 ]] || fail "expected several chunks in the bucket, found $chunks"
[[ $(count_keys manifests/) -ge 2 ]] || fail "no manifests in the bucket"
[[ $(count_keys main/) -ge 3 ]] || fail "expected nix-cache-info and 2 narinfos under main/"
[[ $(count_keys sync/plan) -eq 1 ]] || fail "no sync/plan in the bucket"

step "substitute into a fresh store with require-sigs"
fresh_nix_env
nix_cmd copy --from "$url/main" --to "$tmp/subst" --option netrc-file "$tmp/netrc" \
  --option require-sigs true --option trusted-public-keys "$(cat "$tmp/main.pk")" "$top" ||
  fail "substituting from the S3-backed server"
for p in $closure; do
  diff -r --no-dereference "$tmp/root$p" "$tmp/subst$p" >/dev/null || fail "$p differs after a round trip"
done

step "a second push stores nothing new"
fresh_nix_env
nix_cmd copy --store "$tmp/root" --to "$url/main?compression=zstd" --option netrc-file "$tmp/netrc" \
  "$top" || fail "second push"
[[ $(count_keys chunks/) -eq $chunks ]] || fail "the second push stored chunks"

stop_server
echo "PASS ($SECONDS s)"
