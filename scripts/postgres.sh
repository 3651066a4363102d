#!/usr/bin/env bash
# A PostgreSQL cluster of archfarm's own for the tests (PostgresStore's contract suite):
# Debian's postgresql packages, a data directory, socket directory and loopback port of its
# own, started with the packaged binaries as the postgres user. The system's cluster
# (/var/lib/postgresql/<major>/main, port 5432) is never touched, started or stopped.
# Idempotent: a running cluster is left as it is. Prints the connection URL on stdout.
#
# The cluster is for tests only: trust auth on 127.0.0.1 and no fsync (a crash loses the test
# databases, which every test file creates afresh anyway). Never point a coordinator at it.
#
# Env: ARCHFARM_POSTGRES_PORT (default 55432),
#      ARCHFARM_POSTGRES_DIR  (default /var/lib/archfarm-postgres: the data directory).
set -euo pipefail

LOG_PREFIX=postgres
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$HERE/lib.sh"

: "${ARCHFARM_POSTGRES_PORT:=55432}"
: "${ARCHFARM_POSTGRES_DIR:=/var/lib/archfarm-postgres}"
SOCKET_DIR=/run/archfarm-postgres
PG_LOG=/var/log/archfarm-postgres.log
URL="postgres://postgres@127.0.0.1:${ARCHFARM_POSTGRES_PORT}/postgres"

[[ $EUID -eq 0 ]] || die "must run as root"

# The metapackage pulls bookworm's postgresql-15; services stay blocked while it installs,
# so the system cluster it creates is not started by us.
ensure_packages postgresql

# The newest packaged server (bookworm: 15).
BIN="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
[[ -n $BIN && -x $BIN/pg_ctl && -x $BIN/initdb ]] || die "no PostgreSQL server binaries under /usr/lib/postgresql (package postgresql-15)"
MAJOR="$(basename "$(dirname "$BIN")")"

as_postgres() { runuser -u postgres -- "$@"; }

answers() { as_postgres "$BIN/pg_ctl" status -D "$ARCHFARM_POSTGRES_DIR" >/dev/null 2>&1 && "$BIN/pg_isready" -q -h 127.0.0.1 -p "$ARCHFARM_POSTGRES_PORT"; }

mkdir -p "$SOCKET_DIR"
chown postgres:postgres "$SOCKET_DIR"
chmod 0775 "$SOCKET_DIR"

if answers; then
  log "already running on 127.0.0.1:$ARCHFARM_POSTGRES_PORT (data: $ARCHFARM_POSTGRES_DIR)"
  echo "$URL"
  exit 0
fi

# Test data only: a cluster of another major version (after an upgrade) is made anew.
if [[ -f $ARCHFARM_POSTGRES_DIR/PG_VERSION && "$(cat "$ARCHFARM_POSTGRES_DIR/PG_VERSION")" != "$MAJOR" ]]; then
  log "data dir is of PostgreSQL $(cat "$ARCHFARM_POSTGRES_DIR/PG_VERSION"), binaries are $MAJOR: re-creating the test cluster"
  rm -rf "$ARCHFARM_POSTGRES_DIR"
fi

if [[ ! -f $ARCHFARM_POSTGRES_DIR/PG_VERSION ]]; then
  log "initdb $ARCHFARM_POSTGRES_DIR (PostgreSQL $MAJOR)"
  mkdir -p "$ARCHFARM_POSTGRES_DIR"
  chown postgres:postgres "$ARCHFARM_POSTGRES_DIR"
  chmod 0700 "$ARCHFARM_POSTGRES_DIR"
  as_postgres "$BIN/initdb" -D "$ARCHFARM_POSTGRES_DIR" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >>"$PG_LOG" 2>&1 ||
    { tail -n 15 "$PG_LOG" >&2; die "initdb failed (log: $PG_LOG)"; }
fi

# Ours, but not answering on this port (started with another ARCHFARM_POSTGRES_PORT, or hung): restart it.
if as_postgres "$BIN/pg_ctl" status -D "$ARCHFARM_POSTGRES_DIR" >/dev/null 2>&1; then
  log "the test cluster runs but does not answer on 127.0.0.1:$ARCHFARM_POSTGRES_PORT: stopping it"
  as_postgres "$BIN/pg_ctl" stop -m fast -w -t 60 -D "$ARCHFARM_POSTGRES_DIR" >/dev/null || die "could not stop the test cluster in $ARCHFARM_POSTGRES_DIR"
fi

if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$ARCHFARM_POSTGRES_PORT"; then
  die "something else answers on 127.0.0.1:$ARCHFARM_POSTGRES_PORT; set ARCHFARM_POSTGRES_PORT to a free port"
fi

touch "$PG_LOG"
chown postgres:postgres "$PG_LOG"
log "starting on 127.0.0.1:$ARCHFARM_POSTGRES_PORT (log: $PG_LOG)"
# pg_ctl detaches the server into its own session, so it outlives this script.
as_postgres "$BIN/pg_ctl" start -w -t 60 -D "$ARCHFARM_POSTGRES_DIR" -l "$PG_LOG" \
  -o "-c listen_addresses=127.0.0.1 -p $ARCHFARM_POSTGRES_PORT -k $SOCKET_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  >/dev/null </dev/null || { tail -n 15 "$PG_LOG" >&2; die "the test cluster did not start (log: $PG_LOG)"; }
wait_until 30 "PostgreSQL on 127.0.0.1:$ARCHFARM_POSTGRES_PORT" "$BIN/pg_isready" -q -h 127.0.0.1 -p "$ARCHFARM_POSTGRES_PORT" ||
  die "the test cluster does not answer (log: $PG_LOG)"
echo "$URL"
