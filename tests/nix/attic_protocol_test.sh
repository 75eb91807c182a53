#!/usr/bin/env bash
# Attic's push protocol over real HTTP, request for request as `attic push`
# sends it (client/src/api/mod.rs: a "bearer" token, the info JSON in
# X-Attic-Nar-Info or, from 4 KiB, as a body preamble; the NAR streamed as a
# chunked body), then the real Nix substitutes what was pushed:
#   attic_protocol_test.sh NIXEDGE_SERVER_BINARY
#   1. `attic cache create` and `attic cache info` requests;
#   2. get-missing-paths for a closure (top -> mid -> dep) says all three;
#   3. the closure is uploaded in the wrong order (top, mid, then dep), as
#      Attic's unordered workers may: top and mid wait unpublished until dep
#      arrives, then all three are served;
#   4. a fresh store substitutes the closure with require-sigs and the
#      cache's key only; a second get-missing-paths says nothing is missing;
#   5. refusals carry Attic's error body: a wrong NAR hash (nothing
#      published), a bad token, a token without push.
set -euo pipefail
server=$(realpath "$1")
# shellcheck source=tests/lib/harness.sh
source "$(dirname "$0")/../lib/harness.sh"
status_of() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }
hash_of() { basename "$1" | cut -c1-32; }

lab_config
token=$(admin make-token --sub attic --validity 1h --pull main --push main --create-cache main)
auth=(-H "Authorization: bearer $token" -H "User-Agent: Attic/attic-client (test)")

step "build a closure (top -> mid -> dep)"
cat >"$tmp/paths.nix" <<'NIX'
{ testlib }:
let inherit (import testlib) mk mid;
in { top = mk "top" "mkdir $out; echo ${mid} > $out/mid"; }
NIX
build_paths "$tmp/paths.nix"
top=$(built_path top)
mid=$(nix-store --store "$tmp/root" -qR "$top" | grep -- '-nixedge-test-mid$')
dep=$(nix-store --store "$tmp/root" -qR "$top" | grep -- '-nixedge-test-dep$')

step "start the server; create and describe the cache as the attic CLI does"
start_lab "$tmp/server.toml"
# No upstream keys: the cache takes a path only once its references are in it.
[[ $(status_of -X POST "${auth[@]}" -H 'Content-Type: application/json' \
  --data '{"keypair":"Generate","is_public":false,"store_dir":"/nix/store","priority":41,"upstream_cache_key_names":[]}' \
  "$lab_url/_api/v1/cache-config/main") == 200 ]] || fail "cache create: $(cat "$tmp/body")"
[[ $(status_of "${auth[@]}" "$lab_url/_api/v1/cache-config/main") == 200 ]] || fail "cache info: $(cat "$tmp/body")"
key=$(python3 - "$tmp/body" "$lab_url" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
assert config["substituter_endpoint"] == sys.argv[2] + "/main", config
assert config["api_endpoint"] == sys.argv[2] + "/", config
assert config["allow_upstream_references"] is False, config
print(config["public_key"])
PY
) || fail "cache info body: $(cat "$tmp/body")"
[[ $key == main-1:* ]] || fail "public key: $key"

missing() {
  [[ $(status_of -X POST "${auth[@]}" -H 'Content-Type: application/json' \
    --data "{\"cache\":\"main\",\"store_path_hashes\":[\"$(hash_of "$top")\",\"$(hash_of "$mid")\",\"$(hash_of "$dep")\"]}" \
    "$lab_url/_api/v1/get-missing-paths") == 200 ]] || fail "get-missing-paths: $(cat "$tmp/body")"
  python3 -c 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1]))["missing_paths"])))' "$tmp/body"
}
step "get-missing-paths: the whole closure"
[[ $(missing) == "$(printf '%s\n' "$(hash_of "$top")" "$(hash_of "$mid")" "$(hash_of "$dep")" | sort | xargs)" ]] ||
  fail "missing paths: $(cat "$tmp/body")"

# The UploadPathNarInfo of a path, from the local Nix; $2 replaces the NAR hash.
upload_info() {
  nix_cmd path-info --store "$tmp/root" --json "$1" | python3 -c '
import base64, json, sys
info = json.load(sys.stdin)[0]
nar_hash = sys.argv[2] if len(sys.argv) > 2 else info["narHash"]
print(json.dumps({"cache": "main", "store_path_hash": info["path"][11:43], "store_path": info["path"],
  "references": info["references"], "system": None, "deriver": info.get("deriver"),
  "sigs": info.get("signatures", []), "ca": info.get("ca"), "nar_hash": nar_hash,
  "nar_size": info["narSize"]}))' "$1" "${@:2}"
}

