"""Request and response models (pydantic v2). Validation errors answer 422."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    email: str = Field(pattern=_EMAIL, max_length=320, examples=["ada@example.com"])
    full_name: str = Field(min_length=1, max_length=200)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    email: str
    full_name: str
    created_at: datetime


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    owner_id: int | None = Field(default=None, gt=0)


class ItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    price: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    owner_id: int | None = Field(default=None, gt=0)


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    description: str | None
    price: Decimal
    owner_id: int | None
    created_at: datetime
    updated_at: datetime


class Page(BaseModel):
    limit: int
    offset: int


class UserPage(Page):
    items: list[UserOut]


class ItemPage(Page):
    items: list[ItemOut]


class EnrichedItem(BaseModel):
    item: ItemOut
    price_hint: dict
