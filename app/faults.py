"""Failure injection: error rate, added latency and slow queries, switchable at runtime.

| switch             | effect on /api/v1/*                              | meant to fire (prometheus/rules)            |
|--------------------|--------------------------------------------------|---------------------------------------------|
| error_rate_percent | that share of requests answers 500               | HighErrorRate (> 5 %), AvailabilityErrorBudgetBurn |
| latency_ms         | sleeps that long before the handler runs         | HighLatencyP99 (>= 1000), LatencyErrorBudgetBurn |
| slow_query_ms      | one `SELECT pg_sleep()` per DB-backed request    | DatabaseQueriesSlow (p95 > 0.25 s: >= 300)  |

Start values come from FAULT_* env variables; GET/PUT /admin/faults changes them.
"""

from __future__ import annotations

import asyncio
import random

from pydantic import BaseModel, Field

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


class Faults:
    def __init__(self, config: FaultConfig) -> None:
        self.config = config

    async def before_request(self) -> None:
        c = self.config
        if c.latency_ms:
            await asyncio.sleep(c.latency_ms / 1000)
        if c.error_rate_percent and random.random() * 100 < c.error_rate_percent:
            raise InjectedFault()
