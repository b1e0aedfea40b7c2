"""Health: /health (liveness + identity), /health/live, /health/ready (Postgres + Redis)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.api.deps import ResourcesDep
from app.resources import Resources
from app.schemas import Health, Liveness, Readiness

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
async def health(res: ResourcesDep) -> dict:
    s = res.settings
    return {"status": "ok", "service": s.APP_NAME, "version": s.APP_VERSION, "environment": s.APP_ENV}


@router.get("/health/live", response_model=Liveness)
async def live() -> dict:
    return {"status": "alive"}


async def _check(coro, timeout: float) -> dict:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(coro, timeout)
        status: dict[str, Any] = {"status": "ok"}
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        status = {"status": "error", "error": type(exc).__name__}
    status["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return status


async def _db_ping(res: Resources) -> None:
    async with res.db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Postgres or Redis is not ready"}},
)
async def ready(res: ResourcesDep) -> JSONResponse:
    timeout = res.settings.HEALTH_CHECK_TIMEOUT_SECONDS
    postgres, redis = await asyncio.gather(_check(_db_ping(res), timeout), _check(res.cache.ping(), timeout))
    ok = postgres["status"] == "ok" and redis["status"] == "ok"
    body = {"status": "ready" if ok else "not_ready", "checks": {"postgres": postgres, "redis": redis}}
    return JSONResponse(body, status_code=200 if ok else 503)
