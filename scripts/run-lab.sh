#!/usr/bin/env bash
# `make run`: the main job, the lab server on its embedded default
# (SQLite + a local directory). The server does not exist yet: the binary
# built today is a placeholder that says so and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
exec build/bin/nixedge-server "$@"
