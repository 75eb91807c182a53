#!/usr/bin/env bash
# Regenerates the golden NARs and listings in this directory with the real Nix
# (Debian nix-bin 2.8): for each case, <case>.nar is `nix-store --dump` of a
# tree made below, <case>.ls is the listing Nix itself writes when it copies
# that tree's store path to a file:// cache with write-nar-listing=true, and
# <case>.narhash is the NarHash of the narinfo it writes, <case>.sha256 is
# `nix-store --dump | sha256sum`.
#
# Usage: tests/data/nar/regenerate.sh   (needs nix-store and nix; no daemon, no /nix)
set -euo pipefail

out_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/nixedge-nar-golden.XXXXXX)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT

# A fresh HOME and cache: Nix caches narinfos client side.
export HOME=$work/home XDG_CACHE_HOME=$work/xdg-cache
mkdir -p "$HOME" "$XDG_CACHE_HOME"
nix_opts=(--store "$work/store" --option substituters '' --option build-users-group '')

src=$work/src
mkdir -p "$src"

make_tree() { # nested dirs, empty file and dir, executable, symlinks, names to escape
    local t=$src/tree
    mkdir -p "$t/sub/deeper" "$t/emptydir"
    printf 'hello\n' >"$t/a.txt"
    : >"$t/empty"
    printf '#!/bin/sh\necho hi\n' >"$t/sub/run.sh"
    chmod +x "$t/sub/run.sh"
    ln -s ../a.txt "$t/sub/link"
    ln -s /nix/store/absolute "$t/abs-link"
    printf 'x' >"$t/with space"
    printf 'q' >"$t/"$'quote"back\\slash'
    printf 'n' >"$t/"$'new\nline\ttab\rcr'
    printf 'c' >"$t/"$'ctl\x01\x08\x0c\x1b\x1f\x7f'
    printf 'u' >"$t/unicode-é-☃-😀"
    printf 'i' >"$t/"$'invalid-utf8-\xff\xfe'
    ln -s $'tar"get\\é\nx' "$t/weird-link"
}

make_sorting() { # byte order: uppercase < lowercase < '~' < non-ASCII; prefixes first
    local t=$src/sorting
    mkdir -p "$t"
    for name in a a- a.b a0 aa B Z _ '~' é $'\xc3' 0 9 -; do
        printf '%s' "$name" >"$t/$name"
    done
}

make_deep() { # 40 nested directories with a file at the bottom
    local d=$src/deep
    for i in $(seq 1 40); do d=$d/d$i; done
    mkdir -p "$d"
    printf 'bottom' >"$d/file"
}

make_large() { # a file that is not a multiple of 8 and spans many read buffers
    mkdir -p "$src/large"
    seq 1 30000 >"$src/large/numbers"
    printf 'tail' >"$src/large/z"
}

make_tree
make_sorting
make_deep
make_large
mkdir -p "$src/empty-dir"
printf 'just a file\n' >"$src/file"
printf '#!/bin/sh\nexit 0\n' >"$src/exec"
chmod +x "$src/exec"
ln -s some/target "$src/link"

cache=$work/cache
for case in tree sorting deep large empty-dir file exec link; do
    nix-store --dump "$src/$case" >"$out_dir/$case.nar"
    nix-store --dump "$src/$case" | sha256sum | cut -d' ' -f1 >"$out_dir/$case.sha256"
    path=$(nix-store "${nix_opts[@]}" --add "$src/$case" 2>/dev/null)
    nix --extra-experimental-features nix-command "${nix_opts[@]}" copy \
        --to "file://$cache?write-nar-listing=true&compression=none" "$path" 2>/dev/null
    hash_part=$(basename "$path" | cut -d- -f1)
    cp "$cache/$hash_part.ls" "$out_dir/$case.ls"
    grep '^NarHash: ' "$cache/$hash_part.narinfo" | cut -d' ' -f2 >"$out_dir/$case.narhash"
    # The store's NAR must be the dump we keep, or the listing would describe another NAR.
    url=$(grep '^URL: ' "$cache/$hash_part.narinfo" | cut -d' ' -f2)
    cmp "$cache/$url" "$out_dir/$case.nar"
    echo "$case: $(stat -c %s "$out_dir/$case.nar") bytes, $(cat "$out_dir/$case.narhash")"
done
