#!/usr/bin/env bash
# `nixedge push` from a real Nix store (a chroot) to a real lab server, and the
# real Nix substituting what it pushed:
#   client_push_test.sh NIXEDGE_SERVER_BINARY NIXEDGE_CLIENT_BINARY
#   1. login and cache create through the client;
#   2. a closure whose first path is already in the cache (pushed by `nix
#      copy`): only the missing paths are uploaded (the access log counts
#      upload-path requests), a path signed by the cache's upstream key is
#      left out while its referrer is pushed; Nix substitutes the closure with
#      require-sigs; pushing again sends nothing;
#   3. a push killed (SIGKILL) in the middle of a large NAR: the paths
#      acknowledged before are served whole, the cut one is not published and
#      fsck finds nothing wrong; pushing again sends only it, reusing the
#      chunks that got in, and Nix substitutes it;
#   3b. the server SIGKILLed in the middle of an upload and started again on
#      the same port: the client retries, the retry takes over the killed
#      server's chunk claims, and the path substitutes whole;
#   4. clear errors, exit 1, nothing pushed: unreachable server, bad token,
#      a token without push, a path not in the store;
#   5. on a terminal, progress bars (drawn in place) and the summary.
set -euo pipefail
server=$(realpath "$1")
client=$(realpath "$2")
# shellcheck source=tests/lib/harness.sh
source "$(dirname "$0")/../lib/harness.sh"
hash_of() { basename "$1" | cut -c1-32; }
narinfo_status() { curl -s -o /dev/null -w '%{http_code}' --netrc-file "$tmp/netrc" "$lab_url/main/$(hash_of "$1").narinfo"; }
uploads_logged() { grep -c '"route":"attic-upload-path"' "$tmp/server.err" || true; }
chunk_count() { find "$tmp/data/bucket/chunks" -type f 2>/dev/null | wc -l; }
# push LOG ARGS...: `nixedge push` into the chroot store's paths; fails on a non-zero exit.
push() {
  local log=$1
  shift
  "$client" push --store "$tmp/root" "$@" 2>"$tmp/$log" || fail "nixedge push $*: $(cat "$tmp/$log")"
}
summary_of() { tail -1 "$tmp/$1"; }
# expect_failure LOG WORDS ARGS...: the client exits 1 and says WORDS.
expect_failure() {
  local log=$1 words=$2 status=0
  shift 2
  "$client" "$@" 2>"$tmp/$log" || status=$?
  [[ $status == 1 ]] || fail "nixedge $* exited $status, not 1: $(cat "$tmp/$log")"
  grep -q -- "$words" "$tmp/$log" || fail "nixedge $* did not say '$words': $(cat "$tmp/$log")"
}

lab_config
token=$(admin make-token --sub pusher --validity 1h --pull main --push main --create-cache main)
printf 'machine 127.0.0.1 password %s\n' "$token" >"$tmp/netrc"

step "build a closure, an upstream-signed path, and a large path"
cat >"$tmp/paths.nix" <<'NIX'
{ testlib }:
let
  inherit (import testlib) mk mid small;
  upstream = small "upstream";
  first = small "first";
in {
  top = mk "top" "mkdir $out; echo ${mid} > $out/mid; echo ${upstream} > $out/upstream";
  inherit upstream first;
  # references `first`, so `nixedge push` sends `first` before it
  large = mk "large" "mkdir $out; echo ${first} > $out/first; head -c 120000000 /dev/urandom > $out/data";
  retried = mk "retried" "mkdir $out; head -c 60000000 /dev/urandom > $out/data";
}
NIX
build_paths "$tmp/paths.nix"
top=$(built_path top)
mid=$(nix-store --store "$tmp/root" -qR "$top" | grep -- '-nixedge-test-mid$')
dep=$(nix-store --store "$tmp/root" -qR "$top" | grep -- '-nixedge-test-dep$')
upstream=$(built_path upstream)
first=$(built_path first)
large=$(built_path large)
retried=$(built_path retried)
# `upstream` carries a signature by a key the cache will name as upstream,
# as paths from cache.nixos.org carry cache.nixos.org-1's.
nix_cmd key generate-secret --key-name upstream-test-1 >"$tmp/upstream.sk"
nix_cmd store sign --store "$tmp/root" --key-file "$tmp/upstream.sk" "$upstream"

