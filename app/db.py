"""Database engine, session factory and ORM models (SQLAlchemy 2 asyncio + asyncpg)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Numeric, String, Text, func
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
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
    connect_args: dict = {"timeout": s.DB_CONNECT_TIMEOUT_SECONDS, "command_timeout": 30}
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
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)
