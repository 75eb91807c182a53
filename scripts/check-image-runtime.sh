#!/usr/bin/env bash
# Proves that the Dockerfile's runtime package list is enough to run
# nixedge-server, with no Docker engine: downloads those Debian packages and
# everything they depend on (what `apt-get install` in the image brings),
# unpacks them into an empty root with `dpkg -x`, adds the built server,
# and in that chroot, as the image's non-root user:
#   - runs `nixedge-server --help`, `config show`, `cache create`;
#   - serves on a free port and answers /healthz, /readyz and /metrics to
#     curl from outside the chroot;
#   - runs `rclone version` and `jq --version` (the sync job's tools).
# The list comes from the Dockerfile itself (between the runtime-packages
# markers), so the two cannot drift.
#
# Needs root (chroot) and the Debian mirror (apt-get download), ~20 s.
# `make check-image`, and a ctest (tests/k8s) so a new library linked into
# the server without its runtime package in the Dockerfile fails the suite.
# Usage: scripts/check-image-runtime.sh [NIXEDGE_SERVER]   (default build/bin/nixedge-server)
set -euo pipefail
cd "$(dirname "$0")/.."
server=${1:-build/bin/nixedge-server}
[[ -x $server ]] || { echo "check-image: no server binary at $server (make build-native)" >&2; exit 1; }
# 77: skipped (ctest's SKIP_RETURN_CODE), said out loud.
[[ $(id -u) == 0 ]] || { echo "check-image: SKIPPED: needs root (chroot, mount, mknod)"; exit 77; }
start=$SECONDS

# The packages between the markers: every word after `--no-install-recommends`
# up to the `&&` that ends the install command.
mapfile -t packages < <(sed -n '/# runtime-packages: begin/,/# runtime-packages: end/p' Dockerfile |
  sed -n '/--no-install-recommends/,/&&/p' | sed 's/.*--no-install-recommends//; s/&&.*//; s/\\//' |
  tr ' ' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' || true)
((${#packages[@]})) || { echo "check-image: no runtime package list found in the Dockerfile" >&2; exit 1; }
echo "check-image: the Dockerfile's runtime packages: ${packages[*]}"

tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [[ -n ${proc_mounted:-} ]]; then umount "$tmp/root/proc" || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Their dependency closure, as apt resolves it (Depends and Pre-Depends; both
# sides of an alternative, so a little more than the image gets). Virtual
# packages (<name>) are provided by a real one in the closure.
depends() {
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances "${packages[@]}" 2>/dev/null | grep -E '^[a-z0-9]' | sort -u
}
# No package lists yet (a fresh machine): fetch them once.
apt-cache show "${packages[@]}" >/dev/null 2>&1 || apt-get update -qq
mapfile -t closure < <(depends)
echo "check-image: ${#closure[@]} packages with dependencies; downloading"
mkdir -p "$tmp/debs" "$tmp/root"
# apt downloads as its sandbox user where it can write.
chmod 755 "$tmp"
if id _apt >/dev/null 2>&1; then chown _apt "$tmp/debs"; fi
# Stale package lists name versions the mirror no longer has: update once.
download() { (cd "$tmp/debs" && apt-get download -qq "${closure[@]}" >/dev/null); }
download || { apt-get update -qq && download; }
for deb in "$tmp"/debs/*.deb; do dpkg -x "$deb" "$tmp/root"; done
echo "check-image: unpacked $(du -sh "$tmp/root" | cut -f1) in $((SECONDS - start)) s"

root=$tmp/root
install -D -m 0755 "$server" "$root/usr/local/bin/nixedge-server"
mkdir -p "$root/etc/nixedge" "$root/var/lib/nixedge" "$root/tmp"
chmod 1777 "$root/tmp"
chown 10001:10001 "$root/var/lib/nixedge"
cat >"$root/etc/nixedge/server.toml" <<'TOML'
[server]
listen = "127.0.0.1:0"
io_threads = 1
worker_threads = 1
data_dir = "/var/lib/nixedge"
TOML
as_user() { chroot --userspec=10001:10001 "$root" "$@"; }
fail() { echo "check-image: FAIL: $*" >&2; exit 1; }

as_user /usr/local/bin/nixedge-server --help >/dev/null || fail "nixedge-server --help does not run in the chroot"
as_user /usr/local/bin/nixedge-server --config /etc/nixedge/server.toml config show >/dev/null ||
  fail "config show does not run in the chroot"
key=$(as_user /usr/local/bin/nixedge-server --config /etc/nixedge/server.toml cache create main --public) ||
  fail "cache create (SQLite, libsodium) does not run in the chroot"
echo "check-image: in the chroot: --help, config show, cache create main -> $key"

# chroot execs the server, so $! is the server's own PID.
chroot --userspec=10001:10001 "$root" /usr/local/bin/nixedge-server --config /etc/nixedge/server.toml serve \
  >"$tmp/serve.out" 2>"$tmp/serve.err" &
server_pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$tmp/serve.out" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || fail "serve exited: $(cat "$tmp/serve.err")"
  sleep 0.05
done
url=$(sed -n 's/^listening on //p' "$tmp/serve.out")
[[ -n $url ]] || fail "serve printed no 'listening on' line"
for path in /healthz /readyz /metrics /main/nix-cache-info; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$url$path")
  [[ $code == 200 ]] || fail "GET $path answered $code"
  echo "check-image: GET $url$path -> 200 (from outside the chroot)"
done
kill "$server_pid"
wait "$server_pid" || fail "serve did not stop cleanly on SIGTERM"
server_pid=

# A container runtime gives every container /proc and the basic /dev nodes;
# rclone's start-up opens /dev/null (go-fuse's splice init) and reads /proc.
mkdir -p "$root/proc" "$root/dev"
mknod -m 666 "$root/dev/null" c 1 3
mknod -m 666 "$root/dev/zero" c 1 5
mknod -m 666 "$root/dev/urandom" c 1 9
mount -t proc proc "$root/proc" || fail "cannot mount /proc in the chroot for rclone"
proc_mounted=1
as_user /usr/bin/rclone version >/dev/null || fail "rclone does not run in the chroot"
as_user /usr/bin/jq --version >/dev/null || fail "jq does not run in the chroot"
echo "check-image: rclone and jq run in the chroot"
echo "check-image: OK in $((SECONDS - start)) s: the Dockerfile's runtime packages run nixedge-server"
