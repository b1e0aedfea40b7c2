"""In-process CPU cost per request, without HTTP server or client: the ASGI app is called
directly, so the figure is the app + instrumentation alone (steadier than wrk on a busy
machine). Configurations alternate; the best of several batches is kept.

    python bench/asgi_cost.py    (needs DATABASE_URL / REDIS_URL like the app)
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.stdout = open(os.devnull, "w")  # the app logs to stdout

from app.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402

N = int(os.environ.get("ASGI_COST_N", "2000"))
BATCHES = int(os.environ.get("ASGI_COST_BATCHES", "5"))
CONFIGS: dict[str, dict] = {
    "bare": {"OBSERVABILITY_ENABLED": False},
    "full": {"TRACE_SAMPLING_MODE": "app"},
    "full-collector": {"TRACE_SAMPLING_MODE": "collector"},
    "full-otel-db": {"TRACE_SAMPLING_MODE": "app", "DB_SPANS": "otel"},
    "metrics-only": {"TRACING_ENABLED": False, "ACCESS_LOG_ENABLED": False},
    "tracing-only": {"METRICS_ENABLED": False, "ACCESS_LOG_ENABLED": False},
    "accesslog-only": {"METRICS_ENABLED": False, "TRACING_ENABLED": False},
}


async def call(app, path: str) -> int:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"host", b"bench"), (b"accept", b"*/*")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }
    status = 0

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def one(name: str) -> None:
    """Measure one configuration in this process (tracing/logging setup is process-wide)."""
    rate = os.environ.get("BENCH_SAMPLE_RATE", "0.05")
    s = Settings(APP_ENV="production", TRACE_SAMPLE_RATE=float(rate), SENTRY_DSN=None,
                 OTEL_EXPORTER_OTLP_ENDPOINT=os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
                 **CONFIGS[name])
    app = create_app(s)
    out = []
    async with app.router.lifespan_context(app):
        assert await call(app, "/api/v1/users/1") == 200, "bench needs user 1 (run bench/run.py first)"
        for path in ("/internal/ping", "/api/v1/users/1"):
            for _ in range(100):
                await call(app, path)
            t0 = time.process_time()
            for _ in range(N):
                await call(app, path)
            out.append((time.process_time() - t0) / N * 1e6)
    sys.__stdout__.write(" ".join(f"{v:.2f}" for v in out) + "\n")


def main() -> None:
    import subprocess

    results: dict[str, list[list[float]]] = {name: [] for name in CONFIGS}
    for batch in range(BATCHES):
        for name in CONFIGS if batch % 2 == 0 else reversed(list(CONFIGS)):
            line = subprocess.run([sys.executable, os.path.abspath(__file__), name], capture_output=True, text=True, check=True,
                                  env={**os.environ}).stdout.split()
            results[name].append([float(v) for v in line])
    sys.stdout = sys.__stdout__
    rate = os.environ.get("BENCH_SAMPLE_RATE", "0.05")
    print(f"in-process ASGI CPU per request, no HTTP server (best of {BATCHES} x {N}), TRACE_SAMPLE_RATE={rate}")
    for i, path_name in enumerate(("trivial", "db")):
        bare = min(r[i] for r in results["bare"])
        for name in CONFIGS:
            us = min(r[i] for r in results[name])
            print(f"  {path_name:<8} {name:<15} {us:7.1f} us  (+{us - bare:5.1f} us)")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(one(sys.argv[1]))
    else:
        main()
