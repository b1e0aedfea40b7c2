#!/usr/bin/env bash
# Property-based fuzzing of the demo API with schemathesis, against a real server.
#
#   scripts/fuzz.sh [extra `st run` args...]        (make fuzz)
#
#   migrate ──> python -m app on a free loopback port      ──> st run (all checks,
#   (alembic)   real Postgres + Redis (TEST_DATABASE_URL,          positive + negative data,
#               TEST_REDIS_URL, like scripts/test-app.sh)          fixed seed, bounded)
#                                                            ──> stop uvicorn; fail on any
#                                                                failure or ERROR log line
#
# Knobs (environment): FUZZ_SEED (default 20261201), FUZZ_MAX_EXAMPLES per operation and
# phase (default 40), FUZZ_MAX_TIME seconds for the API pass (default 120) and
# FUZZ_ADMIN_MAX_TIME for the admin pass (default 20), FUZZ_WORKERS (default 1: with two
# worker threads, Hypothesis parses lambda sources with `ast` in both at once; CPython
# 3.11 (3.11.7 here) counts the AST constructor's recursion depth per interpreter, not per
# thread, so a run can die of "SystemError: AST constructor recursion depth mismatch"
# inside schemathesis, which is not a finding about the API). The
# fuzzing and stateful phases repeat until their time is spent, so the fixed random seed
# decides which inputs come first, and the time how many run. Measured on 2 busy cores: 11,000-12,000
# API cases + 2,300-2,900 admin cases, 0 failures, about 2 min 35 s in all.
# Reports (JUnit XML + NDJSON events, the server's log) land in $FUZZ_REPORT_DIR
# (default fuzz-report/, git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

SEED="${FUZZ_SEED:-20261201}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-40}"
MAX_TIME="${FUZZ_MAX_TIME:-120}"
ADMIN_MAX_TIME="${FUZZ_ADMIN_MAX_TIME:-20}"
WORKERS="${FUZZ_WORKERS:-1}"
REPORT_DIR="${FUZZ_REPORT_DIR:-fuzz-report}"
ADMIN_TOKEN="fuzz-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"

export UV_PYTHON_DOWNLOADS=never
if command -v uv >/dev/null 2>&1; then
  uv sync --frozen --all-groups --python 3.11 --quiet
fi
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  scripts/dev-services.sh start  # the native services, as scripts/test-app.sh uses without Docker
fi
DATABASE_URL="${TEST_DATABASE_URL:-postgresql+asyncpg://app:app@127.0.0.1:${PG_PORT:-5432}/app_test}"
REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:${REDIS_PORT:-6379}/15}"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rm -rf "$REPORT_DIR" && mkdir -p "$REPORT_DIR"
server_log="$REPORT_DIR/server.log"
# schemathesis keeps crash records for `st replay` in ./.schemathesis by default: keep them
# with the reports instead (replay: .venv/bin/st --config-file $REPORT_DIR/schemathesis.toml replay ID)
printf '[cache]\ndirectory = "%s/cache"\n' "$REPORT_DIR" >"$REPORT_DIR/schemathesis.toml"

# A known starting state: empty tables, empty cache.
DATABASE_URL="$DATABASE_URL" .venv/bin/alembic upgrade head >/dev/null
DATABASE_URL="$DATABASE_URL" .venv/bin/python - <<'EOF'
import asyncio, os
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

async def main() -> None:
    engine = create_async_engine(os.environ["DATABASE_URL"])
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE items, users RESTART IDENTITY CASCADE"))
    await engine.dispose()

asyncio.run(main())
EOF
.venv/bin/python -c 'import asyncio, sys; from redis.asyncio import Redis
async def main():
    r = Redis.from_url(sys.argv[1]); await r.flushdb(); await r.aclose()
asyncio.run(main())' "$REDIS_URL"

env APP_ENV=production DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" PORT="$port" \
  ADMIN_TOKEN="$ADMIN_TOKEN" SENTRY_DSN= LOG_FILE= LOG_LEVEL=INFO LOG_SAMPLE_INFO=0 LOG_SAMPLE_WARNING=1 \
  TRACING_ENABLED=false \
  FAULT_ERROR_RATE_PERCENT=0 FAULT_LATENCY_MS=0 FAULT_SLOW_QUERY_MS=0 \
  .venv/bin/python -m app --host 127.0.0.1 --port "$port" >"$server_log" 2>&1 &
server=$!
stop_server() {
  if kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
}
trap stop_server EXIT

for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$server_log" >&2; echo "fuzz: server exited" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null || { cat "$server_log" >&2; echo "fuzz: server not up" >&2; exit 1; }

# Two passes: the admin API switches fault injection (error rate, latency, slow queries),
# so fuzzing it in the same run would make the rest of the API fail on purpose. The API
# first, then the admin operations alone.
fuzz_pass() {
  local name=$1 budget=$2; shift 2
  echo "fuzz: pass '$name' (max ${budget} s)"
  .venv/bin/st --config-file "$REPORT_DIR/schemathesis.toml" run "http://127.0.0.1:$port/openapi.json" \
    --checks all --mode all --phases examples,coverage,fuzzing,stateful \
    --seed "$SEED" --max-examples "$MAX_EXAMPLES" --max-time "$budget" --workers "$WORKERS" \
    --generation-database none \
    --header "X-Admin-Token: $ADMIN_TOKEN" \
    --request-timeout 10 --no-color --output-truncate true \
    --report junit,ndjson --report-dir "$REPORT_DIR/$name" "$@"
}

started=$SECONDS
set +e
fuzz_pass api "$MAX_TIME" --exclude-path-regex '^/admin/' "$@"
api_rc=$?
fuzz_pass admin "$ADMIN_MAX_TIME" --include-path-regex '^/admin/' "$@"
admin_rc=$?
set -e
stop_server
trap - EXIT

# 5xx answers are schemathesis failures already; an ERROR line also catches errors a
# request survived (a failed cache call logged as error, an exception in a background task).
errors=$(grep -c '"level": *"error"\|"level":"error"' "$server_log" || true)
echo "fuzz: schemathesis exit api=$api_rc admin=$admin_rc, $errors ERROR log lines, $((SECONDS - started)) s (seed $SEED)"
if [ "$errors" != 0 ]; then  # the first lines, without their (long) tracebacks
  grep '"level": *"error"\|"level":"error"' "$server_log" | head -5 | cut -c1-400 >&2
fi
[ "$api_rc" = 0 ] && [ "$admin_rc" = 0 ] && [ "$errors" = 0 ]
