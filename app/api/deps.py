"""FastAPI dependencies: resources, DB sessions (with outage mapping), fault injection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.resources import Resources
from app.schemas import PageQuery


def resources(request: Request) -> Resources:
    return request.app.state.res


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session whose outage errors become DatabaseUnavailable (503): Database.session."""
    res: Resources = request.app.state.res
    async with res.db.session() as s:
        slow_ms = res.faults.config.slow_query_ms
        if slow_ms:
            await s.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": slow_ms / 1000})
        yield s


async def inject_faults(request: Request) -> None:
    await request.app.state.res.faults.before_request()


ResourcesDep = Annotated[Resources, Depends(resources)]
SessionDep = Annotated[AsyncSession, Depends(session)]
PageDep = Annotated[PageQuery, Query()]
