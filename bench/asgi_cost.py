"""In-process CPU cost per request, paired: no HTTP server, no client, no other process.

For each configuration, one process builds two apps, bare (OBSERVABILITY_ENABLED=false)
first and the configuration second (logging/tracing setup is process-wide, the last app
created owns it; the bare app uses none of it), then calls both ASGI apps directly in
alternating batches. The reported overhead is the median of the per-batch differences,
which cancels most drift on a busy machine.

    python -m bench.asgi_cost            (needs DATABASE_URL / REDIS_URL like the app, and user 1)
Env: ASGI_COST_N (requests per batch, 300), ASGI_COST_BATCHES (20), BENCH_SAMPLE_RATE (0.05),
     ASGI_COST_CONFIGS (comma list).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time

N = int(os.environ.get("ASGI_COST_N", "300"))
BATCHES = int(os.environ.get("ASGI_COST_BATCHES", "20"))
RATE = float(os.environ.get("BENCH_SAMPLE_RATE", "0.05"))
CONFIGS: dict[str, dict] = {
    "full": {},
    "full-collector": {"TRACE_SAMPLING_MODE": "collector"},
    "full-otel-db-spans": {"DB_SPANS": "otel"},
    "metrics-only": {"TRACING_ENABLED": False, "ACCESS_LOG_ENABLED": False},
    "tracing-only": {"METRICS_ENABLED": False, "ACCESS_LOG_ENABLED": False},
    "accesslog-only": {"METRICS_ENABLED": False, "TRACING_ENABLED": False},
}
PATHS = {"trivial": "/internal/ping", "db": "/api/v1/users/1"}
BARE = {"OBSERVABILITY_ENABLED": False}
BASE = {"APP_ENV": "production", "TRACE_SAMPLE_RATE": RATE, "SENTRY_DSN": None}


async def start(overrides: dict) -> tuple:
    """An app built as the benchmarks build it, its lifespan entered: (app, lifespan)."""
    from app.config import Settings
    from app.main import create_app

    app = create_app(Settings(**BASE, **overrides))
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    return app, lifespan


async def call(app, path: str) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
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


async def paired(name: str) -> None:
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the apps log to stdout
    apps, contexts = {}, []
    for label, overrides in (("bare", BARE), (name, CONFIGS[name])):
        app, cm = await start(overrides)
        contexts.append(cm)
        apps[label] = app
    lines = []
    for endpoint, path in PATHS.items():
        assert await call(apps["bare"], path) == 200, f"{path} failed (bench/run.py creates user 1)"
        samples: dict[str, list[float]] = {label: [] for label in apps}
        for app in apps.values():
            for _ in range(100):
                await call(app, path)
        for _ in range(BATCHES):
            for label, app in apps.items():
                t0 = time.process_time()
                for _ in range(N):
                    await call(app, path)
                samples[label].append((time.process_time() - t0) / N * 1e6)
        diff = statistics.median(a - b for a, b in zip(samples[name], samples["bare"], strict=True))
        lines.append(f"{endpoint} {statistics.median(samples['bare']):.1f} {diff:.1f}")
    for cm in reversed(contexts):
        await cm.__aexit__(None, None, None)
    sys.stdout = sys.__stdout__
    print("\n".join(lines))


def main() -> None:
    names = os.environ.get("ASGI_COST_CONFIGS", ",".join(CONFIGS)).split(",")
    print(f"in-process CPU per request, paired with bare (median of {BATCHES} x {N}), TRACE_SAMPLE_RATE={RATE}")
    print(f"  {'endpoint':<8} {'config':<20} {'bare us':>8} {'+us':>7}")
    rows = []
    for name in names:
        out = subprocess.run(
            [sys.executable, "-m", "bench.asgi_cost", name], capture_output=True, text=True, check=True
        ).stdout
        for line in out.splitlines():
            endpoint, bare, diff = line.split()
            rows.append((endpoint, name, float(bare), float(diff)))
    for endpoint in PATHS:
        for e, name, bare, diff in rows:
            if e == endpoint:
                print(f"  {endpoint:<8} {name:<20} {bare:8.1f} {diff:+7.1f}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(paired(sys.argv[1]))
    else:
        main()
