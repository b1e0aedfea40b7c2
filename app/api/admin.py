"""Failure injection admin API: GET/PUT /admin/faults with header X-Admin-Token."""

from __future__ import annotations

import hmac
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, HTTPException, Security
from fastapi.security import APIKeyHeader

from app.api.deps import ResourcesDep
from app.api.problems import problems
from app.faults import FaultConfig
from app.resources import Resources

router = APIRouter(prefix="/admin", tags=["admin"], responses=problems(401, 403))
log = structlog.get_logger(__name__)

# Declared as an API-key security scheme, so the OpenAPI document (and any client
# generated from it) knows the header is a credential, not an ordinary parameter.
_admin_token = APIKeyHeader(name="X-Admin-Token", auto_error=False, description="ADMIN_TOKEN")


def require_admin(res: ResourcesDep, token: Annotated[str | None, Security(_admin_token)]) -> Resources:
    expected = res.settings.ADMIN_TOKEN
    if not expected:
        raise HTTPException(status_code=403, detail="admin API disabled (ADMIN_TOKEN is not set)")
    # Compare bytes, not str: a header can hold any byte (Starlette decodes it as latin-1),
    # and compare_digest refuses non-ASCII str with a TypeError (a 500 before).
    sent = token.encode("latin-1") if token is not None else b""
    if not hmac.compare_digest(sent, expected.encode("utf-8")) or token is None:
        raise HTTPException(status_code=401, detail="missing or wrong X-Admin-Token")
    return res


AdminDep = Annotated[Resources, Depends(require_admin)]


@router.get("/faults", response_model=FaultConfig)
async def get_faults(res: AdminDep) -> FaultConfig:
    return res.faults.config


@router.put("/faults", response_model=FaultConfig, responses=problems(400, 413, 422))
async def put_faults(config: FaultConfig, res: AdminDep) -> FaultConfig:
    # replaces all three (missing fields are 0) here, and on every replica through Redis
    shared = await res.faults.set(config)
    log.warning("fault injection changed", shared=shared, **config.model_dump())
    return config
