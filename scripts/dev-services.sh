#!/usr/bin/env bash
# Native Postgres 15 + Redis for local development and CI (no Docker needed).
#
#   scripts/dev-services.sh start|stop|status
#
# Postgres: Debian's /usr/lib/postgresql/15/bin, data in $DEV_SERVICES_DIR/pg, 127.0.0.1:$PG_PORT,
#           run as the `postgres` OS user; role `app`, databases `app` and `app_test`
#           (trust auth on the socket and loopback only).
# Redis:    redis-server on 127.0.0.1:$REDIS_PORT, no persistence.
# Idempotent: `start` leaves running services alone.
set -euo pipefail

DIR="${DEV_SERVICES_DIR:-/var/tmp/fastapi-obs-dev}"
PG_PORT="${PG_PORT:-5432}"
REDIS_PORT="${REDIS_PORT:-6379}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_DATA="$DIR/pg"
PG_RUN="$DIR/run"
PG_LOG="$DIR/postgres.log"
REDIS_PIDFILE="$DIR/redis-$REDIS_PORT.pid"
REDIS_LOG="$DIR/redis-$REDIS_PORT.log"

log() { printf 'dev-services: %s\n' "$*" >&2; }

as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    # runuser keeps the environment minimal and needs no password
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_up() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" >/dev/null 2>&1; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

pg_start() {
  if pg_up; then log "postgres already answering on 127.0.0.1:$PG_PORT"; pg_ensure_db; return; fi
  [ -x "$PG_BIN/postgres" ] || { log "postgres not found in $PG_BIN (apt-get install postgresql-15)"; return 1; }
  mkdir -p "$DIR" "$PG_RUN"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$DIR" "$PG_RUN"; fi
  if [ ! -s "$PG_DATA/PG_VERSION" ]; then
    log "initdb $PG_DATA"
    mkdir -p "$PG_DATA"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PG_DATA"; fi
    # trust on the local socket and loopback only (initdb's pg_hba lists nothing else)
    as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  log "starting postgres on 127.0.0.1:$PG_PORT"
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_RUN -c fsync=off -c max_connections=200" start >/dev/null
  pg_up || { log "postgres did not come up; see $PG_LOG"; tail -20 "$PG_LOG" >&2; return 1; }
  pg_ensure_db
}

pg_ensure_db() {
  local psql=("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qtA)
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname='app'")" != 1 ]; then
    "${psql[@]}" -c "CREATE ROLE app LOGIN PASSWORD 'app'"   # dev-only, loopback-only
  fi
  local db
  for db in app app_test; do  # app_test: used by tests/app, wiped by them
    if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname='$db'")" != 1 ]; then
      "${psql[@]}" -c "CREATE DATABASE $db OWNER app"
    fi
  done
}

pg_stop() {
  if [ -s "$PG_DATA/postmaster.pid" ]; then
    log "stopping postgres"
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null || true
  fi
}

redis_start() {
  if redis_up; then log "redis already answering on 127.0.0.1:$REDIS_PORT"; return 0; fi
  command -v redis-server >/dev/null || { log "redis-server not found (apt-get install redis-server)"; return 1; }
  mkdir -p "$DIR"
  log "starting redis on 127.0.0.1:$REDIS_PORT"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --pidfile "$REDIS_PIDFILE" \
    --logfile "$REDIS_LOG" --dir "$DIR" --save "" --appendonly no >/dev/null
  for _ in $(seq 1 50); do redis_up && return 0; sleep 0.1; done
  log "redis did not come up; see $REDIS_LOG"; return 1
}

redis_stop() {
  if redis_up; then
    log "stopping redis"
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  fi
}

status() {
  local rc=0
  if pg_up; then echo "postgres: up (127.0.0.1:$PG_PORT)"; else echo "postgres: down"; rc=1; fi
  if redis_up; then echo "redis: up (127.0.0.1:$REDIS_PORT)"; else echo "redis: down"; rc=1; fi
  return $rc
}

# The daemons outlive this script, so they must not inherit its caller's descriptors: a caller
# that runs us under `flock FILE command` would otherwise find FILE locked by Postgres and Redis
# long after it exited (every later `flock` on that file waits forever).
close_inherited_fds() {
  local fd
  for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    case $fd in 0 | 1 | 2 | 255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
  done
}

case "${1:-}" in
  start) close_inherited_fds; pg_start; redis_start; status ;;
  stop) pg_stop; redis_stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
