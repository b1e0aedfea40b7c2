"""Helpers for app tests: settings, an in-process running app, metric samples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from app.config import Settings
from app.main import create_app

DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://app:app@127.0.0.1:5432/app_test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ADMIN_TOKEN = "test-admin-token"
ROOT = Path(__file__).resolve().parents[2]


def alembic(database_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
    )


def base_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "APP_ENV": "production",
        "APP_NAME": "fastapi-app",
        "APP_VERSION": "1.0.0-test",
        "LOG_FILE": str(tmp_path / "app.log"),
        "LOG_LEVEL": "INFO",
        "LOG_SAMPLE_INFO": 1.0,
        "LOG_SAMPLE_WARNING": 1.0,
        "LOG_DEDUP_WINDOW_SECONDS": 0.0,
        "LOG_INFO_MAX_PER_SECOND": 100_000,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
        "TRACE_SAMPLE_RATE": 1.0,
        "TRACE_SAMPLING_MODE": "app",
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "SENTRY_DSN": None,
        "FAULT_ERROR_RATE_PERCENT": 0,
        "FAULT_LATENCY_MS": 0,
        "FAULT_SLOW_QUERY_MS": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


class Running:
    def __init__(self, app: Any, client: httpx.AsyncClient, exporter: InMemorySpanExporter, settings: Settings):
        self.app = app
        self.client = client
        self.exporter = exporter
        self.settings = settings

    @property
    def obs(self):
        return self.app.state.obs

    def spans(self) -> list:
        if self.obs.tracer_provider is not None:
            self.obs.tracer_provider.force_flush()
        return list(self.exporter.get_finished_spans())

    def clear_spans(self) -> None:
        self.spans()
        self.exporter.clear()

    def logs(self) -> list[dict[str, Any]]:
        path = Path(self.settings.LOG_FILE)
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@asynccontextmanager
async def running_app(settings: Settings, extend=None) -> AsyncIterator[Running]:
    exporter = InMemorySpanExporter()
    app = create_app(settings, span_exporter=exporter)
    if extend is not None:
        extend(app)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Running(app, client, exporter, settings)


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def count_above(histogram: str, labels: dict[str, str], le: str) -> float:
    """Observations of a Prometheus histogram above the bucket bound `le`."""
    return sample(f"{histogram}_count", labels) - sample(f"{histogram}_bucket", {**labels, "le": le})
