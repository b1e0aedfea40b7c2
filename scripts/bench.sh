#!/usr/bin/env bash
# Overhead benchmark (not a test): instrumentation on vs OBSERVABILITY_ENABLED=false and
# per-signal switches, one uvicorn worker, wrk on loopback; then the cost of one log event.
#
#   scripts/bench.sh                       # about 6 minutes with the defaults
#   BENCH_DURATION=10 BENCH_ROUNDS=9 scripts/bench.sh
#   BENCH_CONFIGS=bare,full scripts/bench.sh
#   BENCH_IN_PROCESS=1 scripts/bench.sh    # also bench/asgi_cost.py (+2.5 min): paired,
#                                          # in-process overhead per signal, steadier
#   BENCH_INSTRUCTIONS=1 scripts/bench.sh  # also bench/instructions.py (+4 min, valgrind):
#                                          # instructions per request, no noise at all
#
# Uses the native Postgres/Redis (scripts/dev-services.sh) and the `app` database.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { echo "bench: wrk not found (apt-get install wrk)" >&2; exit 1; }
if command -v uv >/dev/null 2>&1; then UV_PYTHON_DOWNLOADS=never uv sync --frozen --all-groups --python 3.11 --quiet; fi
scripts/dev-services.sh start >/dev/null
export DATABASE_URL="${DATABASE_URL:-postgresql+asyncpg://app:app@127.0.0.1:5432/app}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
.venv/bin/python -m alembic upgrade head >/dev/null 2>&1
.venv/bin/python -m bench.run
echo
echo "cost of one log event (in-process, real processor chain):"
.venv/bin/python -m bench.log_cost
if [ "${BENCH_IN_PROCESS:-0}" = 1 ]; then
  echo
  .venv/bin/python -m bench.asgi_cost
fi
if [ "${BENCH_INSTRUCTIONS:-0}" = 1 ]; then
  command -v valgrind >/dev/null || { echo "bench: valgrind not found (apt-get install valgrind)" >&2; exit 1; }
  for path in /internal/ping /api/v1/users/1; do
    echo
    .venv/bin/python bench/instructions.py "$path" 200
  done
fi
