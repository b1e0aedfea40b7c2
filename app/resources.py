"""Process-wide resources, created in the lifespan and reached through app.state.res."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.cache import Cache
from app.config import Settings
from app.faults import Faults

DB_BACKOFF_SECONDS = 1.0


class DatabaseUnavailable(Exception):
    """Answered with 503 by an exception handler."""


class Database:
    """Engine + sessions + a small circuit breaker: once a request has seen Postgres
    unreachable, requests fail in microseconds for DB_BACKOFF_SECONDS instead of each
    waiting for a connect timeout; then one request at a time probes, and the first
    success closes the breaker again (self-healing)."""

    def __init__(self, engine: AsyncEngine, sessions: async_sessionmaker) -> None:
        self.engine = engine
        self.sessions = sessions
        self._down_until = 0.0  # 0: closed (healthy)
        self._probing = False

    def check(self) -> bool:
        """Raise DatabaseUnavailable while open; return True if this request is the probe."""
        if not self._down_until:
            return False
        if self._probing or time.monotonic() < self._down_until:
            raise DatabaseUnavailable()
        self._probing = True
        return True

    def mark_down(self) -> None:
        self._down_until = time.monotonic() + DB_BACKOFF_SECONDS
        self._probing = False

    def mark_up(self) -> None:
        self._down_until = 0.0
        self._probing = False

    def end_probe(self) -> None:
        self._probing = False  # a probe that neither failed nor succeeded (cancelled)


@dataclass
class Resources:
    settings: Settings
    db: Database
    redis: Redis
    cache: Cache
    http: httpx.AsyncClient
    faults: Faults
