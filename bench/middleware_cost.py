"""CPU cost of the kit's middleware alone, around an ASGI app that does nothing.

No FastAPI, no server, no database: the figure is the kit's own per-request work (ids,
current-span context, server span record, keep decision, metrics, access-log decision and
lines, span export hand-off). Median of 7 alternating batches of the wrapped and the bare
app, in microseconds per request.

    python -m bench.middleware_cost [app|collector] [SETTING=value ...]
    python -m bench.middleware_cost app TRACING_ENABLED=false      # one signal off
Spans go to OTEL_EXPORTER_OTLP_ENDPOINT (a closed port drops them after the encoding, which
is the part measured here); log lines to a temporary LOG_FILE and /dev/null.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from typing import Any

from app.observability import ObservabilitySettings, configure_logging, setup_observability

N = int(os.environ.get("MIDDLEWARE_COST_N", "20000"))
SCOPE = {
    "type": "http",
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/internal/ping",
    "query_string": b"",
    "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk"), (b"accept", b"*/*")],
    "server": ("127.0.0.1", 8000),
}


class _Collect:
    """Stands in for the app: setup_observability() adds its middleware here."""

    def __init__(self) -> None:
        self.middleware: list[tuple[Any, dict[str, Any]]] = []

    def add_middleware(self, cls: Any, **options: Any) -> None:
        self.middleware.append((cls, options))


async def empty_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})


async def receive() -> dict[str, Any]:
    return {"type": "http.request"}


async def send(message: dict[str, Any]) -> None:
    return None


async def measure(app: Any) -> float:
    async def batch(target: Any) -> float:
        started = time.process_time()
        for _ in range(N):
            await target(dict(SCOPE), receive, send)
        return (time.process_time() - started) / N * 1e6

    await batch(app)
    return statistics.median([await batch(app) - await batch(empty_app) for _ in range(7)])


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "app"
    overrides = dict(arg.split("=", 1) for arg in sys.argv[2:])
    settings = ObservabilitySettings(
        **{
            "APP_ENV": "production",
            "LOG_FILE": os.path.join(tempfile.mkdtemp(prefix="mwcost-"), "app.log"),
            "TRACE_SAMPLING_MODE": mode,
            **overrides,
        }
    )
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the access lines' stdout copy
    configure_logging(settings)
    target = _Collect()
    obs = setup_observability(target, settings)
    cls, options = target.middleware[0]
    cost = asyncio.run(measure(cls(empty_app, **options)))
    obs.shutdown()
    sys.stdout = sys.__stdout__
    print(f"middleware, {mode} mode {' '.join(sys.argv[2:])}: {cost:.1f} us per request")


if __name__ == "__main__":
    main()
