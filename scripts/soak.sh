#!/usr/bin/env bash
# Soak (not a test, not in `make test`): one app process under steady mixed load plus random
# paths and methods; prints RSS and /metrics series over time and the RSS slope after warm-up.
#
#   scripts/soak.sh                      # 30 minutes
#   scripts/soak.sh --seconds 300        # or SOAK_SECONDS=300; make soak SOAK_SECONDS=300
#   SOAK_RPS=80 SOAK_MAX_SLOPE_KIB_PER_MIN=50 scripts/soak.sh   # fail above a slope
#
# Uses the native Postgres/Redis (scripts/dev-services.sh); DATABASE_URL and REDIS_URL pick the
# database and Redis index (default: the `app` database, Redis db 0). The rows it creates stay.
# Knobs and method: bench/soak.py.
set -euo pipefail
cd "$(dirname "$0")/.."

while [ $# -gt 0 ]; do
  case $1 in
    --seconds) SOAK_SECONDS=$2; shift 2 ;;
    --seconds=*) SOAK_SECONDS=${1#*=}; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "soak: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
export SOAK_SECONDS=${SOAK_SECONDS:-1800}

if command -v uv >/dev/null 2>&1; then UV_PYTHON_DOWNLOADS=never uv sync --frozen --all-groups --python 3.11 --quiet; fi
scripts/dev-services.sh start >/dev/null
export DATABASE_URL="${DATABASE_URL:-postgresql+asyncpg://app:app@127.0.0.1:5432/app}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
.venv/bin/python -m alembic upgrade head >/dev/null
exec .venv/bin/python bench/soak.py
