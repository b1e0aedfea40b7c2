"""Request and response models (pydantic v2).

Every bound here is the storage's bound, so a value that passes validation is one that
Postgres can store and a value it cannot store is a 422 with a clear message, never a
500 from the driver:

| value                  | storage                     | accepted                                 |
|------------------------|-----------------------------|------------------------------------------|
| users.id, items.id,    | integer (int4)              | 1 .. 2**31-1 (path ids and owner_id)     |
| items.owner_id         |                             |                                          |
| OFFSET                 | bigint                      | 0 .. 2**63-1                             |
| LIMIT                  | (page size)                 | 1 .. PAGE_MAX                            |
| text columns           | UTF-8 text, no NUL (0x00)   | no NUL; lone surrogates fail as invalid  |
|                        |                             | unicode; lengths = the varchar lengths   |
| items.price            | numeric(12, 2)              | 0 .. 9999999999.99: a decimal string, or |
|                        |                             | a finite JSON number rounded to cents    |

The JSON schema of each field says exactly what the validator accepts (no whitespace
stripping or lax coercion behind the document's back), so a generated valid request is
accepted and a generated invalid one is rejected (scripts/fuzz.sh checks both).
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from pydantic import AllowInfNan, BaseModel, BeforeValidator, ConfigDict, Field, Strict, WithJsonSchema

INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1
PAGE_MAX = 100


def _integral(value: Any) -> Any:
    # JSON has one number type: 3.0 is the integer 3 (JSON Schema agrees), 3.5 is not.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Numbers in JSON bodies: no coercion from "5" or true (pydantic's lax mode would take
# them, the JSON schema says integer/number), and no NaN or Infinity. (Bounds go into
# the same Field(), not a second Annotated layer, or the JSON schema loses them.)
JsonInt = Annotated[int, BeforeValidator(_integral), Strict()]
JsonFloat = Annotated[float, Strict(), AllowInfNan(False)]

# Primary and foreign keys: Postgres `integer` (migrations/versions/0001_initial.py).
# Id is for path parameters (text on the wire); BodyId for ids inside JSON bodies.
Id = Annotated[int, Field(ge=1, le=INT4_MAX)]
BodyId = Annotated[int, Field(ge=1, le=INT4_MAX, strict=True), BeforeValidator(_integral)]

# Text Postgres can store: no NUL anywhere. (Lone surrogates never get this far: pydantic
# rejects them as invalid unicode.) "Not blank" = at least one character that is not an
# ASCII space or control whitespace; spelled out instead of \s because \s differs
# between the validator's regex engine and JSON Schema's.
_NO_NUL = r"^[^\x00]*$"
_NOT_BLANK = r"^[^\x00]*[^\x00\t\n\x0b\x0c\r ][^\x00]*$"
_EMAIL = r"^[^@\x00-\x20\x7f]+@[^@\x00-\x20\x7f]+\.[^@\x00-\x20\x7f]+$"

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=_NOT_BLANK)]
Description = Annotated[str, Field(max_length=10_000, pattern=_NO_NUL)]
Email = Annotated[str, Field(max_length=320, pattern=_EMAIL, examples=["ada@example.com"])]

# numeric(12, 2)
PRICE_MAX = Decimal("9999999999.99")
_PRICE_TEXT = r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$"
_PRICE_TEXT_RE = re.compile(_PRICE_TEXT)
_CENT = Decimal("0.01")


def _price(value: Any) -> Any:
    """A decimal string as given, or a JSON number rounded to cents. JSON numbers are
    binary floats (0.07 arrives as 0.07000000000000001), so rounding is what the client
    meant; send a string for an exact value."""
    if isinstance(value, bool):
        raise ValueError("price must be a number or a decimal string")
    if isinstance(value, str):
        if not _PRICE_TEXT_RE.fullmatch(value):
            raise ValueError(
                'price must be a decimal string with at most 10 digits before the point and 2 after, such as "12.50"'
            )
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("price must be a finite number")
        exact = Decimal(repr(value))
        return exact.quantize(_CENT, ROUND_HALF_EVEN) if 0 <= exact <= PRICE_MAX else exact
    return value  # int, Decimal: the bounds below decide


Price = Annotated[
    Decimal,
    BeforeValidator(_price),
    Field(ge=0, le=PRICE_MAX, max_digits=12, decimal_places=2),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": float(PRICE_MAX)},
                {"type": "string", "pattern": _PRICE_TEXT},
            ],
            "examples": ["12.50"],
        },
        mode="validation",
    ),
]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class UserCreate(Input):
    email: Email
    full_name: Name


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    email: str
    full_name: str
    created_at: datetime


class ItemCreate(Input):
    name: Name
    description: Description | None = None
    price: Price
    owner_id: BodyId | None = None


class ItemUpdate(Input):
    """Only the fields sent are changed. `name` and `price` cannot be null (the columns
    are NOT NULL); `description` and `owner_id` can (null clears them)."""

    name: Name = None  # type: ignore[assignment]  # absent = unchanged; null is rejected
    description: Description | None = None
    price: Price = None  # type: ignore[assignment]
    owner_id: BodyId | None = None


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    description: str | None
    price: Decimal
    owner_id: int | None
    created_at: datetime
    updated_at: datetime


class PageQuery(BaseModel):
    """?limit=&offset= on list endpoints: OFFSET is a bigint in Postgres."""

    limit: int = Field(default=20, ge=1, le=PAGE_MAX)
    offset: int = Field(default=0, ge=0, le=INT8_MAX)


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


# --- errors (app/api/problems.py builds them) ---------------------------------------
class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where: body/query/path/header, then the field")
    msg: str
    type: str = Field(description="pydantic error type, e.g. missing, greater_than_equal")
    input: str | None = Field(default=None, description="A short text preview of the rejected value")


class Problem(BaseModel):
    """The body of every error answer."""

    detail: str = Field(description="One short sentence")
    errors: list[FieldError] | None = Field(default=None, description="Only on 422: one entry per invalid field")


# --- health -------------------------------------------------------------------------
class Health(BaseModel):
    status: str
    service: str
    version: str
    environment: str


class Liveness(BaseModel):
    status: str


class Check(BaseModel):
    status: str = Field(description="ok | error")
    latency_ms: float
    error: str | None = Field(default=None, description="Exception class name when status is error")


class Readiness(BaseModel):
    status: str = Field(description="ready | not_ready")
    checks: dict[str, Check]
