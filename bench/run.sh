#!/usr/bin/env bash
# `make bench`: runs the micro-benchmarks (native, then wasm under Node) and
# rewrites the micro-benchmark section of docs/benchmarks.md, keeping the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
doc=docs/benchmarks.md
begin='<!-- micro-benchmarks:begin -->'
end='<!-- micro-benchmarks:end -->'

machine() {
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
  echo "- memory: $(free -g | awk '/^Mem:/ {print $2}') GiB; kernel $(uname -r); $(. /etc/os-release; echo "$PRETTY_NAME")"
  echo "- compilers: $(g++ --version | head -1) (native Release, -O3); $(clang-14 --version | head -1) (wasm32-wasi)"
  echo "- Node $(node --version) (runs the wasm module, V8's optimizing tier)"
  echo "- measured $(date -u +%Y-%m-%d)"
}

rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
echo "bench: native" >&2
build/bin/nixedge-bench | tee -a "$rows" >&2
if [[ -f bench/wasm_bench.mjs ]]; then
  echo "bench: wasm (Node)" >&2
  node bench/wasm_bench.mjs build-wasm/wasm-edge/nixedge-edge.wasm | tee -a "$rows" >&2
fi

section=$(mktemp)
{
  echo "$begin"
  echo "## Core micro-benchmarks (\`make bench\`)"
  echo
  echo "One core each, median of repeated runs. Machine:"
  echo
  machine
  echo
  echo "| what | where | measured | target (per core) | verdict |"
  echo "|---|---|---|---|---|"
  cat "$rows"
  echo
  echo "$end"
} >"$section"

if [[ -f $doc ]] && grep -qF "$begin" "$doc"; then
  awk -v b="$begin" -v e="$end" -v f="$section" '
    $0 == b { while ((getline line < f) > 0) print line; skip = 1; next }
    $0 == e { skip = 0; next }
    !skip { print }' "$doc" >"$doc.new"
  mv "$doc.new" "$doc"
else
  { [[ -f $doc ]] && cat "$doc" || printf '# Benchmarks\n\n'; cat "$section"; } >"$doc.new"
  mv "$doc.new" "$doc"
fi
rm -f "$section"
echo "bench: wrote $doc" >&2
