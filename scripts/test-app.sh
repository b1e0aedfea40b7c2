#!/usr/bin/env bash
# Run the app's tests (tests/app) against a real Postgres and a real Redis.
#
#   scripts/test-app.sh [pytest args...]
#
# With a Docker engine (`docker info` answers): throwaway postgres/redis containers on
# random loopback ports, removed on exit. Without one (CI, this machine): the native
# services from scripts/dev-services.sh, started if they are not up.
# Under CI=true a missing service fails the run; it is never skipped.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 2

env_value() { grep -E "^$1=" .env 2>/dev/null | tail -1 | cut -d= -f2-; }
free_port() { .venv/bin/python -c 'from tests.support.net import free_port; print(free_port())'; }

export UV_PYTHON_DOWNLOADS=never
if command -v uv >/dev/null 2>&1; then
  uv sync --frozen --all-groups --python 3.11 --quiet
elif [ ! -x .venv/bin/python ]; then
  echo "test-app: neither uv nor .venv found (pip install uv; uv sync --frozen)" >&2
  exit 1
fi

containers=()
cleanup() {
  if [ "${#containers[@]}" -gt 0 ]; then docker rm -f "${containers[@]}" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

if docker info >/dev/null 2>&1; then
  pg_image="postgres:$(env_value POSTGRES_VERSION || true)"; [ "$pg_image" = "postgres:" ] && pg_image=postgres:15
  redis_image="redis:$(env_value REDIS_VERSION || true)"; [ "$redis_image" = "redis:" ] && redis_image=redis:7
  pg_port=$(free_port); redis_port=$(free_port)
  echo "test-app: Docker engine found: throwaway $pg_image on :$pg_port, $redis_image on :$redis_port"
  containers+=("$(docker run -d --rm -e POSTGRES_USER=app -e POSTGRES_PASSWORD=app -e POSTGRES_DB=app_test \
    -p "127.0.0.1:$pg_port:5432" "$pg_image")")
  containers+=("$(docker run -d --rm -p "127.0.0.1:$redis_port:6379" "$redis_image")")
  for _ in $(seq 1 120); do
    docker exec "${containers[0]}" pg_isready -U app -d app_test -h 127.0.0.1 >/dev/null 2>&1 && break
    sleep 0.5
  done
  export TEST_DATABASE_URL="postgresql+asyncpg://app:app@127.0.0.1:$pg_port/app_test"
  export TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
  export TEST_POSTGRES_IMAGE="$pg_image" TEST_REDIS_IMAGE="$redis_image"
else
  echo "test-app: no Docker engine: using native Postgres/Redis (scripts/dev-services.sh)"
  scripts/dev-services.sh start
  export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgresql+asyncpg://app:app@127.0.0.1:${PG_PORT:-5432}/app_test}"
  export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:${REDIS_PORT:-6379}/15}"
fi

.venv/bin/python -m pytest tests/app "$@"
