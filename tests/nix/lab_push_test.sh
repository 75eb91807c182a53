#!/usr/bin/env bash
# The lab server end to end with the real Nix client (Debian nix-bin), in
# chroot stores under a temp dir:
#   lab_push_test.sh NIXEDGE_SERVER_BINARY [POSTGRES_STATE]
# With POSTGRES_STATE (the state file of tests/lib/postgres.sh) the server
# keeps its metadata in a new database on that PostgreSQL, named by
# NIXEDGE_DATABASE_URL as in production; else in SQLite.
# Builds a closure of input-addressed outputs that reference each other
# (nested dirs, an empty file, an executable, a symlink, a 24 MB file), pushes
# it with `nix copy` and a netrc token (compression zstd, xz and none, the
# first with write-nar-listing), substitutes it into fresh stores with
# require-sigs and only the cache's public key, and compares the trees. Then
# what must be refused: a wrong or missing token (nothing stored), a narinfo
# whose NarHash does not match its NAR (nothing published), reading a private
# cache without a token; and a second push of the same closure stores nothing.
set -euo pipefail
server=$(realpath "$1")
# shellcheck source=tests/lib/harness.sh
source "$(dirname "$0")/../lib/harness.sh"

lab_config
if [[ -n ${2:-} ]]; then
  use_postgres_database "$2" "nixedge_push_$$"
  echo "== metadata on PostgreSQL: ${NIXEDGE_DATABASE_URL/:*@/:***@}"
fi

# Each Nix invocation gets a fresh HOME and client cache (fresh_nix_env).

step "build a closure with the real Nix"
cat >"$tmp/closure.nix" <<'NIX'
let
  sh = cmd: [ "-c" ("export PATH=/bin:/usr/bin; set -e; " + cmd) ];
  dep = derivation {
    name = "nixedge-dep"; system = builtins.currentSystem; builder = "/bin/sh";
    args = sh ''
      mkdir -p $out/sub/deeper/deepest $out/bin
      echo hello > $out/sub/deeper/file
      : > $out/empty
      printf '#!/bin/sh\necho hi\n' > $out/bin/run; chmod +x $out/bin/run
      ln -s sub/deeper/file $out/link
      head -c 24000000 /dev/urandom > $out/big
    '';
  };
  mid = derivation {
    name = "nixedge-mid"; system = builtins.currentSystem; builder = "/bin/sh";
    args = sh "mkdir $out; echo ${dep} > $out/dep; ln -s ${dep}/bin/run $out/run";
  };
in derivation {
  name = "nixedge-top"; system = builtins.currentSystem; builder = "/bin/sh";
  args = sh "mkdir $out; echo ${mid} ${dep} > $out/refs; echo $out > $out/self";
}
NIX
fresh_nix_env
top=$(nix-build --store "$tmp/root" "$tmp/closure.nix" --no-out-link --option substituters '' \
  --option sandbox-paths '/bin /usr /lib /lib64' --option build-users-group '' 2>"$tmp/build.log") ||
  { cat "$tmp/build.log" >&2; fail "nix-build"; }
closure=$(nix-store --store "$tmp/root" -qR "$top")
[[ $(wc -l <<<"$closure") -eq 3 ]] || fail "expected a closure of 3 paths: $closure"

step "start the server"
for c in main xz plain; do admin cache create "$c" >"$tmp/$c.pk"; done
admin cache create public --public >"$tmp/public.pk"
# Created while no server runs: the command writes its edge objects itself.
admin cache create edge --public --edge >/dev/null
grep -qx 'Priority: 41' "$tmp/data/bucket/edge/nix-cache-info" || fail "cache create did not write nix-cache-info"
token=$(admin make-token --sub ci --validity 1h --pull '*' --push '*')
puller=$(admin make-token --sub reader --validity 1h --pull '*')
printf 'machine 127.0.0.1 password %s\n' "$token" >"$tmp/netrc"
printf 'machine 127.0.0.1 password %s\n' "$puller" >"$tmp/netrc.pull"
printf 'machine 127.0.0.1 password %s\n' "not.a.token" >"$tmp/netrc.bad"
start_lab "$tmp/server.toml"
url=$lab_url
grep -qx 'mutable edge/nix-cache-info' "$tmp/data/bucket/sync/plan" || fail "no sync plan after start-up"

chunk_count() { find "$tmp/data/bucket/chunks" -type f 2>/dev/null | wc -l; }
stored_bytes() { find "$tmp/data/bucket/chunks" "$tmp/data/bucket/manifests" -type f -printf '%s\n' 2>/dev/null | awk '{s+=$1} END {print s+0}'; }
status_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
push() { # push CACHE COMPRESSION NETRC [extra nix options]
  local cache=$1 compression=$2 netrc=$3
  shift 3
  fresh_nix_env
  nix_cmd copy --store "$tmp/root" --to "$url/$cache?compression=$compression" \
    --option netrc-file "$netrc" "$@" "$top"
}
substitute_and_compare() { # substitute_and_compare CACHE NETRC
  local cache=$1 dest=$tmp/subst-$1
  fresh_nix_env
  nix_cmd copy --from "$url/$cache" --to "$dest" --option netrc-file "$2" \
    --option require-sigs true --option trusted-public-keys "$(cat "$tmp/$cache.pk")" "$top" ||
    fail "substituting from $cache"
  for p in $closure; do
    diff -r --no-dereference "$tmp/root$p" "$dest$p" >/dev/null || fail "$p differs after a round trip through $cache"
  done
}