step "login and cache create through the client"
start_lab "$tmp/server.toml"
fresh_nix_env
export XDG_CONFIG_HOME=$tmp/xdg
"$client" login lab "$lab_url" "$token" >/dev/null
"$client" cache create main --upstream-cache-key-name upstream-test-1 >"$tmp/create.out" ||
  fail "cache create: $(cat "$tmp/create.out")"
key=$(sed -n 's/^public key: *//p' "$tmp/create.out")
[[ $key == main-1:* ]] || fail "no public key in: $(cat "$tmp/create.out")"
[[ $(stat -c %a "$tmp/xdg/nixedge/config.toml") == 600 ]] || fail "the config file holding the token is not 0600"

step "dep is already in the cache (nix copy); nixedge push top sends only mid and top"
nix_cmd copy --store "$tmp/root" --to "$lab_url/main?compression=zstd" \
  --option netrc-file "$tmp/netrc" "$dep" 2>"$tmp/copy.log" || fail "nix copy: $(cat "$tmp/copy.log")"
before=$(uploads_logged)
ln -s "$top" "$tmp/result" # as nix-build leaves it
push push1.log main "$tmp/result"
summary=$(summary_of push1.log)
[[ $summary == "pushed 2 of 4 paths in "*"1 already in the cache, 1 signed upstream" ]] ||
  fail "summary: $summary"
[[ $(($(uploads_logged) - before)) == 2 ]] || fail "expected 2 upload-path requests, saw $(($(uploads_logged) - before))"
grep -q "^uploaded $mid " "$tmp/push1.log" || fail "no line for mid: $(cat "$tmp/push1.log")"
for path in "$top" "$mid" "$dep"; do
  [[ $(narinfo_status "$path") == 200 ]] || fail "$path is not served"
done
[[ $(narinfo_status "$upstream") == 404 ]] || fail "the upstream-signed path was pushed"

step "Nix substitutes what nixedge pushed, with require-sigs"
substitute "$tmp/fresh" "$lab_url/main" "$key" "$mid" --option netrc-file "$tmp/netrc" ||
  fail "substitution failed"
for path in "$mid" "$dep"; do same_path "$tmp/fresh" "$path"; done
# top refers to the upstream path, which only its upstream would serve: its
# narinfo is checked instead.
[[ $(curl -s --netrc-file "$tmp/netrc" "$lab_url/main/$(hash_of "$top").narinfo" | grep -c '^Sig: main-1:') == 1 ]] ||
  fail "top is not signed by the cache's key"
fresh_nix_env

step "pushing again sends nothing"
before=$(uploads_logged)
push push2.log main "$top"
[[ $(summary_of push2.log) == "pushed 0 of 4 paths in "*"3 already in the cache, 1 signed upstream" ]] ||
  fail "summary: $(summary_of push2.log)"
[[ $(uploads_logged) == "$before" ]] || fail "a second push uploaded something"

step "a push killed in the middle of a large NAR"
chunks_before=$(chunk_count)
"$client" push --store "$tmp/root" --jobs 1 main "$large" 2>"$tmp/cut.log" &
push_pid=$!
for _ in $(seq 600); do grep -q "^uploaded $first " "$tmp/cut.log" && break; sleep 0.02; done
grep -q "^uploaded $first " "$tmp/cut.log" || fail "first was not uploaded: $(cat "$tmp/cut.log")"
# Kill it once the large NAR's chunks are arriving.
chunks_first=$(chunk_count)
for _ in $(seq 500); do (($(chunk_count) >= chunks_first + 10)) && break; sleep 0.01; done
kill -KILL "$push_pid"
wait "$push_pid" 2>/dev/null || true
chunks_cut=$(chunk_count)
((chunks_cut >= chunks_first + 10)) || fail "the large upload had not started storing chunks"
((chunks_cut > chunks_before)) || fail "no chunk was stored"
grep -q "large" <(grep '^uploaded' "$tmp/cut.log") && fail "the large path finished before the kill"
[[ $(narinfo_status "$first") == 200 ]] || fail "the path acknowledged before the kill is not served"
[[ $(narinfo_status "$large") == 404 ]] || fail "the cut path was published"
admin fsck >"$tmp/fsck.out" 2>&1 || fail "fsck after the kill: $(cat "$tmp/fsck.out")"

