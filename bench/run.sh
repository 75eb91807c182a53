#!/usr/bin/env bash
# `make bench`: runs the micro-benchmarks (native, then wasm under Node), the
# lab server against its baselines (bench/lab_bench.sh) and the edge Worker
# against a naive Worker in local workerd (bench/edge_bench.sh), and rewrites
# their sections of docs/benchmarks.md, keeping the rest.
#
# bench/run.sh [micro|lab|edge|push|prod]...: only those parts (default: micro
# lab edge push). `push` (bench/push_bench.sh): `nixedge push` against `nix
# copy` to http:// and file:// on a 1.1 GB closure, ~10 min. `prod`
# (bench/prod_bench.sh: PostgreSQL + RGW against SQLite + a local directory,
# and the sync's listing cost) runs only when named: it starts its own RGW
# and PostgreSQL, takes ~15 min and ~5 GB of RAM. `load`
# (bench/load_bench.sh: the server under wrk load and against slow clients)
# also runs only when named, ~8 min (LOAD_SECONDS per workload, default 60),
# and writes its section to docs/reliability.md instead.
set -euo pipefail
cd "$(dirname "$0")/.."
doc=docs/benchmarks.md
parts=" ${*:-micro lab edge push} "

machine() {
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
  echo "- memory: $(free -g | awk '/^Mem:/ {print $2}') GiB; kernel $(uname -r); $(. /etc/os-release; echo "$PRETTY_NAME")"
  echo "- compilers: $(g++ --version | head -1) (native Release, -O3); $(clang-14 --version | head -1) (wasm32-wasi)"
  echo "- Node $(node --version) (runs the wasm module, V8's optimizing tier)"
  echo "- measured $(date -u +%Y-%m-%d)"
}

# splice BEGIN END FILE: replaces the lines from BEGIN to END in $doc with
# FILE (which carries the markers itself), or appends FILE.
splice() {
  local begin=$1 end=$2 section=$3
  if [[ -f $doc ]] && grep -qF "$begin" "$doc"; then
    awk -v b="$begin" -v e="$end" -v f="$section" '
      $0 == b { while ((getline line < f) > 0) print line; skip = 1; next }
      $0 == e { skip = 0; next }
      !skip { print }' "$doc" >"$doc.new"
  else
    { [[ -f $doc ]] && cat "$doc" || printf '# Benchmarks\n\n'; cat "$section"; } >"$doc.new"
  fi
  mv "$doc.new" "$doc"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [[ $parts == *" micro "* ]]; then
  rows=$tmp/rows
  echo "bench: native" >&2
  build/bin/nixedge-bench | tee -a "$rows" >&2
  if [[ -f bench/wasm_bench.mjs ]]; then
    echo "bench: wasm (Node)" >&2
    node bench/wasm_bench.mjs build-wasm/wasm-edge/nixedge-edge.wasm | tee -a "$rows" >&2
  fi
  begin='<!-- micro-benchmarks:begin -->'
  end='<!-- micro-benchmarks:end -->'
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
  } >"$tmp/micro.md"
  splice "$begin" "$end" "$tmp/micro.md"
  echo "bench: wrote the micro-benchmarks to $doc" >&2
fi

if [[ $parts == *" lab "* ]]; then
  echo "bench: lab server against nginx, Nix and the ingest bound" >&2
  bench/lab_bench.sh "$tmp/lab.md"
  splice '<!-- lab-benchmarks:begin -->' '<!-- lab-benchmarks:end -->' "$tmp/lab.md"
  echo "bench: wrote the lab benchmarks to $doc" >&2
fi

if [[ $parts == *" edge "* ]]; then
  echo "bench: edge Worker against a naive Worker (wrangler dev, local R2)" >&2
  bench/edge_bench.sh "$tmp/edge.md"
  splice '<!-- edge-benchmarks:begin -->' '<!-- edge-benchmarks:end -->' "$tmp/edge.md"
  echo "bench: wrote the edge benchmarks to $doc" >&2
fi

if [[ $parts == *" push "* ]]; then
  echo "bench: nixedge push against nix copy to http:// and file://, and the ingest bound" >&2
  bench/push_bench.sh "$tmp/push.md"
  splice '<!-- push-benchmarks:begin -->' '<!-- push-benchmarks:end -->' "$tmp/push.md"
  echo "bench: wrote the push benchmarks to $doc" >&2
fi

if [[ $parts == *" prod "* ]]; then
  echo "bench: production setup (PostgreSQL + RGW) and the sync's listing cost" >&2
  bench/prod_bench.sh "$tmp/prod.md"
  splice '<!-- prod-benchmarks:begin -->' '<!-- prod-benchmarks:end -->' "$tmp/prod.md"
  echo "bench: wrote the production benchmarks to $doc" >&2
fi

if [[ $parts == *" load "* ]]; then
  echo "bench: the lab server under load and against slow clients" >&2
  machine >"$tmp/machine.md"
  LOAD_MACHINE=$tmp/machine.md bench/load_bench.sh "$tmp/load.md"
  [[ -f docs/reliability.md ]] || printf '# Reliability\n\n' >docs/reliability.md
  doc=docs/reliability.md splice '<!-- BEGIN load -->' '<!-- END load -->' "$tmp/load.md"
  echo "bench: wrote the load figures to docs/reliability.md" >&2
fi
