"""Internal endpoint that the enrich call reaches by default (a second server span in the
same trace, joined through the W3C traceparent header)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/internal", tags=["internal"], include_in_schema=False)


@router.get("/price-hint/{item_id}")
async def price_hint(item_id: int) -> dict:
    return {"item_id": item_id, "suggested_discount_percent": (item_id * 7) % 30}


@router.get("/ping")
async def ping() -> dict:
    """Trivial endpoint for the overhead benchmark."""
    return {"pong": True}
