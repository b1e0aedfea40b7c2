"""Health and degradation with Postgres / Redis really stopped (dedicated instances)."""

from __future__ import annotations

import asyncio
import time

from helpers import sample


async def test_health_endpoints(app_factory):
    async with app_factory() as r:
        health = (await r.client.get("/health")).json()
        assert health == {
            "status": "ok",
            "service": "fastapi-app",
            "version": "1.0.0-test",
            "environment": "production",
        }
        assert (await r.client.get("/health/live")).json() == {"status": "alive"}
        ready = await r.client.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"]["postgres"]["status"] == "ok"
        assert ready.json()["checks"]["redis"]["status"] == "ok"


async def _until(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_redis_down_reads_fall_back_to_postgres_and_recover(app_factory, dedicated_redis):
    async with app_factory(REDIS_URL=dedicated_redis.url) as r:
        item = (await r.client.post("/api/v1/items", json={"name": "x", "price": "2.00"})).json()
        errors = sample("cache_errors_total", {"cache_type": "item"})
        dedicated_redis.stop()

        ready = await r.client.get("/health/ready")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "not_ready"
        assert body["checks"]["redis"]["status"] == "error" and body["checks"]["postgres"]["status"] == "ok"

        started = time.perf_counter()
        for _ in range(5):
            got = await r.client.get(f"/api/v1/items/{item['id']}")
            assert got.status_code == 200 and got.json()["name"] == "x"
        assert time.perf_counter() - started < 2.0
        assert sample("cache_errors_total", {"cache_type": "item"}) >= errors + 5

        dedicated_redis.start()

        async def recovered():
            ok = (await r.client.get("/health/ready")).status_code == 200
            hits = sample("cache_hits_total", {"cache_type": "item"})
            await r.client.get(f"/api/v1/items/{item['id']}")
            await r.client.get(f"/api/v1/items/{item['id']}")
            return ok and sample("cache_hits_total", {"cache_type": "item"}) > hits

        assert await _until(recovered), "the cache must come back by itself"


async def test_postgres_down_gives_fast_503_and_recovers(app_factory, dedicated_postgres):
    async with app_factory(DATABASE_URL=dedicated_postgres.url) as r:
        user = await r.client.post("/api/v1/users", json={"email": "p@example.com", "full_name": "P"})
        assert user.status_code == 201
        user_id = user.json()["id"]
        dedicated_postgres.stop()

        ready = await r.client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["postgres"]["status"] == "error"
        assert ready.json()["checks"]["redis"]["status"] == "ok"

        first = await r.client.get(f"/api/v1/users/{user_id}")
        assert first.status_code == 503 and first.json() == {"detail": "database unavailable"}
        durations = []
        for _ in range(20):
            started = time.perf_counter()
            resp = await r.client.get(f"/api/v1/users/{user_id}")
            durations.append(time.perf_counter() - started)
            assert resp.status_code == 503
        assert max(durations) < 0.25, f"503s must be fast once the pool knows: {max(durations):.3f}s"

        dedicated_postgres.start()

        async def recovered():
            return (await r.client.get(f"/api/v1/users/{user_id}")).status_code == 200

        assert await _until(recovered, 15), "the app must reconnect by itself"
        assert (await r.client.get("/health/ready")).status_code == 200


def test_breaker_lets_one_probe_through():
    from app.breaker import Breaker

    now = [100.0]
    breaker = Breaker(1.0, clock=lambda: now[0])
    assert breaker.allow() is False  # closed: go ahead, no probe
    assert breaker.failure() is True  # it was closed: the caller logs once
    assert breaker.allow() is None  # open: skip
    assert breaker.failure() is False  # already open: no second log line
    now[0] += 1.0  # back-off over
    assert breaker.allow() is True  # this caller probes
    assert breaker.allow() is None  # everyone else still skips meanwhile
    breaker.abandon()
    assert breaker.allow() is True  # a cancelled probe hands over to the next caller
    breaker.success()
    assert breaker.allow() is False and breaker.closed
