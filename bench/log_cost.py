"""Cost of one log event through the real processor chain: dropped, held, emitted; and of
one access line through the chain and through the middleware's direct writer.

Writes go to a temporary file (stdout -> /dev/null) so the figure is the Python cost.
    python -m bench.log_cost
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time

import structlog

from app.observability.context import RequestContext, bind_request, threshold, unbind_request
from app.observability.logs import access_writer, configure_logging
from app.observability.settings import ObservabilitySettings

N = int(os.environ.get("LOG_COST_N", "20000"))


def per_event_us(fn, n: int = N) -> float:
    fn()  # warm: first use caches the bound logger
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="logcost-")
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - restored at the end
    settings = ObservabilitySettings(
        APP_ENV="production",
        LOG_FILE=os.path.join(tmp, "app.log"),
        LOG_INFO_MAX_PER_SECOND=10**9,
        LOG_DEDUP_WINDOW_SECONDS=0,
        LOG_BUFFER_PER_REQUEST=0,
    )
    configure_logging(settings)
    log = structlog.get_logger("bench.logcost")
    results = {}

    ctx = RequestContext("bench")
    token = bind_request(ctx)
    ctx.hash = threshold(0.99)  # above the INFO rate: sampled out
    ctx.kept = False
    results["dropped (sampled out, decided request)"] = per_event_us(lambda: log.info("event", k=1))
    ctx.kept = None
    ctx.logs = []
    settings_hold = 64

    def held():
        if len(ctx.logs) >= settings_hold:
            ctx.logs.clear()
        log.info("event", k=1)

    from app.observability.logs import current_sampler

    current_sampler().buffer_per_request = settings_hold
    results["dropped + held for the keep decision"] = per_event_us(held)
    ctx.kept = True
    results["emitted (JSON to stdout + file)"] = per_event_us(lambda: log.info("event", k=1), N // 4)
    results["below LOG_LEVEL (debug)"] = per_event_us(lambda: log.debug("event", k=1))
    access = structlog.get_logger("app.access")
    fields = {"method": "GET", "route": "/users/{id}", "path": "/users/7", "status_code": 200, "duration_ms": 1.25}
    results["access line through the chain"] = per_event_us(lambda: access.info("request", **fields), N // 4)
    writer = access_writer()
    assert writer is not None and writer.usable(logging.INFO)
    results["access line, direct writer (middleware)"] = per_event_us(
        lambda: writer.write("info", logging.INFO, dict(fields), "bench", (1, 1)), N // 4
    )
    unbind_request(token)
    sys.stdout = sys.__stdout__
    for name, us in results.items():
        print(f"  log event {name:<40} {us:7.2f} us")


if __name__ == "__main__":
    main()
