#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for tests (Debian's postgresql-15).
#
#   postgres.sh start STATE   initdb in a new temp dir, start on a free port of
#                             127.0.0.1 (fsync off), create role and database
#                             `nixedge`, write STATE (shell assignments, below)
#   postgres.sh restart STATE pg_ctl restart (fast mode: connections are cut)
#   postgres.sh stop-server STATE   stops the server (fast mode) and keeps its
#                             data: an outage of the database
#   postgres.sh start-server STATE  starts it again, on the same port
#   postgres.sh stop STATE    stop the server, remove its dir and STATE
#
# STATE holds NIXEDGE_TEST_POSTGRES_URL (the URL the tests use, with its
# password), PG_DIR, PG_PORT and PG_SOCKET_DIR. PostgreSQL refuses to run as
# root: as root, initdb and pg_ctl run as the postgres user (the temp dir is
# made enterable by it); as anyone else, as that user. The superuser
# `postgres` logs in over the socket in PG_SOCKET_DIR without a password
# (`psql -h $PG_SOCKET_DIR -p $PG_PORT -U postgres`). ctest runs
# `start` and `stop` as a FIXTURES_SETUP/FIXTURES_CLEANUP pair
# (tests/lab/CMakeLists.txt); tests that restart a server start their own.
set -euo pipefail

bin=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
command=${1:?usage: postgres.sh start|restart|stop-server|start-server|stop STATE}
state=${2:?usage: postgres.sh start|restart|stop-server|start-server|stop STATE}

as_postgres() {
  if ((EUID == 0)); then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

pg_start_on() { # dir port: pg_ctl start with the test settings
  as_postgres "$bin/pg_ctl" -D "$1/data" -l "$1/run/server.log" -w -t 30 start -o \
    "-p $2 -c listen_addresses=127.0.0.1 -c unix_socket_directories=$1/run \
     -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
     -c max_connections=200 -c shared_buffers=32MB" >/dev/null
}

start() {
  local dir port password started
  started=$(date +%s%N)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/nixedge-pg.XXXXXX")
  chmod 755 "$dir"
  mkdir "$dir/data" "$dir/run"
  if ((EUID == 0)); then chown postgres: "$dir/data" "$dir/run"; fi
  password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" >"$dir/password"
  chmod 644 "$dir/password"
  # Local (socket) connections are the harness's own, as postgres; TCP needs
  # the password, so the tests exercise real authentication.
  as_postgres "$bin/initdb" -N -D "$dir/data" -U postgres -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  # A port may be taken between free_port and the bind: try a few.
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if pg_start_on "$dir" "$port"; then
      break
    fi
    if ((attempt == 5)); then
      tail -20 "$dir/run/server.log" >&2
      exit 1
    fi
  done
  "$bin/psql" -q -X -v ON_ERROR_STOP=1 -h "$dir/run" -p "$port" -U postgres \
    -d postgres -c "CREATE ROLE nixedge LOGIN PASSWORD '$password'" \
    -c "CREATE DATABASE nixedge OWNER nixedge"
  cat >"$state" <<EOF
NIXEDGE_TEST_POSTGRES_URL=postgresql://nixedge:$password@127.0.0.1:$port/nixedge
PG_DIR=$dir
PG_PORT=$port
PG_SOCKET_DIR=$dir/run
EOF
  echo "postgres.sh: ready on 127.0.0.1:$port in $((($(date +%s%N) - started) / 1000000)) ms ($dir)"
}

load_state() {
  [[ -f $state ]] || { echo "postgres.sh: no state file $state" >&2; exit 1; }
  # shellcheck disable=SC1090
  source "$state"
}

case $command in
start) start ;;
restart)
  load_state
  as_postgres "$bin/pg_ctl" -D "$PG_DIR/data" -w -t 30 -m fast restart >/dev/null
  ;;
stop-server)
  load_state
  as_postgres "$bin/pg_ctl" -D "$PG_DIR/data" -w -t 30 -m fast stop >/dev/null
  ;;
start-server)
  load_state
  pg_start_on "$PG_DIR" "$PG_PORT" || { tail -20 "$PG_DIR/run/server.log" >&2; exit 1; }
  ;;
stop)
  [[ -f $state ]] || exit 0
  load_state
  as_postgres "$bin/pg_ctl" -D "$PG_DIR/data" -w -t 30 -m fast stop >/dev/null || true
  rm -rf "$PG_DIR" "$state"
  ;;
*)
  echo "usage: postgres.sh start|restart|stop-server|start-server|stop STATE" >&2
  exit 2
  ;;
esac
