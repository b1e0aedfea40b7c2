"""Process-wide resources, created in the lifespan and reached through app.state.res."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import structlog
from redis.asyncio import Redis
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.breaker import Breaker
from app.cache import Cache
from app.config import Settings
from app.db import is_outage
from app.faults import Faults

log = structlog.get_logger(__name__)
DB_BACKOFF_SECONDS = 1.0


class DatabaseUnavailable(Exception):
    """Answered with 503 by an exception handler."""


class Database:
    """Engine + sessions behind a circuit breaker (app/breaker.py): once a request has
    seen Postgres unreachable, requests answer 503 in microseconds for DB_BACKOFF_SECONDS
    instead of each waiting for a connect timeout; then one request probes.

    Every error that means "down, starting, recovering, out of connections" (db.is_outage)
    becomes DatabaseUnavailable, wherever it surfaces: connect, query, commit, or the
    rollback/close when the session ends. Anything else propagates unchanged. A pool
    timeout (all connections busy for DB_POOL_TIMEOUT_SECONDS) is a 503 for that request
    only: the server is up, and opening the breaker would turn a burst into a 1 s outage.
    """

    def __init__(
        self, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], backoff: float = DB_BACKOFF_SECONDS
    ) -> None:
        self.engine = engine
        self.sessions = sessions
        self.breaker = Breaker(backoff)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        probe = self.breaker.allow()
        if probe is None:
            raise DatabaseUnavailable()
        try:
            async with self.sessions() as s:
                yield s
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            if not is_outage(exc):
                if probe:
                    self.breaker.success()  # the server answered, even if with an error
                raise
            if isinstance(exc, sa_exc.TimeoutError):  # pool saturated, server fine: shed
                raise DatabaseUnavailable() from exc  # this request only, no breaker
            if self.breaker.failure():
                log.warning("database unavailable, answering 503", error=type(exc).__name__)
            raise DatabaseUnavailable() from exc
        else:
            if probe:
                self.breaker.success()
        finally:
            if probe:
                self.breaker.abandon()  # no-op after success/failure; hands over if cancelled


@dataclass
class Resources:
    settings: Settings
    db: Database
    redis: Redis
    cache: Cache
    http: httpx.AsyncClient
    faults: Faults
