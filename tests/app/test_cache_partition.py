"""An update made while Redis hangs (SIGSTOP: it keeps its data and its connections) is
never followed by a stale read once Redis answers again (SIGCONT), neither from this
process nor, after one back-off, from another replica reading the same key."""

from __future__ import annotations

import asyncio
import time

import orjson
from helpers import sample
from infra import DedicatedRedis
from redis.asyncio import Redis


async def _hang_and_update(r, server: DedicatedRedis, item_id: int) -> None:
    """Redis hangs; a read trips the breaker; the update's invalidation cannot reach Redis."""
    server.pause()
    try:
        during = await r.client.get(f"/api/v1/items/{item_id}")
        assert during.status_code == 200 and during.json()["name"] == "old"  # from Postgres
        started = time.perf_counter()
        put = await r.client.put(f"/api/v1/items/{item_id}", json={"name": "new"})
        assert put.status_code == 200 and put.json()["name"] == "new"
        assert time.perf_counter() - started < 1.0, "a hung cache must not hold up writes"
        again = await r.client.get(f"/api/v1/items/{item_id}")
        assert again.json()["name"] == "new"
    finally:
        server.resume()


async def _cached_item(r, redis: Redis) -> int:
    item = (await r.client.post("/api/v1/items", json={"name": "old", "price": "1.00"})).json()
    await r.client.get(f"/api/v1/items/{item['id']}")  # miss: fills the cache
    assert orjson.loads(await redis.get(f"item:{item['id']}"))["name"] == "old"
    return item["id"]


async def test_no_stale_read_from_this_process_after_redis_hung(app_factory, dedicated_redis):
    redis = Redis.from_url(dedicated_redis.url)
    async with app_factory(REDIS_URL=dedicated_redis.url) as r:
        item_id = await _cached_item(r, redis)
        await _hang_and_update(r, dedicated_redis, item_id)

        # every read from now on is the new value, until the cache serves hits again
        hits = sample("cache_hits_total", {"cache_type": "item"})
        deadline = time.monotonic() + 10
        reads = 0
        while sample("cache_hits_total", {"cache_type": "item"}) <= hits:
            assert time.monotonic() < deadline, "the cache must come back by itself"
            got = await r.client.get(f"/api/v1/items/{item_id}")
            reads += 1
            assert got.status_code == 200 and got.json()["name"] == "new", f"stale read #{reads}"
            await asyncio.sleep(0.05)
        assert reads > 1
    await redis.aclose()


async def test_pending_invalidation_reaches_redis_without_further_traffic(app_factory, dedicated_redis):
    """Another replica reads Redis directly: the old value must disappear by itself."""
    redis = Redis.from_url(dedicated_redis.url)
    async with app_factory(REDIS_URL=dedicated_redis.url) as r:
        item_id = await _cached_item(r, redis)
        await _hang_and_update(r, dedicated_redis, item_id)
        assert r.app.state.res.cache.pending, "the invalidation waits for Redis"

        deadline = time.monotonic() + 5
        while (raw := await redis.get(f"item:{item_id}")) is not None and orjson.loads(raw)["name"] == "old":
            assert time.monotonic() < deadline, "the pending invalidation was never retried"
            await asyncio.sleep(0.05)
        assert not r.app.state.res.cache.pending
    await redis.aclose()


async def test_too_many_pending_invalidations_clear_the_whole_namespace(app_factory, dedicated_redis, monkeypatch):
    from app import cache as cache_module

    monkeypatch.setattr(cache_module, "MAX_PENDING", 2)
    redis = Redis.from_url(dedicated_redis.url)
    async with app_factory(REDIS_URL=dedicated_redis.url) as r:
        ids = [await _cached_item(r, redis) for _ in range(3)]
        c = r.app.state.res.cache
        c.breaker.failure()  # as if Redis had just failed: invalidations stay pending
        for i in ids:
            await c.invalidate_item(i)
        assert c.pending_all and not c.pending
        c.breaker.success()
        await c.get_item(ids[0])
        assert not c.pending_all
        assert [await redis.get(f"item:{i}") for i in ids] == [None, None, None]
    await redis.aclose()
