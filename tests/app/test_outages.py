"""Postgres crashes under write load: every answer is 2xx or a fast 503, and every
acknowledged write survives (real throwaway server, postmaster SIGKILLed, restarted)."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter

import asyncpg.exceptions as pg
import pytest
from infra import DedicatedPostgres
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.db import is_outage

# CRASH_TEST_CYCLES=5 CRASH_TEST_WRITES=1000 for a longer run than the default one
CYCLES = int(os.environ.get("CRASH_TEST_CYCLES", "1"))
WRITES_PER_PHASE = int(os.environ.get("CRASH_TEST_WRITES", "100"))


def _restart(server: DedicatedPostgres, timeout: float = 60.0) -> None:
    """Start again after the crash; orphaned backends may hold shared memory for a moment."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            server.start()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


async def test_crash_and_restart_under_write_load_loses_no_acknowledged_write(app_factory, dedicated_postgres):
    statuses: Counter[int] = Counter()
    acked: dict[int, str] = {}
    unexpected: list[tuple[int, str]] = []
    slow_503: list[float] = []
    stop = asyncio.Event()

    async with app_factory(DATABASE_URL=dedicated_postgres.url, DB_POOL_SIZE=5, DB_MAX_OVERFLOW=2) as r:
        # probe every 20 ms instead of every second, so requests do reach the server while
        # it is starting up and recovering (57P03), not only while it is gone
        r.app.state.res.db.breaker.backoff = 0.02

        async def writer(n: int) -> None:
            i = 0
            while not stop.is_set():
                name = f"w{n}-{i}"
                i += 1
                started = time.perf_counter()
                resp = await r.client.post("/api/v1/items", json={"name": name, "price": "1.00"})
                statuses[resp.status_code] += 1
                if 200 <= resp.status_code < 300:
                    acked[resp.json()["id"]] = name
                elif resp.status_code == 503:
                    if time.perf_counter() - started > 2.5:  # connect timeout 1 s + pool timeout
                        slow_503.append(time.perf_counter() - started)
                    await asyncio.sleep(0.01)
                else:
                    unexpected.append((resp.status_code, resp.text[:200]))

        async def until(predicate, timeout: float) -> None:
            deadline = time.monotonic() + timeout
            while not predicate():
                assert time.monotonic() < deadline, f"timed out; statuses so far {dict(statuses)}"
                await asyncio.sleep(0.05)

        writers = [asyncio.create_task(writer(n)) for n in range(8)]
        try:
            await until(lambda: len(acked) >= WRITES_PER_PHASE, 30)
            for _ in range(CYCLES):
                failed_before = statuses[503]
                await asyncio.to_thread(dedicated_postgres.crash)
                await until(lambda: statuses[503] >= failed_before + 20, 30)  # noqa: B023
                before_restart = len(acked)
                await asyncio.to_thread(_restart, dedicated_postgres)
                await until(lambda: len(acked) >= before_restart + WRITES_PER_PHASE, 60)  # noqa: B023 - healed
        finally:
            stop.set()
            await asyncio.gather(*writers)

    assert unexpected == [], f"only 2xx and 503 are allowed: {unexpected[:5]} (all: {dict(statuses)})"
    assert statuses[503] >= 20 and not slow_503, f"503s must be fast: {slow_503[:5]}"
    engine = create_async_engine(dedicated_postgres.url)
    async with engine.connect() as conn:
        stored = dict((await conn.execute(text("SELECT id, name FROM items"))).all())
    await engine.dispose()
    lost = {i: n for i, n in acked.items() if stored.get(i) != n}
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged writes are missing"
    print(f"crash test: {dict(statuses)}, {len(acked)} acknowledged writes, 0 lost")


def _wrapped(driver_error: Exception) -> sa_exc.DBAPIError:
    """The shape SQLAlchemy's asyncpg adapter produces: DBAPIError -> adapter error -> asyncpg."""
    adapter_error = Exception(str(driver_error))
    adapter_error.__cause__ = driver_error
    return sa_exc.DBAPIError("SELECT 1", None, adapter_error)


@pytest.mark.parametrize(
    "error",
    [
        pg.CannotConnectNowError("the database system is starting up"),
        pg.CannotConnectNowError("the database system is in recovery mode"),
        pg.AdminShutdownError("terminating connection due to administrator command"),
        pg.CrashShutdownError("terminating connection because of crash of another server process"),
        pg.TooManyConnectionsError("sorry, too many clients already"),
        pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        pg.ConnectionFailureError("connection failure"),
        pg.InterfaceError("cannot call Connection.fetch(): connection is closed"),
        pg.InternalClientError("cannot switch to state 15; another operation (2) is in progress"),
        ConnectionRefusedError(111, "Connect call failed"),
        ConnectionResetError(104, "Connection reset by peer"),
        OSError(113, "No route to host"),
        TimeoutError(),
        sa_exc.TimeoutError("QueuePool limit of size 5 overflow 2 reached, connection timed out"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_outage_errors_are_recognised_raw_and_wrapped(error):
    assert is_outage(error)
    assert is_outage(_wrapped(error))


@pytest.mark.parametrize(
    "error",
    [
        pg.UniqueViolationError("duplicate key value violates unique constraint"),
        pg.QueryCanceledError("canceling statement due to statement timeout"),
        pg.UndefinedColumnError('column "nope" does not exist'),
        pg.InterfaceError("cannot perform operation: another operation is in progress"),
        ValueError("not a database error"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_the_query_caused_are_not_outages(error):
    assert not is_outage(error)
    assert not is_outage(_wrapped(error))


async def test_pool_exhaustion_is_a_503_for_the_waiting_request_only(app_factory):
    from helpers import ADMIN_TOKEN

    async with app_factory(DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0, DB_POOL_TIMEOUT_SECONDS=0.2) as r:
        admin = {"X-Admin-Token": ADMIN_TOKEN}
        await r.client.put("/admin/faults", json={"slow_query_ms": 800}, headers=admin)
        holder = asyncio.create_task(r.client.get("/api/v1/users"))  # holds the one connection
        await asyncio.sleep(0.2)
        started = time.perf_counter()
        waiting = await r.client.get("/api/v1/users")
        assert waiting.status_code == 503 and waiting.json() == {"detail": "database unavailable"}
        assert time.perf_counter() - started < 0.6, "bounded by DB_POOL_TIMEOUT_SECONDS"
        assert (await holder).status_code == 200
        await r.client.put("/admin/faults", json={}, headers=admin)
        assert (await r.client.get("/api/v1/users")).status_code == 200, "no breaker trip for a busy pool"