step "refused pushes store nothing"
push main zstd "$tmp/netrc.bad" 2>"$tmp/bad.log" && fail "a push with an invalid token succeeded"
push main zstd /dev/null 2>"$tmp/none.log" && fail "a push without a token succeeded"
push main zstd "$tmp/netrc.pull" 2>"$tmp/pull.log" && fail "a push with a read-only token succeeded"
[[ $(chunk_count) -eq 0 ]] || fail "refused pushes stored $(chunk_count) chunks"
# Nix reads the 401 on nix-cache-info as "not a binary cache".
for log in bad none; do
  grep -q 'does not appear to be a binary cache' "$tmp/$log.log" || fail "unexpected refusal: $(cat "$tmp/$log.log")"
done
[[ $(grep -c '"route":"nix-cache-info".*"status":401' "$tmp/server.err") -ge 2 ]] || fail "no 401s logged"
grep -q 403 "$tmp/pull.log" || fail "no 403 for a read-only token: $(cat "$tmp/pull.log")"

step "push with compression=zstd (and write-nar-listing), xz and none"
push main zstd "$tmp/netrc" --option write-nar-listing true || fail "push zstd"
after_first=$(stored_bytes)
push xz xz "$tmp/netrc" || fail "push xz"
push plain none "$tmp/netrc" || fail "push none"
[[ $(stored_bytes) -eq $after_first ]] || fail "pushing the same closure to other caches stored new bytes"

step "substitute into fresh stores with require-sigs and only the cache's key"
for c in main xz plain; do substitute_and_compare "$c" "$tmp/netrc.pull"; done

step "a second push of the same closure stores nothing"
chunks=$(chunk_count)
push main zstd "$tmp/netrc" || fail "second push"
[[ $(chunk_count) -eq $chunks && $(stored_bytes) -eq $after_first ]] || fail "the second push stored something"

step "a private cache is unreadable without a token"
fresh_nix_env
nix_cmd copy --from "$url/main" --to "$tmp/anon" --option require-sigs true \
  --option trusted-public-keys "$(cat "$tmp/main.pk")" "$top" 2>/dev/null && fail "anonymous substitution from a private cache"
hash=$(basename "$top" | cut -c1-32)
[[ $(status_of "$url/main/$hash.narinfo") == 401 ]] || fail "anonymous narinfo GET is not 401"
[[ $(status_of "$url/nonexistent/$hash.narinfo") == 401 ]] || fail "a missing cache is told apart from a private one"
[[ $(status_of -u "x:$puller" "$url/main/$hash.narinfo") == 200 ]] || fail "a reader cannot read"

step "a NAR that does not match its narinfo's NarHash publishes nothing"
dep=$(grep nixedge-dep <<<"$closure")
dephash=$(basename "$dep" | cut -c1-32)
nix-store --dump "$tmp/root$dep" >"$tmp/dep.nar"
top_nar_hash=$(nix-store --store "$tmp/root" -q --hash "$top")
nar_url="nar/$(nix-hash --type sha256 --flat --base32 "$tmp/dep.nar").nar"
[[ $(status_of -u "x:$token" -T "$tmp/dep.nar" "$url/public/$nar_url") == 200 ]] || fail "raw NAR upload"
printf 'StorePath: %s\nURL: %s\nCompression: none\nNarHash: %s\nNarSize: %s\nReferences: \n' \
  "$dep" "$nar_url" "$top_nar_hash" "$(stat -c %s "$tmp/dep.nar")" >"$tmp/bad.narinfo"
code=$(curl -s -o "$tmp/bad.body" -w '%{http_code}' -u "x:$token" -T "$tmp/bad.narinfo" "$url/public/$dephash.narinfo")
[[ $code == 400 ]] || fail "a narinfo with the wrong NarHash got $code"
grep -q NarHash "$tmp/bad.body" || fail "the refusal does not say why: $(cat "$tmp/bad.body")"
[[ $(status_of "$url/public/$dephash.narinfo") == 404 ]] || fail "the mismatched path was published"

step "a public cache is readable without a token"
nix_cmd copy --store "$tmp/root" --to "$url/public?compression=zstd" --option netrc-file "$tmp/netrc" "$top" || fail "push to public"
fresh_nix_env
nix_cmd copy --from "$url/public" --to "$tmp/subst-anon" --option require-sigs true \
  --option trusted-public-keys "$(cat "$tmp/public.pk")" "$top" || fail "anonymous substitution from a public cache"
fresh_nix_env
nix_cmd copy --from "$url/public" --to "$tmp/subst-wrong" --option require-sigs true \
  --option trusted-public-keys "$(cat "$tmp/main.pk")" "$top" 2>"$tmp/wrongkey.log" && fail "substitution with another cache's key"
grep -q 'signature\|signed' "$tmp/wrongkey.log" || fail "unexpected error with a wrong key: $(cat "$tmp/wrongkey.log")"

step "graceful stop on SIGTERM"
kill -TERM "$server_pid"
wait "$server_pid" || fail "the server exited with $? on SIGTERM"
server_pid=
echo "PASS"
