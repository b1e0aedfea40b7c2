"""Failure injection admin API: GET/PUT /admin/faults with header X-Admin-Token."""

from __future__ import annotations

import secrets
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Header, HTTPException

from app.api.deps import ResourcesDep
from app.faults import FaultConfig
from app.resources import Resources

router = APIRouter(prefix="/admin", tags=["admin"])
log = structlog.get_logger(__name__)


def require_admin(res: ResourcesDep, x_admin_token: Annotated[str | None, Header()] = None) -> Resources:
    expected = res.settings.ADMIN_TOKEN
    if not expected:
        raise HTTPException(status_code=403, detail="admin API disabled (ADMIN_TOKEN is not set)")
    if x_admin_token is None or not secrets.compare_digest(x_admin_token, expected):
        raise HTTPException(status_code=401, detail="missing or wrong X-Admin-Token")
    return res


AdminDep = Annotated[Resources, Depends(require_admin)]


@router.get("/faults", response_model=FaultConfig)
async def get_faults(res: AdminDep) -> FaultConfig:
    return res.faults.config


@router.put("/faults", response_model=FaultConfig)
async def put_faults(config: FaultConfig, res: AdminDep) -> FaultConfig:
    res.faults.config = config  # replaces all three; missing fields are 0
    log.warning("fault injection changed", **config.model_dump())
    return config
