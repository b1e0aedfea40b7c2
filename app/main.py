"""Application factory and lifespan. Run: python -m app (app/__main__.py; one process per container)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from app.api import admin, health, internal, items, problems, users
from app.api.deps import inject_faults
from app.api_docs import mount_api_docs
from app.body_limit import BodyLimitMiddleware
from app.business_metrics import ACTIVE_USERS
from app.cache import Cache, make_redis
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.faults import FaultConfig, Faults, InjectedFault
from app.observability import FASTAPI_TELEMETRY_OFF, configure_logging, metrics, setup_observability
from app.resources import Database, DatabaseUnavailable, Resources

log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None, **observability_options: Any) -> FastAPI:
    s = settings or get_settings()
    configure_logging(s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(s)
        obs.instrument_engine(engine.sync_engine)
        redis = make_redis(s)
        obs.instrument_redis(redis)
        http = httpx.AsyncClient(timeout=s.ENRICH_TIMEOUT_SECONDS)
        obs.instrument_httpx(http)
        faults_redis = make_redis(s)  # left uninstrumented: the once-a-second poll is no traffic
        faults = Faults(FaultConfig.from_settings(s), shared=faults_redis)
        faults.follow()
        app.state.res = Resources(
            settings=s,
            db=Database(engine, make_sessionmaker(engine)),
            redis=redis,
            cache=Cache(redis, s, recorder=obs.recorder),
            http=http,
            faults=faults,
        )
        log.info("application started", version=s.APP_VERSION, environment=s.APP_ENV)
        try:
            yield
        finally:
            log.info("application stopping")
            await faults.aclose()
            await faults_redis.aclose()
            await http.aclose()
            await app.state.res.cache.aclose()  # closes redis; stops the invalidation retry
            await engine.dispose()
            obs.shutdown()

    app = FastAPI(
        title="FastAPI observability demo",
        version=s.APP_VERSION,
        lifespan=lifespan,
        telemetry=FASTAPI_TELEMETRY_OFF,
        docs_url=None,  # /docs and /redoc come from app/api_docs.py: local assets, no CDN
        redoc_url=None,
    )
    # added before the observability middleware, so it runs inside it: 413s are measured
    app.add_middleware(BodyLimitMiddleware, max_bytes=s.MAX_REQUEST_BODY_BYTES)
    mount_api_docs(app)
    obs = setup_observability(app, s, **observability_options)
    app.state.obs = obs

    problems.install(app)
    api = APIRouter(
        prefix="/api/v1",
        dependencies=[Depends(inject_faults)],
        responses=problems.problems(422, 500, 503),  # every /api/v1 route validates and uses the DB
    )
    api.include_router(users.router)
    api.include_router(items.router)
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(admin.router)
    app.include_router(internal.router)
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)

    @app.exception_handler(DatabaseUnavailable)
    async def _db_down(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        return problems.problem(503, "database unavailable", headers={"Retry-After": "1"})

    @app.exception_handler(InjectedFault)
    async def _injected(request: Request, exc: InjectedFault) -> JSONResponse:
        return problems.problem(500, "injected fault")

    return app


async def metrics_endpoint(request: Request) -> Response:
    res: Resources | None = getattr(request.app.state, "res", None)
    if res is not None:
        count = await res.cache.count_active()
        if count is not None:
            ACTIVE_USERS.set(count)
    body, content_type = metrics.render(request.headers.get("accept"))
    return Response(body, headers={"Content-Type": content_type})


def __getattr__(name: str) -> Any:
    """`app.main:app` (what `python -m app` serves) is built on first access: importing the
    module for create_app (tests) builds nothing."""
    if name == "app":
        value = create_app()
        globals()["app"] = value
        return value
    raise AttributeError(name)
