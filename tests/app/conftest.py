"""Fixtures: real Postgres and Redis, migrated schema, an app factory with in-memory spans,
servers of a test's own to stop, crash or pause, and a local Sentry DSN sink."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import sentry_sdk
from helpers import DATABASE_URL, REDIS_URL, alembic, base_settings, running_app
from infra import DedicatedPostgres, DedicatedRedis
from stub_server import Recorder

from tests.support.ci import missing
from tests.support.net import port_open


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url.replace("+asyncpg", ""))
    return port_open(parsed.port or default_port, parsed.hostname or "127.0.0.1")


@pytest.fixture(scope="session")
def services() -> dict[str, str]:
    if not _reachable(DATABASE_URL, 5432):
        missing(f"Postgres not reachable at {DATABASE_URL} (run scripts/test-app.sh)")
    if not _reachable(REDIS_URL, 6379):
        missing(f"Redis not reachable at {REDIS_URL} (run scripts/test-app.sh)")
    return {"database_url": DATABASE_URL, "redis_url": REDIS_URL}


@pytest.fixture(scope="session")
def migrated(services: dict[str, str]) -> dict[str, str]:
    result = alembic(services["database_url"], "upgrade", "head")
    assert result.returncode == 0, result.stderr
    return services


@pytest.fixture
async def clean(migrated: dict[str, str]) -> AsyncIterator[None]:
    from redis.asyncio import Redis
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(migrated["database_url"])
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE items, users RESTART IDENTITY CASCADE"))
    await engine.dispose()
    redis = Redis.from_url(migrated["redis_url"])
    await redis.flushdb()
    await redis.aclose()
    yield


@pytest.fixture
async def app_factory(clean: None, tmp_path: Path):
    """`async with app_factory(**settings) as r:` -> Running (client, spans, logs)."""

    def factory(extend=None, **overrides: Any):
        return running_app(base_settings(tmp_path, **overrides), extend=extend)

    return factory


@pytest.fixture
def dedicated_redis():
    """A Redis of this test's own: stop(), start(), pause() (SIGSTOP) and resume() are safe."""
    redis = DedicatedRedis()
    redis.start()
    yield redis
    redis.resume()
    redis.remove()


@pytest.fixture
def dedicated_postgres():
    """A migrated Postgres of this test's own: stop(), start() and crash() are safe."""
    pg = DedicatedPostgres()
    pg.start()
    result = alembic(pg.url, "upgrade", "head")
    assert result.returncode == 0, result.stderr
    yield pg
    pg.remove()


@pytest.fixture
def sentry_sink():
    """A local Sentry DSN endpoint that records what the real SDK sends."""
    recorder = Recorder().start()
    yield recorder
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)
    recorder.stop()
