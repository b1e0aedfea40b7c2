"""/api/v1/items: CRUD, paginated list, and an enrich endpoint with an outbound call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response

from app.api.deps import PageDep, ResourcesDep, SessionDep
from app.api.problems import problems
from app.schemas import EnrichedItem, Id, ItemCreate, ItemOut, ItemPage, ItemUpdate
from app.services import items

router = APIRouter(prefix="/items", tags=["items"])
_NOT_FOUND = "item not found"
_NO_OWNER = "owner_id does not exist"
ItemId = Annotated[Id, Path()]


def _or_404(item: dict | None) -> dict:
    if item is None:
        raise HTTPException(status_code=404, detail=_NOT_FOUND)
    return item


@router.post("", response_model=ItemOut, status_code=201, responses=problems(400, 409, 413))
async def create_item(data: ItemCreate, s: SessionDep, res: ResourcesDep) -> dict:
    try:
        return await items.create(s, res.cache, data)
    except items.OwnerNotFound:
        # a well-formed request that conflicts with the current state (no such user)
        raise HTTPException(status_code=409, detail=_NO_OWNER) from None


@router.get("/{item_id}", response_model=ItemOut, responses=problems(404))
async def get_item(item_id: ItemId, s: SessionDep, res: ResourcesDep) -> dict:
    return _or_404(await items.get(s, res.cache, item_id))


@router.put("/{item_id}", response_model=ItemOut, responses=problems(400, 404, 409, 413))
async def update_item(item_id: ItemId, data: ItemUpdate, s: SessionDep, res: ResourcesDep) -> dict:
    try:
        item = await items.update(s, res.cache, item_id, data)
    except items.OwnerNotFound:
        raise HTTPException(status_code=409, detail=_NO_OWNER) from None
    return _or_404(item)


@router.delete("/{item_id}", status_code=204, responses=problems(404))
async def delete_item(item_id: ItemId, s: SessionDep, res: ResourcesDep) -> Response:
    if not await items.delete(s, res.cache, item_id):
        raise HTTPException(status_code=404, detail=_NOT_FOUND)
    return Response(status_code=204)


@router.get("", response_model=ItemPage)
async def list_items(s: SessionDep, page: PageDep) -> ItemPage:
    rows = await items.list_page(s, page.limit, page.offset)
    return ItemPage.model_validate({"items": rows, **page.model_dump()})


@router.get("/{item_id}/enrich", response_model=EnrichedItem, responses=problems(404, 502))
async def enrich_item(item_id: ItemId, s: SessionDep, res: ResourcesDep) -> EnrichedItem:
    item = _or_404(await items.get(s, res.cache, item_id))
    base = res.settings.ENRICH_URL or f"http://127.0.0.1:{res.settings.PORT}"
    try:
        hint = await items.price_hint(res.http, base, item_id)
    except items.UpstreamFailed:
        raise HTTPException(status_code=502, detail="price hint service failed") from None
    return EnrichedItem.model_validate({"item": item, "price_hint": hint})
