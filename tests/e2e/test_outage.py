"""Real dependency outages: Postgres, then Redis, stopped and started again.

The app must answer fast 503s (never hang) while Postgres is gone and recover by itself;
the exporter's pg_up drops, PostgresDown fires and reaches the alert sink through
Alertmanager, and its resolved notification arrives after Postgres is back. With Redis gone,
reads are served from Postgres and counted as cache errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.support import REPO, stack
from tests.support.http import get_json, request
from tests.support.net import poll_until


def runner(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "tools.runner", *args], cwd=REPO, check=True, timeout=120)


def sink(alertname: str, status: str, since: float) -> list[dict]:
    got = get_json(f"{stack.SINK}/alerts", alertname=alertname, status=status)
    return [n for n in got if n["received_at"] >= since]


@pytest.fixture(scope="module")
def outage():
    status, body, _ = request("POST", f"{stack.APP}/api/v1/items", {"name": "outage", "price": 2})
    assert status == 201, body
    t0 = time.time()
    runner("stop", "postgres")
    try:
        yield t0
    finally:
        runner("start", "postgres", "--timeout", "90")


def test_app_answers_fast_503s_while_postgres_is_down(outage):
    for _ in range(5):
        started = time.monotonic()
        status, body, _ = request("GET", f"{stack.APP}/api/v1/items?limit=1", timeout=5)
        elapsed = time.monotonic() - started
        assert status == 503, body
        assert elapsed < 1.0, f"503 took {elapsed:.2f}s"
    status, body, _ = request("GET", f"{stack.APP}/health/ready")
    assert status == 503 and b'"postgres"' in body
    assert request("GET", f"{stack.APP}/health/live")[0] == 200


def test_postgres_down_alert_reaches_the_sink(outage):
    def firing():
        request("GET", f"{stack.APP}/api/v1/items?limit=1")
        return sink("PostgresDown", "firing", outage)

    got = poll_until("PostgresDown firing in the alert sink", firing, timeout=240, every=5)
    print(f"\nPostgresDown reached the sink {got[0]['received_at'] - outage:.0f}s after Postgres stopped")


def test_app_recovers_and_the_alert_resolves(outage):
    restarted = time.time()
    runner("start", "postgres", "--timeout", "90")
    poll_until("app ready again", lambda: request("GET", f"{stack.APP}/health/ready")[0] == 200, timeout=60, every=2)
    assert request("GET", f"{stack.APP}/api/v1/items?limit=1")[0] == 200
    got = poll_until(
        "PostgresDown resolved in the alert sink",
        lambda: sink("PostgresDown", "resolved", restarted),
        timeout=300,
        every=5,
    )
    print(f"\nPostgresDown resolved notification {got[0]['received_at'] - restarted:.0f}s after restart")


def test_redis_down_reads_come_from_postgres_and_count_as_cache_errors():
    status, body, _ = request("POST", f"{stack.APP}/api/v1/items", {"name": "cache-outage", "price": 3})
    assert status == 201, body
    item = json.loads(body)["id"]
    runner("stop", "redis")
    try:
        for _ in range(10):
            started = time.monotonic()
            status, body, _ = request("GET", f"{stack.APP}/api/v1/items/{item}", timeout=5)
            assert status == 200, body
            assert time.monotonic() - started < 1.0
        errors = poll_until(
            "cache_errors_total in Prometheus",
            lambda: stack.promql('sum(increase(cache_errors_total{job="fastapi-app"}[5m])) > 0'),
            timeout=60,
            every=2,
        )
        assert errors
    finally:
        runner("start", "redis", "--timeout", "60")
    poll_until("app ready again", lambda: request("GET", f"{stack.APP}/health/ready")[0] == 200, timeout=60, every=2)
