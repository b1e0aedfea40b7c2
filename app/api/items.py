"""/api/v1/items: CRUD, paginated list, and an enrich endpoint with an outbound call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from app.api.deps import ResourcesDep, SessionDep
from app.schemas import EnrichedItem, ItemCreate, ItemOut, ItemPage, ItemUpdate
from app.services import items

router = APIRouter(prefix="/items", tags=["items"])
_NOT_FOUND = "item not found"
_NO_OWNER = "owner_id does not exist"


def _or_404(item: dict | None) -> dict:
    if item is None:
        raise HTTPException(status_code=404, detail=_NOT_FOUND)
    return item


@router.post("", response_model=ItemOut, status_code=201)
async def create_item(data: ItemCreate, s: SessionDep, res: ResourcesDep) -> dict:
    try:
        return await items.create(s, res.cache, data)
    except items.OwnerNotFound:
        raise HTTPException(status_code=422, detail=_NO_OWNER) from None


@router.get("/{item_id}", response_model=ItemOut)
async def get_item(item_id: int, s: SessionDep, res: ResourcesDep) -> dict:
    return _or_404(await items.get(s, res.cache, item_id))


@router.put("/{item_id}", response_model=ItemOut)
async def update_item(
    item_id: int,
    data: ItemUpdate,
    s: SessionDep,
    res: ResourcesDep,
) -> dict:
    try:
        item = await items.update(s, res.cache, item_id, data)
    except items.OwnerNotFound:
        raise HTTPException(status_code=422, detail=_NO_OWNER) from None
    return _or_404(item)


@router.delete("/{item_id}", status_code=204)
async def delete_item(item_id: int, s: SessionDep, res: ResourcesDep) -> Response:
    if not await items.delete(s, res.cache, item_id):
        raise HTTPException(status_code=404, detail=_NOT_FOUND)
    return Response(status_code=204)


@router.get("", response_model=ItemPage)
async def list_items(
    s: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ItemPage:
    return ItemPage(items=await items.list_page(s, limit, offset), limit=limit, offset=offset)


@router.get("/{item_id}/enrich", response_model=EnrichedItem)
async def enrich_item(item_id: int, s: SessionDep, res: ResourcesDep) -> EnrichedItem:
    item = _or_404(await items.get(s, res.cache, item_id))
    base = res.settings.ENRICH_URL or f"http://127.0.0.1:{res.settings.PORT}"
    try:
        hint = await items.price_hint(res.http, base, item_id)
    except items.UpstreamFailed:
        raise HTTPException(status_code=502, detail="price hint service failed") from None
    return EnrichedItem(item=item, price_hint=hint)
