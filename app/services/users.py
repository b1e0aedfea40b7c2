"""User use-cases: register, get, list."""

from __future__ import annotations

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.business_metrics import USER_REGISTRATIONS
from app.cache import Cache
from app.db import User
from app.schemas import UserCreate

log = structlog.get_logger(__name__)


class EmailTaken(Exception):
    pass


async def register(session: AsyncSession, cache: Cache, data: UserCreate) -> User:
    user = User(email=data.email.lower(), full_name=data.full_name)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise EmailTaken() from exc
    USER_REGISTRATIONS.inc()
    await cache.mark_active(user.id)
    log.info("user registered", user_id=user.id)
    return user


async def get(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def list_page(session: AsyncSession, limit: int, offset: int) -> list[User]:
    rows = await session.scalars(select(User).order_by(User.id).limit(limit).offset(offset))
    return list(rows)
