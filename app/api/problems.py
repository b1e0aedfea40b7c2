"""One error shape for every non-2xx answer, and the handlers that produce it.

    {"detail": "request validation failed",              <- always: one short sentence
     "errors": [{"loc": ["body", "price"],                <- only on 422
                 "msg": "Input should be greater than or equal to 0",
                 "type": "greater_than_equal",
                 "input": "-1"}]}                         <- at most INPUT_PREVIEW_CHARS

Why a custom 422 handler: FastAPI's default echoes the whole offending value (`input`)
and the constraint context (`ctx`). An 8 MiB string came back as 8 MiB, and a NaN or a
lone surrogate in `input` made the error response itself fail with a 500. Here `input`
is a short, JSON-safe text preview, `ctx` is dropped (the message already names the
bound), and field names that come from the client (`loc`) are cut as well.

Database errors that the client's values cause (unique or foreign-key conflicts,
values the column cannot hold) are answered 409/422 here; outages are answered 503 by
the DatabaseUnavailable handler; anything else stays a 500 (a bug to fix).
"""

from __future__ import annotations

import re
import reprlib
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.schemas import FieldError, Problem

INPUT_PREVIEW_CHARS = 32
LOC_PART_CHARS = 64
MAX_FIELD_ERRORS = 20

_DESCRIPTIONS = {
    400: "Malformed request body (not decodable as JSON)",
    401: "Missing or wrong credentials",
    403: "Forbidden (the admin API is disabled)",
    404: "Not found",
    409: "Conflicts with the current state (duplicate value or missing referenced row)",
    413: "Request body larger than MAX_REQUEST_BODY_BYTES",
    422: "Request validation failed (`errors` says where and why)",
    500: "Internal error (or an injected fault)",
    502: "An upstream service failed",
    503: "A dependency (the database) is unavailable; retry after `Retry-After` seconds",
}


_HEADERS = {
    503: {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}},
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries: these statuses answer with the Problem body."""
    return {
        code: {
            "model": Problem,
            "description": _DESCRIPTIONS[code],
            **({"headers": _HEADERS[code]} if code in _HEADERS else {}),
        }
        for code in codes
    }


def problem(status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = Problem(detail=detail, **extra).model_dump(mode="json", exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)


# --- validation errors --------------------------------------------------------------
_preview_repr = reprlib.Repr()  # Python 3.11: no constructor keywords yet
_preview_repr.maxlevel = 2
_preview_repr.maxdict = _preview_repr.maxlist = _preview_repr.maxtuple = _preview_repr.maxset = 3
_preview_repr.maxstring = _preview_repr.maxlong = _preview_repr.maxother = 48


def _safe_text(text: str, limit: int) -> str:
    """A prefix that any JSON encoder and UTF-8 codec accept (lone surrogates escaped)."""
    cut = text[:limit]
    if len(text) > limit:
        cut += "..."
    return cut.encode("utf-8", "backslashreplace").decode("utf-8")


def input_preview(value: Any) -> str:
    if isinstance(value, str):
        return _safe_text(value, INPUT_PREVIEW_CHARS)
    if isinstance(value, bytes | bytearray):
        return _safe_text(bytes(value[: INPUT_PREVIEW_CHARS * 4]).decode("utf-8", "replace"), INPUT_PREVIEW_CHARS)
    try:
        text = _preview_repr.repr(value)  # bounded work: never walks or prints the whole value
    except (ValueError, RecursionError):  # e.g. an int beyond sys.get_int_max_str_digits()
        text = f"<{type(value).__name__}>"
    return _safe_text(text, INPUT_PREVIEW_CHARS)


def field_error(error: dict[str, Any]) -> FieldError:
    loc = [part if isinstance(part, int) else _safe_text(str(part), LOC_PART_CHARS) for part in error.get("loc", ())]
    return FieldError(
        loc=loc,
        msg=_safe_text(str(error.get("msg", "")), 200),
        type=str(error.get("type", "value_error")),
        input=input_preview(error["input"]) if "input" in error else None,
    )


async def _validation_failed(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [field_error(e) for e in exc.errors()[:MAX_FIELD_ERRORS]]
    return problem(422, "request validation failed", errors=errors)


# --- HTTP errors (ours and Starlette's 404/405) --------------------------------------
def _allowed_methods(app: FastAPI, path: str) -> str | None:
    """Every method the OpenAPI document lists for `path` (Starlette's 405 names only the
    methods of the first route whose path matches, so GET /items + POST /items gave
    `Allow: GET`). Built once per app; None for paths the document does not list."""
    table: list[tuple[re.Pattern[str], str]] | None = getattr(app.state, "allow_table", None)
    if table is None:
        table = []
        for template, operations in app.openapi().get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
            methods = {m.upper() for m in operations if m in {"get", "put", "post", "delete", "patch"}}
            if "GET" in methods:
                methods.add("HEAD")  # Starlette answers HEAD wherever GET is routed
            table.append((pattern, ", ".join(sorted(methods))))
        app.state.allow_table = table
    for pattern, allow in table:
        if pattern.match(path):
            return allow
    return None


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allow = _allowed_methods(request.app, request.url.path)
        if allow:
            headers["Allow"] = allow
    return problem(exc.status_code, str(exc.detail), headers=headers or None)


# --- database errors the client's values caused -------------------------------------
async def _integrity_error(request: Request, exc: sa_exc.IntegrityError) -> JSONResponse:
    return problem(409, "conflicts with existing data")


def _is_input_data_error(exc: sa_exc.DBAPIError) -> bool:
    """Postgres refused a value: SQLSTATE class 22 "data exception" (out of range, too
    long, NUL in text). SQLAlchemy's asyncpg dialect reports those as a plain DBAPIError
    (not DataError) with the code on `orig`. asyncpg refuses some values before sending
    them (an int beyond the parameter's type): the cause is then a ValueError."""
    if isinstance(exc, sa_exc.DataError):
        return True
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if isinstance(code, str) and code.startswith("22"):
        return True
    cause = exc.orig.__cause__ if exc.orig is not None else None
    return isinstance(cause, ValueError)


async def _dbapi_error(request: Request, exc: sa_exc.DBAPIError) -> JSONResponse:
    if _is_input_data_error(exc):
        return problem(422, "a value cannot be stored (out of range or not representable)")
    raise exc  # not the client's fault: the middleware reports it as a 500


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_failed)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(sa_exc.IntegrityError, _integrity_error)  # type: ignore[arg-type]
    app.add_exception_handler(sa_exc.DBAPIError, _dbapi_error)  # type: ignore[arg-type]
