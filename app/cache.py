"""Redis: item cache-aside and the active-users window. Fails open.

Redis down means reads go to Postgres and each skipped or failed cache call counts in
cache_errors_total. After an error the cache is skipped for a short back-off, so an
unreachable Redis costs no timeout per request; then it is tried again (self-healing).
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import structlog
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from app.config import Settings
from app.observability import metrics

log = structlog.get_logger(__name__)
_BACKOFF_SECONDS = 1.0
ITEM_CACHE = "item"
ACTIVE_USERS_KEY = "active_users"


def make_redis(s: Settings) -> Redis:
    return Redis.from_url(
        s.REDIS_URL,
        socket_timeout=s.REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=s.REDIS_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 0),  # no hidden retries: a cache must answer fast or not at all
        health_check_interval=0,
    )


class Cache:
    def __init__(self, redis: Redis, s: Settings) -> None:
        self.redis = redis
        self.ttl = s.CACHE_TTL_SECONDS
        self.active_window = s.ACTIVE_USER_WINDOW_SECONDS
        self._down_until = 0.0

    def _available(self, cache_type: str) -> bool:
        if time.monotonic() < self._down_until:
            metrics.cache_error(cache_type)
            return False
        return True

    def _failed(self, cache_type: str, exc: Exception) -> None:
        metrics.cache_error(cache_type)
        if time.monotonic() >= self._down_until:  # log once per back-off window
            log.warning("cache unavailable, serving from the database", error=repr(exc), cache_type=cache_type)
        self._down_until = time.monotonic() + _BACKOFF_SECONDS

    # -- items: cache-aside ---------------------------------------------------------------
    async def get_item(self, item_id: int) -> dict[str, Any] | None:
        if not self._available(ITEM_CACHE):
            return None
        try:
            raw = await self.redis.get(f"item:{item_id}")
        except (RedisError, OSError) as exc:
            self._failed(ITEM_CACHE, exc)
            return None
        if raw is None:
            metrics.cache_miss(ITEM_CACHE)
            return None
        metrics.cache_hit(ITEM_CACHE)
        return orjson.loads(raw)

    async def set_item(self, item_id: int, value: dict[str, Any]) -> None:
        if not self._available(ITEM_CACHE):
            return
        try:
            await self.redis.set(f"item:{item_id}", orjson.dumps(value), ex=self.ttl)
        except (RedisError, OSError) as exc:
            self._failed(ITEM_CACHE, exc)

    async def invalidate_item(self, item_id: int) -> None:
        if not self._available(ITEM_CACHE):
            return  # the TTL bounds staleness if Redis comes back with the old value
        try:
            await self.redis.delete(f"item:{item_id}")
        except (RedisError, OSError) as exc:
            self._failed(ITEM_CACHE, exc)

    # -- active users: a sorted set of user id -> last seen ----------------------------------
    async def mark_active(self, user_id: int) -> None:
        if not self._available("active_users"):
            return
        try:
            await self.redis.zadd(ACTIVE_USERS_KEY, {str(user_id): time.time()})
        except (RedisError, OSError) as exc:
            self._failed("active_users", exc)

    async def count_active(self) -> int | None:
        if not self._available("active_users"):
            return None
        cutoff = time.time() - self.active_window
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(ACTIVE_USERS_KEY, "-inf", cutoff)
                pipe.zcard(ACTIVE_USERS_KEY)
                _, count = await pipe.execute()
        except (RedisError, OSError) as exc:
            self._failed("active_users", exc)
            return None
        return int(count)

    async def ping(self) -> bool:
        return bool(await self.redis.ping())
