"""Failure injection: admin auth, runtime switches, env start values, scope /api/v1 only."""

from __future__ import annotations

import asyncio

from helpers import ADMIN_TOKEN, count_above, sample

H = {"X-Admin-Token": ADMIN_TOKEN}


async def test_admin_requires_the_token(app_factory):
    async with app_factory() as r:
        assert (await r.client.get("/admin/faults")).status_code == 401
        assert (await r.client.get("/admin/faults", headers={"X-Admin-Token": "nope"})).status_code == 401
        assert (await r.client.get("/admin/faults", headers=H)).json() == {
            "error_rate_percent": 0.0,
            "latency_ms": 0,
            "slow_query_ms": 0,
        }
    async with app_factory(ADMIN_TOKEN="") as r:
        assert (await r.client.get("/admin/faults", headers=H)).status_code == 403


async def test_error_rate_switch_returns_500_on_api_routes_only(app_factory):
    async with app_factory() as r:
        put = await r.client.put("/admin/faults", json={"error_rate_percent": 100}, headers=H)
        assert put.json() == {"error_rate_percent": 100.0, "latency_ms": 0, "slow_query_ms": 0}
        before = sample("http_requests_total", {"method": "GET", "endpoint": "/api/v1/users", "status_code": "5xx"})
        resp = await r.client.get("/api/v1/users")
        assert resp.status_code == 500 and resp.json() == {"detail": "injected fault"}
        assert (
            sample("http_requests_total", {"method": "GET", "endpoint": "/api/v1/users", "status_code": "5xx"})
            == before + 1
        )
        assert (await r.client.get("/health")).status_code == 200
        assert (await r.client.get("/internal/ping")).status_code == 200
        await r.client.put("/admin/faults", json={}, headers=H)  # replaces all: back to zero
        assert (await r.client.get("/api/v1/users")).status_code == 200
        bad = await r.client.put("/admin/faults", json={"error_rate_percent": 101}, headers=H)
        assert bad.status_code == 422


async def test_latency_and_slow_query_switches(app_factory):
    async with app_factory() as r:
        await r.client.put("/admin/faults", json={"latency_ms": 150}, headers=H)
        labels = {"method": "GET", "endpoint": "/api/v1/users"}
        slow_before = count_above("http_request_duration_seconds", labels, "0.1")
        await r.client.get("/api/v1/users")
        slow_after = count_above("http_request_duration_seconds", labels, "0.1")
        assert slow_after == slow_before + 1

        await r.client.put("/admin/faults", json={"slow_query_ms": 300}, headers=H)
        q = {"operation": "SELECT", "table": "none"}
        over = count_above("db_query_duration_seconds", q, "0.25")
        assert (await r.client.get("/api/v1/users")).status_code == 200
        over_after = count_above("db_query_duration_seconds", q, "0.25")
        assert over_after == over + 1


async def test_env_sets_start_values(app_factory):
    async with app_factory(FAULT_ERROR_RATE_PERCENT=25, FAULT_LATENCY_MS=5, FAULT_SLOW_QUERY_MS=7) as r:
        assert (await r.client.get("/admin/faults", headers=H)).json() == {
            "error_rate_percent": 25.0,
            "latency_ms": 5,
            "slow_query_ms": 7,
        }


async def test_a_switch_set_on_one_replica_reaches_the_others(app_factory):
    # Two app processes on one Redis, as replicas behind a load balancer: a PUT reaches one.
    async with app_factory() as first, app_factory() as second:
        put = await first.client.put("/admin/faults", json={"latency_ms": 7}, headers=H)
        assert put.status_code == 200

        async def second_sees_it() -> bool:
            return (await second.client.get("/admin/faults", headers=H)).json()["latency_ms"] == 7

        deadline = asyncio.get_running_loop().time() + 5
        while not await second_sees_it():
            assert asyncio.get_running_loop().time() < deadline, "the second replica never adopted the switch"
            await asyncio.sleep(0.1)
        await first.client.put("/admin/faults", json={}, headers=H)
