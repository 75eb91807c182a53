#!/usr/bin/env bash
# Makes a fresh cache with the real Nix, runs the cross-check binary on it, then
# has the real Nix substitute every path from the copy the binary republished
# the way the lab does (chunked NARs as concatenated zstd frames named by their
# manifest, narinfos signed by a core-made key): Nix must accept them when it
# trusts that key (it checks every NarHash on import) and refuse them when it
# trusts only its own key.
set -euo pipefail
checker=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$(dirname "$0")/make-nix-cache.sh" "$dir" >"$dir/make.log" 2>&1 || { cat "$dir/make.log"; exit 1; }
NIXEDGE_NIX_CACHE_DIR=$dir "$checker"

export HOME=$dir/home XDG_CACHE_HOME=$dir/xdg-cache NIX_CONFIG=
substitute() { # substitute TRUSTED_KEY STORE
  nix --extra-experimental-features nix-command copy --from "file://$dir/ours" --to "$2" \
    --option substituters '' --option trusted-public-keys "$1" $(cat "$dir/paths")
}
substitute "$(cat "$dir/ours.pk")" "$dir/store-ours"
echo "Nix substituted $(wc -l <"$dir/paths") paths published as the lab does (chunked zstd frames, core-signed)"
if substitute "$(cat "$dir/pk")" "$dir/store-theirs" 2>"$dir/refused.log"; then
  echo "FAIL: Nix accepted narinfos signed by a key it does not trust" >&2
  exit 1
fi
grep -qE "lacks a valid signature|is not signed by any of the keys" "$dir/refused.log" || { cat "$dir/refused.log"; exit 1; }
echo "Nix refused them when trusting only its own key"
