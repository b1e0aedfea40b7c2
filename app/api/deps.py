"""FastAPI dependencies: resources, DB sessions (with outage mapping), fault injection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.resources import DatabaseUnavailable, Resources
from app.schemas import PageQuery

# errors that mean "Postgres is not reachable", as opposed to a bug in a query
_OUTAGE = (OSError, TimeoutError, sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, _OUTAGE)


def resources(request: Request) -> Resources:
    return request.app.state.res


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    res: Resources = request.app.state.res
    probe = res.db.check()
    try:
        async with res.db.sessions() as s:
            try:
                slow_ms = res.faults.config.slow_query_ms
                if slow_ms:
                    await s.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": slow_ms / 1000})
                yield s
            except Exception as exc:
                if is_outage(exc):
                    res.db.mark_down()
                    raise DatabaseUnavailable() from exc
                raise
        if probe:
            res.db.mark_up()
    finally:
        if probe:
            res.db.end_probe()


async def inject_faults(request: Request) -> None:
    await request.app.state.res.faults.before_request()


ResourcesDep = Annotated[Resources, Depends(resources)]
SessionDep = Annotated[AsyncSession, Depends(session)]
PageDep = Annotated[PageQuery, Query()]
