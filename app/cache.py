"""Redis: item cache-aside and the active-users window. Fails open, never serves stale.

Redis down means reads go to Postgres and each skipped or failed cache call counts in
cache_errors_total. After an error a circuit breaker (app/breaker.py) skips Redis for a
short back-off, so an unreachable Redis costs no timeout per request; then one call
probes and the first success heals it.

Invalidation across a partition (Redis hung by SIGSTOP, or unreachable, while it keeps its
data): an update commits to Postgres, then must delete `item:{id}`. If that DEL cannot
run, the old value would be served again once Redis answers, until its TTL ends. So:

    invalidate(id) --> pending[id] = seq --> DEL pending keys --ok--> forget those entries
                                                    | fails / breaker open
                                                    v
                        kept in `pending`; retried by a background task every back-off,
                        and before *any* other Redis call of this process

Every cache call of this process first flushes `pending` and gives up (falls back to
Postgres) if that fails, so this process never reads a key it could not invalidate.
The sequence number makes a concurrent re-invalidation of the same id survive an earlier
flush. Bounded: past MAX_PENDING ids the whole `item:*` namespace is deleted instead.

What this cannot cover, and what bounds it (CACHE_TTL_SECONDS, 60 s by default):
- another replica reading the old value while *this* replica cannot reach Redis (it is
  partitioned, the others are not), or before this replica's next retry (one back-off
  after Redis answers again);
- this process dying with invalidations pending (they live in memory). A durable outbox
  (the pending ids written to Postgres in the update's transaction, drained by any
  replica) would close both at the cost of a write per update; a demo keeps the TTL.
- the classic cache-aside race, partition or not: a read that fetched the row before an
  update and stores it after that update's DEL. Closing it takes a version check on SET
  (e.g. a Lua script comparing updated_at) or short-lived tombstones written by DEL.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
import structlog
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from app.background import BackgroundLoop
from app.breaker import Breaker
from app.config import Settings
from app.observability.metrics import MetricsRecorder

log = structlog.get_logger(__name__)
T = TypeVar("T")
_BACKOFF_SECONDS = 1.0
ITEM_CACHE = "item"
ACTIVE_USERS = "active_users"
ACTIVE_USERS_KEY = "active_users"
MAX_PENDING = 10_000
_FAILED = (RedisError, OSError)


def make_redis(s: Settings) -> Redis:
    return Redis.from_url(
        s.REDIS_URL,
        socket_timeout=s.REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=s.REDIS_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 0),  # no hidden retries: a cache must answer fast or not at all
        health_check_interval=0,
    )


def item_key(item_id: int) -> str:
    return f"item:{item_id}"


class Cache:
    def __init__(
        self,
        redis: Redis,
        s: Settings,
        recorder: MetricsRecorder | None = None,  # None: metrics off
        backoff: float = _BACKOFF_SECONDS,
    ) -> None:
        self.redis = redis
        self.recorder = recorder
        self.ttl = s.CACHE_TTL_SECONDS
        self.active_window = s.ACTIVE_USER_WINDOW_SECONDS
        self.breaker = Breaker(backoff)
        self.pending: dict[int, int] = {}  # item id -> sequence number of its last invalidation
        self.pending_all = False  # too many ids: delete the whole item namespace
        self._seq = 0
        self._retry = BackgroundLoop(self._retry_round, every=backoff)

    async def _call(self, cache_type: str, op: Callable[[], Awaitable[T]]) -> tuple[bool, T | None]:
        """Run `op` through the breaker, after flushing pending invalidations.
        (False, None) when Redis was skipped or failed: the caller falls back."""
        probe = self.breaker.allow()
        if probe is None:
            self._count_error(cache_type)
            return False, None
        try:
            if self.pending or self.pending_all:
                await self._flush_pending()
            result = await op()
        except _FAILED as exc:
            self._count_error(cache_type)
            if self.breaker.failure():
                log.warning("cache unavailable, serving from the database", error=repr(exc), cache_type=cache_type)
            if self.pending or self.pending_all:
                self._retry_later()
            return False, None
        finally:
            if probe:
                self.breaker.abandon()  # cancelled probe: hand over; no-op otherwise
        if probe:
            self.breaker.success()
            log.info("cache available again")
        return True, result

    def _count_error(self, cache_type: str) -> None:
        if self.recorder is not None:
            self.recorder.cache_error(cache_type)

    # -- pending invalidations --------------------------------------------------------------
    async def _flush_pending(self) -> None:
        if self.pending_all:
            async for keys in _batches(self.redis.scan_iter(match="item:*", count=1000), 1000):
                await self.redis.unlink(*keys)
            self.pending_all = False
        if not self.pending:
            return
        snapshot = dict(self.pending)
        await self.redis.delete(*(item_key(i) for i in snapshot))
        for item_id, seq in snapshot.items():
            if self.pending.get(item_id) == seq:  # not invalidated again meanwhile
                del self.pending[item_id]

    def _retry_later(self) -> None:
        self._retry.start()

    async def _retry_round(self) -> bool:
        """Flushes pending invalidations as soon as Redis answers, even without traffic here
        (other replicas read the same keys); the loop ends when none are left."""
        await self._call(ITEM_CACHE, _noop)
        return bool(self.pending or self.pending_all)

    async def aclose(self) -> None:
        await self._retry.stop()
        await self.redis.aclose()

    # -- items: cache-aside ---------------------------------------------------------------
    async def get_item(self, item_id: int) -> dict[str, Any] | None:
        ok, raw = await self._call(ITEM_CACHE, lambda: self.redis.get(item_key(item_id)))
        if not ok:
            return None
        if self.recorder is not None:
            (self.recorder.cache_miss if raw is None else self.recorder.cache_hit)(ITEM_CACHE)
        if raw is None:
            return None
        value: dict[str, Any] = orjson.loads(raw)
        return value

    async def set_item(self, item_id: int, value: dict[str, Any]) -> None:
        await self._call(ITEM_CACHE, lambda: self.redis.set(item_key(item_id), orjson.dumps(value), ex=self.ttl))

    async def invalidate_item(self, item_id: int) -> None:
        self._seq += 1
        self.pending[item_id] = self._seq
        if len(self.pending) > MAX_PENDING:
            self.pending.clear()
            self.pending_all = True
        ok, _ = await self._call(ITEM_CACHE, _noop)  # the flush before the no-op is the DEL
        if not ok:
            self._retry_later()

    # -- active users: a sorted set of user id -> last seen ----------------------------------
    async def mark_active(self, user_id: int) -> None:
        await self._call(ACTIVE_USERS, lambda: self.redis.zadd(ACTIVE_USERS_KEY, {str(user_id): time.time()}))

    async def count_active(self) -> int | None:
        cutoff = time.time() - self.active_window

        async def count() -> int:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(ACTIVE_USERS_KEY, "-inf", cutoff)
                pipe.zcard(ACTIVE_USERS_KEY)
                _, n = await pipe.execute()
            return int(n)

        ok, n = await self._call(ACTIVE_USERS, count)
        return n if ok else None

    async def ping(self) -> bool:
        return bool(await self.redis.ping())


async def _noop() -> None:
    return None


async def _batches(keys: Any, size: int) -> Any:
    batch: list[Any] = []
    async for key in keys:
        batch.append(key)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
