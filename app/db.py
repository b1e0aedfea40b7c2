"""Database engine, session factory, ORM models (SQLAlchemy 2 asyncio + asyncpg), and the
one rule that tells an outage from a bad query."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg.exceptions as pg  # type: ignore[import-untyped]
from sqlalchemy import DateTime, ForeignKey, Numeric, String, Text, func
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.config import Settings


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Item(Base):
    __tablename__ = "items"
    __mapper_args__ = {"eager_defaults": True}  # RETURNING fetches updated_at: no extra SELECT

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


def make_engine(s: Settings) -> AsyncEngine:
    connect_args: dict[str, Any] = {"timeout": s.DB_CONNECT_TIMEOUT_SECONDS, "command_timeout": 30}
    if s.DB_STATEMENT_TIMEOUT_MS:
        connect_args["server_settings"] = {"statement_timeout": str(s.DB_STATEMENT_TIMEOUT_MS)}
    return create_async_engine(
        s.DATABASE_URL,
        pool_size=s.DB_POOL_SIZE,
        max_overflow=s.DB_MAX_OVERFLOW,
        pool_timeout=s.DB_POOL_TIMEOUT_SECONDS,
        pool_pre_ping=False,  # a dead connection fails fast and is replaced
        pool_recycle=1800,
        connect_args=connect_args,
        # SQL parameters (e-mails, names) never go into exception messages, so they cannot
        # reach a traceback in the log, a span event or a Sentry event
        hide_parameters=True,
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# Server-side SQLSTATEs that mean "not reachable right now", whatever the query:
#   08xxx connection exception (refused, lost, "connection does not exist")
#   57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now ("the database
#         system is starting up" / "is in recovery mode" / "is shutting down")
#   53300 too many connections, 53000 insufficient resources (fork failed)
_OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300", "53000"})
# Client-side: the socket is gone (refused, reset, timed out) or asyncpg saw it close;
# sa_exc.TimeoutError is the pool's "no free connection within pool_timeout".
_OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionRefusedError, ConnectionResetError, gaierror, ...
    TimeoutError,  # connect timeout (asyncio.TimeoutError is the same class since 3.11)
    asyncio.TimeoutError,
    sa_exc.TimeoutError,
    pg.PostgresConnectionError,  # 08xxx, ConnectionDoesNotExistError included
    pg.OperatorInterventionError,  # 57xxx except QueryCanceled (excluded below)
    pg.InsufficientResourcesError,  # 53xxx
    # asyncpg's protocol left mid-operation ("cannot switch to state ..."): seen when the
    # server dies during a query (crash test). Sharing one connection between tasks, a bug,
    # ends here too and becomes a 503 instead of a 500; it is still not the input's fault.
    pg.InternalClientError,
)


def is_outage(exc: BaseException) -> bool:
    """True when `exc` means Postgres is down, starting, recovering or out of connections
    (answer 503 and trip the breaker); False for errors the query or its input caused.

    SQLAlchemy wraps driver errors (DBAPIError.orig, then the asyncpg error as __cause__)
    but lets connect-time errors through raw, so the whole chain is inspected. Statement
    timeouts (57014) are not outages: the server answered.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, pg.QueryCanceledError):
            return False
        if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, _OUTAGE_TYPES):
            return True
        if isinstance(e, pg.InterfaceError) and "connection is closed" in str(e):
            return True
        state = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        if isinstance(state, str) and (state.startswith("08") or state in _OUTAGE_SQLSTATES):
            return True
        todo += [getattr(e, "orig", None), e.__cause__]
    return False
