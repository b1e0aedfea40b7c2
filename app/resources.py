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
    """Engine + sessions + a short 'known down' window, so that once a request has seen
    Postgres unreachable the next ones fail in microseconds instead of each waiting for
    a connect timeout. The first request after the window tries again (self-healing)."""

    def __init__(self, engine: AsyncEngine, sessions: async_sessionmaker) -> None:
        self.engine = engine
        self.sessions = sessions
        self._down_until = 0.0

    def check(self) -> None:
        if time.monotonic() < self._down_until:
            raise DatabaseUnavailable()

    def mark_down(self) -> None:
        self._down_until = time.monotonic() + DB_BACKOFF_SECONDS


@dataclass
class Resources:
    settings: Settings
    db: Database
    redis: Redis
    cache: Cache
    http: httpx.AsyncClient
    faults: Faults
