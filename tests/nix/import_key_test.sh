#!/usr/bin/env bash
# `nixedge-server cache create --import-key` with a key fresh from the real
# Nix: it prints what `nix key convert-secret-to-public` prints.
#   import_key_test.sh NIXEDGE_SERVER_BINARY
set -euo pipefail
server=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export HOME=$dir/home XDG_CACHE_HOME=$dir/xdg-cache NIX_CONFIG=
mkdir -p "$HOME"
nix_opts=(--store "$dir/store" --extra-experimental-features nix-command)
nix "${nix_opts[@]}" key generate-secret --key-name lab.example.org-1 >"$dir/sk"
nix "${nix_opts[@]}" key convert-secret-to-public <"$dir/sk" >"$dir/pk"

printf '[server]\ndata_dir = "%s"\n' "$dir/data" >"$dir/server.toml"
printed=$("$server" --config "$dir/server.toml" cache create imported --import-key "$dir/sk")
[[ $printed == "$(<"$dir/pk")" ]] || { echo "FAIL: printed $printed, Nix says $(<"$dir/pk")" >&2; exit 1; }
info=$("$server" --config "$dir/server.toml" cache info imported --public-key)
[[ $info == "$(<"$dir/pk")" ]] || { echo "FAIL: cache info says $info" >&2; exit 1; }
echo "imported $(cut -d: -f1 <"$dir/pk"): public key as Nix derives it"