# upload PATH header|preamble [INFO]: the NAR straight from the store as a chunked body.
upload() {
  local info=${3:-$(upload_info "$1")}
  if [[ $2 == header ]]; then
    nix_cmd store dump-path --store "$tmp/root" "$1" |
      curl -s -o "$tmp/body" -w '%{http_code}' -X PUT "${auth[@]}" -H "X-Attic-Nar-Info: $info" \
        -H 'Content-Type: application/octet-stream' -H 'Transfer-Encoding: chunked' -T - "$lab_url/_api/v1/upload-path"
  else
    { printf '%s' "$info"; nix_cmd store dump-path --store "$tmp/root" "$1"; } |
      curl -s -o "$tmp/body" -w '%{http_code}' -X PUT "${auth[@]}" \
        -H "X-Attic-Nar-Info-Preamble-Size: ${#info}" -H 'Content-Type: application/octet-stream' \
        -H 'Transfer-Encoding: chunked' -T - "$lab_url/_api/v1/upload-path"
  fi
}
narinfo_status() { status_of "${auth[@]}" "$lab_url/main/$(hash_of "$1").narinfo"; }

step "upload top and mid before dep: held, not served"
[[ $(upload "$top" header) == 200 ]] || fail "upload top: $(cat "$tmp/body")"
grep -q '"kind":"Uploaded"' "$tmp/body" || fail "upload top: $(cat "$tmp/body")"
[[ $(upload "$mid" preamble) == 200 ]] || fail "upload mid (preamble): $(cat "$tmp/body")"
for path in "$top" "$mid"; do
  [[ $(narinfo_status "$path") == 404 ]] || fail "$path is served before its references"
done

step "a wrong NAR hash is refused with Attic's error body, nothing published"
wrong=$(upload_info "$dep" "sha256:$(printf '0%.0s' $(seq 64))")
[[ $(upload "$dep" header "$wrong") == 400 ]] || fail "a wrong NAR hash was accepted: $(cat "$tmp/body")"
python3 - "$tmp/body" <<'PY' || fail "not Attic's error body: $(cat "$tmp/body")"
import json, sys
body = json.load(open(sys.argv[1]))
assert body["code"] == 400 and body["error"] == "invalid_nar" and "NAR hash" in body["message"], body
PY
[[ $(narinfo_status "$dep") == 404 ]] || fail "dep was published from a bad upload"

step "upload dep: the whole closure is published"
[[ $(upload "$dep" header) == 200 ]] || fail "upload dep: $(cat "$tmp/body")"
python3 - "$tmp/body" <<'PY' || fail "upload result: $(cat "$tmp/body")"
import json, sys
result = json.load(open(sys.argv[1]))
assert result["kind"] in ("Uploaded", "Deduplicated") and result["file_size"] > 0, result
assert 0 <= result["frac_deduplicated"] <= 1, result
PY
for path in "$top" "$mid" "$dep"; do
  [[ $(narinfo_status "$path") == 200 ]] || fail "$path is not served after its references arrived"
done
[[ -z $(missing) ]] || fail "still missing: $(cat "$tmp/body")"

step "a fresh store substitutes the closure with require-sigs"
printf 'machine 127.0.0.1 password %s\n' "$token" >"$tmp/netrc"
substitute "$tmp/fresh" "$lab_url/main" "$key" "$top" --option netrc-file "$tmp/netrc" ||
  fail "substitution failed"
for path in "$top" "$mid" "$dep"; do same_path "$tmp/fresh" "$path"; done

step "refusals: bad token 401, no push permission 403, with Attic's error body"
auth=(-H "Authorization: bearer not.a.token")
[[ $(upload "$top" header) == 401 ]] || fail "a bad token was not refused: $(cat "$tmp/body")"
grep -q '"code":401' "$tmp/body" || fail "401 body: $(cat "$tmp/body")"
auth=(-H "Authorization: bearer $(admin make-token --sub reader --validity 1h --pull main)")
[[ $(upload "$top" header) == 403 ]] || fail "a pull-only token could upload: $(cat "$tmp/body")"
grep -q '"code":403,"error":"forbidden"' "$tmp/body" || fail "403 body: $(cat "$tmp/body")"
echo "attic protocol: closure pushed out of order, held, published, substituted"
