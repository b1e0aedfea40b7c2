"""Item use-cases. Reads are cache-aside in Redis; writes invalidate."""

from __future__ import annotations

from typing import Any

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.cache import Cache
from app.db import Item
from app.schemas import ItemCreate, ItemOut, ItemUpdate

log = structlog.get_logger(__name__)


class OwnerNotFound(Exception):
    pass


class UpstreamFailed(Exception):
    pass


def _out(item: Item) -> dict[str, Any]:
    return ItemOut.model_validate(item).model_dump(mode="json")


async def create(session: AsyncSession, cache: Cache, data: ItemCreate) -> dict[str, Any]:
    item = Item(**data.model_dump())
    session.add(item)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise OwnerNotFound() from exc
    if item.owner_id is not None:
        await cache.mark_active(item.owner_id)
    return _out(item)


async def get(session: AsyncSession, cache: Cache, item_id: int) -> dict[str, Any] | None:
    cached = await cache.get_item(item_id)
    if cached is not None:
        return cached
    item = await session.get(Item, item_id)
    if item is None:
        return None
    value = _out(item)
    await cache.set_item(item_id, value)
    return value


async def update(session: AsyncSession, cache: Cache, item_id: int, data: ItemUpdate) -> dict[str, Any] | None:
    item = await session.get(Item, item_id)
    if item is None:
        return None
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise OwnerNotFound() from exc
    await cache.invalidate_item(item_id)
    if item.owner_id is not None:
        await cache.mark_active(item.owner_id)
    return _out(item)


async def delete(session: AsyncSession, cache: Cache, item_id: int) -> bool:
    item = await session.get(Item, item_id)
    if item is None:
        return False
    await session.delete(item)
    await session.commit()
    await cache.invalidate_item(item_id)
    return True


async def list_page(session: AsyncSession, limit: int, offset: int) -> list[dict[str, Any]]:
    rows = await session.scalars(select(Item).order_by(Item.id).limit(limit).offset(offset))
    return [_out(item) for item in rows]


async def price_hint(http: httpx.AsyncClient, base_url: str, item_id: int) -> dict[str, Any]:
    """Outbound call (client span + traceparent) to a configurable URL."""
    try:
        response = await http.get(f"{base_url.rstrip('/')}/internal/price-hint/{item_id}")
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("price hint call failed", error=repr(exc), item_id=item_id)
        raise UpstreamFailed() from exc
