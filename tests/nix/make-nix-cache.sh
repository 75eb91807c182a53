#!/usr/bin/env bash
# Makes a small binary cache with the real Nix client, for cross-checks:
#   make-nix-cache.sh OUT_DIR
# OUT_DIR/cache  : `nix copy --to file://` output (narinfos, nar/, .ls listings)
# OUT_DIR/cache-zstd : the same with compression=zstd
# OUT_DIR/sk, pk : a signing key made by `nix key generate-secret`
# OUT_DIR/paths  : the store paths copied, one per line
# OUT_DIR/nars/  : `nix-store --dump` of each path, named <hash>.nar
# Paths cover: input-addressed build outputs with references and a deriver,
# content-addressed paths (nix-store --add, builtins.toFile), nested dirs,
# empty files and dirs, executables, symlinks and non-ASCII names.
set -euo pipefail
out=$(realpath -m "$1")
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME=$work/home XDG_CACHE_HOME=$work/xdg-cache NIX_CONFIG=
mkdir -p "$HOME"
store=$work/root
nix_opts=(--store "$store" --option substituters '' --option build-users-group ''
          --option sandbox-paths '/bin /usr /lib /lib64' --extra-experimental-features nix-command)

nix "${nix_opts[@]}" key generate-secret --key-name nixedge-test-1 >"$out/sk"
nix "${nix_opts[@]}" key convert-secret-to-public <"$out/sk" >"$out/pk"

tree=$work/tree
mkdir -p "$tree/dir/nested/deeper" "$tree/empty-dir" "$tree/dir/ünïcødé ☃"
printf '' >"$tree/empty-file"
printf '#!/bin/sh\necho hi\n' >"$tree/dir/run.sh"
chmod +x "$tree/dir/run.sh"
printf 'quote"back\\slash' >"$tree/dir/nested/deeper/data"
head -c 3000 /dev/urandom >"$tree/dir/random.bin"
ln -s ../empty-file "$tree/dir/link"
ln -s "dangling target with spaces" "$tree/dir/dangling"
printf 'x' >"$tree/dir/ünïcødé ☃/f"
printf 'tab\tname' >"$tree/dir/with space"

cat >"$work/drvs.nix" <<'NIX'
let
  sh = "/bin/sh";
  mk = name: script: derivation { inherit name; system = builtins.currentSystem; builder = sh; args = [ "-c" script ]; };
  dep = mk "nixedge-dep" "echo dep > $out";
  textfile = builtins.toFile "nixedge-text" "plain text\n";
in {
  inherit dep;
  top = mk "nixedge-top" "/bin/mkdir -p $out/bin; echo ${dep} > $out/ref; echo ${textfile} >> $out/ref; echo tool-v1 > $out/bin/tool; /bin/chmod +x $out/bin/tool; /bin/ln -s ${dep} $out/dep-link";
  self = mk "nixedge-selfref" "/bin/mkdir $out; echo $out > $out/me";
}
NIX
paths=()
paths+=("$(nix-store "${nix_opts[@]}" --add "$tree")")
paths+=("$(nix-store "${nix_opts[@]}" --add "$tree/dir/run.sh")")
for attr in top self; do
  paths+=("$(nix-build "${nix_opts[@]}" --no-out-link "$work/drvs.nix" -A "$attr" 2>/dev/null)")
done
closure=$(nix-store "${nix_opts[@]}" -qR "${paths[@]}" | sort -u)
nix "${nix_opts[@]}" store sign --key-file "$out/sk" $closure
nix "${nix_opts[@]}" copy --to "file://$out/cache?compression=none&write-nar-listing=true" $closure
nix "${nix_opts[@]}" copy --to "file://$out/cache-zstd?compression=zstd" $closure
printf '%s\n' $closure >"$out/paths"
mkdir -p "$out/nars"
for p in $closure; do
  h=$(basename "$p"); h=${h%%-*}
  nix-store --dump "$store$p" >"$out/nars/$h.nar"
done
