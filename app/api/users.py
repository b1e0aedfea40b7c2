"""/api/v1/users: register, get, list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from app.api.deps import PageDep, ResourcesDep, SessionDep
from app.api.problems import problems
from app.db import User
from app.schemas import Id, UserCreate, UserOut, UserPage
from app.services import users

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", response_model=UserOut, status_code=201, responses=problems(400, 409, 413))
async def register_user(data: UserCreate, s: SessionDep, res: ResourcesDep) -> User:
    try:
        return await users.register(s, res.cache, data)
    except users.EmailTaken:
        raise HTTPException(status_code=409, detail="email already registered") from None


@router.get("/{user_id}", response_model=UserOut, responses=problems(404))
async def get_user(user_id: Annotated[Id, Path()], s: SessionDep) -> User:
    user = await users.get(s, user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="user not found")
    return user


@router.get("", response_model=UserPage)
async def list_users(s: SessionDep, page: PageDep) -> UserPage:
    rows = await users.list_page(s, page.limit, page.offset)
    return UserPage.model_validate({"items": rows, **page.model_dump()}, from_attributes=True)
