#!/usr/bin/env bash
# Fails if any tracked C/C++ source differs from clang-format's output
# (`make format` fixes it).
set -euo pipefail
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.c' '*.h')
clang-format --dry-run --Werror "${files[@]}"
echo "${#files[@]} files formatted"