step "pushing again sends only the cut path, reusing the chunks that got in"
push resume.log main "$large"
summary=$(summary_of resume.log)
[[ $summary == "pushed 1 of 2 paths in "*"1 already in the cache, 0 signed upstream" ]] ||
  fail "resume summary: $summary"
[[ $summary != *", 0 B of it deduplicated"* ]] || fail "the resumed push reused no chunk: $summary"
substitute "$tmp/fresh2" "$lab_url/main" "$key" "$large" --option netrc-file "$tmp/netrc" ||
  fail "substitution of the resumed path failed"
same_path "$tmp/fresh2" "$large"
same_path "$tmp/fresh2" "$first"

step "the server is killed mid-upload and comes back: the client retries, the path arrives whole"
# The same port across the restart, as behind a Kubernetes Service.
sed -i "s|^listen = .*|listen = \"${lab_url#http://}\"|" "$tmp/server.toml"
chunks_before=$(chunk_count)
"$client" push --store "$tmp/root" main "$retried" 2>"$tmp/retry.log" &
push_pid=$!
for _ in $(seq 500); do (($(chunk_count) >= chunks_before + 10)) && break; sleep 0.01; done
# SIGKILL: the upload is cut wherever it is (a graceful stop lets a fast one
# finish). The killed server's chunk claims die with its writer row, so the
# retry takes them over within seconds.
kill -KILL "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=
start_lab "$tmp/server.toml"
wait "$push_pid" || fail "the push did not survive the restart: $(cat "$tmp/retry.log")"
grep -q "^retrying $retried (attempt 2 of 3): " "$tmp/retry.log" || fail "no retry: $(cat "$tmp/retry.log")"
[[ $(summary_of retry.log) == "pushed 1 of 1 paths in "* ]] || fail "summary: $(summary_of retry.log)"
substitute "$tmp/fresh3" "$lab_url/main" "$key" "$retried" --option netrc-file "$tmp/netrc" ||
  fail "substitution of the retried path failed"
same_path "$tmp/fresh3" "$retried"

step "clear errors, nothing pushed"
before=$(uploads_logged)
expect_failure missing.log "is not valid" push --store "$tmp/root" main /nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nothing
expect_failure notstore.log "neither a store path nor a link to one" push --store "$tmp/root" main "$tmp"
"$client" login badtoken "$lab_url" not.a.token >/dev/null
expect_failure badtoken.log "log in again with a valid token" push --store "$tmp/root" badtoken:main "$upstream"
"$client" login reader "$lab_url" "$(admin make-token --sub reader --validity 1h --pull main)" >/dev/null
expect_failure reader.log "lacks the permission" push --store "$tmp/root" reader:main "$upstream" --ignore-upstream-cache-filter
"$client" login down "http://127.0.0.1:$(free_port)" "$token" >/dev/null
expect_failure down.log "cannot reach" push --store "$tmp/root" down:main "$upstream"
# A cache the token grants nothing on is 401 whether or not it exists.
expect_failure nocache.log "grants nothing on this cache" push --store "$tmp/root" nope "$upstream"
[[ $(uploads_logged) == "$before" ]] || fail "a refused push uploaded something"

step "on a terminal: progress bars drawn in place, then the summary"
TERM=xterm script -qec "'$client' push --store '$tmp/root' --ignore-upstream-cache-filter main '$upstream'" \
  /dev/null >"$tmp/tty.out" </dev/null || fail "push on a terminal: $(cat "$tmp/tty.out")"
grep -q $'\x1b\\[1A\x1b\\[2K' "$tmp/tty.out" || fail "no bar was redrawn: $(cat -v "$tmp/tty.out")"
grep -q '\[1/1 paths\]' "$tmp/tty.out" || fail "no total line: $(cat -v "$tmp/tty.out")"
grep -q 'pushed 1 of 1 paths in ' "$tmp/tty.out" || fail "no summary: $(cat -v "$tmp/tty.out")"
[[ $(narinfo_status "$upstream") == 200 ]] || fail "--ignore-upstream-cache-filter did not push it"
echo "nixedge push: partial closure, upstream filter, interrupted and resumed, errors, progress"
