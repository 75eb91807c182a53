#!/usr/bin/env bash
# `make run`: the lab server on its embedded default (SQLite + a local
# directory), ready to push to and substitute from:
#   - a data directory (NIXEDGE_DATA_DIR, default ./nixedge-data) holding
#     server.toml, the database, the bucket, the token secret and a netrc file;
#   - a persistent HS256 token secret, made once into <data dir>/token-secret
#     (unless NIXEDGE_TOKEN_HS256_SECRET is set);
#   - a public cache `main` (anyone on the network may substitute; pushing
#     needs the token), created on the first run;
#   - a push+pull token for `main`, printed with the lines to give Nix.
# Then it execs `nixedge-server serve`.
#
# Environment:
#   NIXEDGE_DATA_DIR        the data directory (default ./nixedge-data, relative
#                           to where the script is started)
#   NIXEDGE_LISTEN          host:port to listen on (default 127.0.0.1:8080)
#   NIXEDGE_URL             the URL clients use (default http://$NIXEDGE_LISTEN,
#                           with 0.0.0.0 shown as 127.0.0.1); when set, also the
#                           server's public_url (what the Attic API tells clients)
#   NIXEDGE_SERVER          the nixedge-server binary (default build/bin/nixedge-server)
#   NIXEDGE_RUN_SETUP_ONLY  when 1: set up and print, but do not start the server
set -euo pipefail

# Resolved before the cd below, so relative paths mean what the caller meant.
data_dir=$(realpath -m "${NIXEDGE_DATA_DIR:-./nixedge-data}")
repo=$(cd "$(dirname "$0")/.." && pwd)
server=$(realpath -m "${NIXEDGE_SERVER:-$repo/build/bin/nixedge-server}")
listen=${NIXEDGE_LISTEN:-127.0.0.1:8080}
cache=main

if [[ ! -x $server ]]; then
  echo "run-lab: $server is missing; \`make run\` builds it first" >&2
  exit 1
fi

# It holds the signing keys (in the database) and the token secret.
(umask 077 && mkdir -p "$data_dir")
config=$data_dir/server.toml
netrc=$data_dir/netrc

# A TOML basic string: backslashes and quotes escaped.
toml_string() {
  local s=${1//\\/\\\\}
  printf '"%s"' "${s//\"/\\\"}"
}

# Rewritten on every run so NIXEDGE_LISTEN and NIXEDGE_DATA_DIR always apply;
# for a configuration of your own, run nixedge-server with --config instead.
cat >"$config" <<EOF
# Written by scripts/run-lab.sh on every run (lab-server/server.toml lists every key).
[server]
listen = $(toml_string "$listen")
data_dir = $(toml_string "$data_dir")
EOF
# Given, it is what the Attic API tells clients (else the Host they used).
if [[ -n ${NIXEDGE_URL:-} ]]; then
  echo "public_url = $(toml_string "${NIXEDGE_URL%/}/")" >>"$config"
fi

# The token secret: from the environment, else made once and kept, so tokens
# printed by earlier runs stay valid.
if [[ -z ${NIXEDGE_TOKEN_HS256_SECRET:-} && -z ${NIXEDGE_TOKEN_HS256_SECRET_BASE64:-} ]]; then
  secret_file=$data_dir/token-secret
  if [[ ! -s $secret_file ]]; then
    (umask 077 && openssl rand -hex 32 >"$secret_file")
  fi
  NIXEDGE_TOKEN_HS256_SECRET=$(<"$secret_file")
  export NIXEDGE_TOKEN_HS256_SECRET
fi

admin() { "$server" --config "$config" "$@"; }

# Create `main` only when `cache info` says it is absent; any other failure
# (a broken database, say) stops here rather than being papered over.
if ! info_err=$(admin cache info "$cache" 2>&1 >/dev/null); then
  if [[ $info_err != *"(not_found)"* ]]; then
    echo "$info_err" >&2
    exit 1
  fi
  admin cache create "$cache" --public >/dev/null
fi
public_key=$(admin cache info "$cache" --public-key | head -n 1)
token=$(admin make-token --sub local-admin --validity 1y --pull "$cache" --push "$cache")

# The URL clients use: a wildcard listen address is reachable on the loopback.
host=${listen%:*}
case $host in 0.0.0.0) host=127.0.0.1 ;; '[::]') host='[::1]' ;; esac
url=${NIXEDGE_URL:-http://$host:${listen##*:}}
url=${url%/}
# netrc names the bare host: no scheme, port, path or IPv6 brackets.
netrc_host=$(sed -E 's#^[a-z]+://##; s#/.*##; s#:[0-9]+$##; s#^\[(.*)\]$#\1#' <<<"$url")

# Made afresh with mode 600 so the token is never readable by others.
rm -f "$netrc"
(umask 077 && printf 'machine %s password %s\n' "$netrc_host" "$token" >"$netrc")
netrc_arg=$(printf '%q' "$netrc")

cat <<EOF
nixedge lab server: data in $data_dir, cache '$cache' at $url/$cache

Token (push + pull on '$cache', valid for 1 year):
$token

Public key of '$cache':
$public_key

To substitute from it, in nix.conf:
substituters = $url/$cache
trusted-public-keys = $public_key

To push, the netrc file $netrc holds:
machine $netrc_host password $token

Push a store path with:
nix copy --to '$url/$cache?compression=zstd' --option netrc-file $netrc_arg <path>
(add --extra-experimental-features nix-command if your Nix does not enable it)
or, with its closure, only what the cache lacks, in parallel, with progress:
$(dirname "$server")/nixedge login local $url $token
$(dirname "$server")/nixedge push $cache <path>

EOF

if [[ ${NIXEDGE_RUN_SETUP_ONLY:-} == 1 ]]; then
  exit 0
fi
exec "$server" --config "$config" serve
