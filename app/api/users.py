"""/api/v1/users: register, get, list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from app.api.deps import ResourcesDep, SessionDep
from app.schemas import UserCreate, UserOut, UserPage
from app.services import users

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", response_model=UserOut, status_code=201)
async def register_user(data: UserCreate, s: SessionDep, res: ResourcesDep) -> UserOut:
    try:
        return await users.register(s, res.cache, data)
    except users.EmailTaken:
        raise HTTPException(status_code=409, detail="email already registered") from None


@router.get("/{user_id}", response_model=UserOut)
async def get_user(user_id: int, s: SessionDep) -> UserOut:
    user = await users.get(s, user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="user not found")
    return user


@router.get("", response_model=UserPage)
async def list_users(
    s: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> UserPage:
    return UserPage(items=await users.list_page(s, limit, offset), limit=limit, offset=offset)
