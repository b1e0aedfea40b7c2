"""Failure injection: error rate, added latency and slow queries, switchable at runtime.

| switch             | effect on /api/v1/*                              | meant to fire (prometheus/rules)            |
|--------------------|--------------------------------------------------|---------------------------------------------|
| error_rate_percent | that share of requests answers 500               | HighErrorRate (> 5 %), AvailabilityErrorBudgetBurn |
| latency_ms         | sleeps that long before the handler runs         | HighLatencyP99 (>= 1000), LatencyErrorBudgetBurn |
| slow_query_ms      | one `SELECT pg_sleep()` per DB-backed request    | DatabaseQueriesSlow (p95 > 0.25 s: >= 300)  |

Start values come from FAULT_* env variables; GET/PUT /admin/faults changes them. Behind a load
balancer a PUT reaches one replica only, so the switches are shared through Redis: PUT stores
them under SHARED_KEY and every replica adopts the stored value within a second (`follow`).
While Redis is unreachable each replica keeps the switches it has.
"""

from __future__ import annotations

import asyncio
import random

import structlog
from pydantic import BaseModel, Field, ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.background import BackgroundLoop
from app.config import Settings
from app.schemas import JsonFloat, JsonInt


class FaultConfig(BaseModel):
    error_rate_percent: JsonFloat = Field(default=0.0, ge=0, le=100)
    latency_ms: JsonInt = Field(default=0, ge=0, le=60_000)
    slow_query_ms: JsonInt = Field(default=0, ge=0, le=60_000)

    @classmethod
    def from_settings(cls, s: Settings) -> FaultConfig:
        return cls(
            error_rate_percent=s.FAULT_ERROR_RATE_PERCENT,
            latency_ms=s.FAULT_LATENCY_MS,
            slow_query_ms=s.FAULT_SLOW_QUERY_MS,
        )


class InjectedFault(Exception):
    """Turned into a plain 500 response by an exception handler (not sent to Sentry)."""


SHARED_KEY = "faults:config"
log = structlog.get_logger(__name__)


class Faults:
    def __init__(self, config: FaultConfig, shared: Redis | None = None, poll_seconds: float = 1.0) -> None:
        self.config = config
        self._shared = shared  # a client of its own: not instrumented, so polling makes no spans
        self._poller = BackgroundLoop(self._poll, every=poll_seconds)
        self._failing = False

    async def set(self, config: FaultConfig) -> bool:
        """Applies the switches here and shares them; False when only this replica has them."""
        self.config = config
        if self._shared is None:
            return True
        try:
            await self._shared.set(SHARED_KEY, config.model_dump_json())
        except (RedisError, OSError):
            log.warning("fault switches set on this replica only: redis unreachable")
            return False
        return True

    def follow(self) -> None:
        """Starts adopting, once a poll period, the switches a PUT on any replica stored."""
        if self._shared is not None:
            self._poller.start()

    async def aclose(self) -> None:
        await self._poller.stop()

    async def _poll(self) -> bool:
        assert self._shared is not None
        try:
            raw = await self._shared.get(SHARED_KEY)
            if raw is not None:
                self.config = FaultConfig.model_validate_json(raw)
            if self._failing:
                log.info("fault switches shared again")
            self._failing = False
        except (RedisError, OSError, ValidationError) as exc:
            if not self._failing:  # one line per outage, not one per second
                log.warning("fault switches not shared: keeping these", error=type(exc).__name__)
            self._failing = True
        return True

    async def before_request(self) -> None:
        c = self.config
        if c.latency_ms:
            await asyncio.sleep(c.latency_ms / 1000)
        if c.error_rate_percent and random.random() * 100 < c.error_rate_percent:
            raise InjectedFault()
