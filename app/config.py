"""The application's settings: one pydantic-settings class for the whole process.

It extends the observability kit's settings with the demo service's own variables.
Every variable is listed, with a comment, in .env.example.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from app.observability.settings import ObservabilitySettings


class Settings(ObservabilitySettings):
    DATABASE_URL: str = "postgresql+asyncpg://app:app@127.0.0.1:5432/app"
    DB_POOL_SIZE: int = Field(default=10, ge=1)
    DB_MAX_OVERFLOW: int = Field(default=5, ge=0)
    DB_POOL_TIMEOUT_SECONDS: float = Field(default=2.0, gt=0)  # wait for a free connection
    DB_CONNECT_TIMEOUT_SECONDS: float = Field(default=1.0, gt=0)
    DB_STATEMENT_TIMEOUT_MS: int = Field(default=15_000, ge=0)

    REDIS_URL: str = "redis://127.0.0.1:6379/0"
    REDIS_TIMEOUT_SECONDS: float = Field(default=0.2, gt=0)  # a cache must fail fast
    CACHE_TTL_SECONDS: int = Field(default=60, ge=1)
    ACTIVE_USER_WINDOW_SECONDS: int = Field(default=300, ge=1)

    # larger request bodies are answered 413 before they are read (0: only empty bodies)
    MAX_REQUEST_BODY_BYTES: int = Field(default=1024 * 1024, ge=0)

    HEALTH_CHECK_TIMEOUT_SECONDS: float = Field(default=1.0, gt=0)

    # outbound call for GET /api/v1/items/{id}/enrich (client spans); empty = this app itself
    ENRICH_URL: str = ""
    ENRICH_TIMEOUT_SECONDS: float = Field(default=2.0, gt=0)
    PORT: int = 8000

    # failure injection (admin API protected by ADMIN_TOKEN; empty token disables it)
    ADMIN_TOKEN: str = ""
    FAULT_ERROR_RATE_PERCENT: float = Field(default=0.0, ge=0, le=100)
    FAULT_LATENCY_MS: int = Field(default=0, ge=0)
    FAULT_SLOW_QUERY_MS: int = Field(default=0, ge=0)


@lru_cache
def get_settings() -> Settings:
    return Settings()
