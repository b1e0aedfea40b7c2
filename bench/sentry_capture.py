"""Event-loop time that reporting one unhandled exception to Sentry costs.

ObservabilityMiddleware reports unhandled exceptions on the event loop; whatever that call
does before returning blocks every other request. The SDK's transport sends from its own
thread; building the event (stack frames with source context read through linecache,
scope merge, scrubbing, serialization into the envelope queue) happens in the caller.
"inline" runs that build on the calling thread; "ErrorReporter" queues the exception for
the reporter's thread (errors.py). The DSN points at a local sink that answers 200.

    python bench/sentry_capture.py     # median / p99 per reported error and loop lag, in us
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sentry_sdk  # noqa: E402

from app.observability import errors  # noqa: E402
from app.observability.settings import ObservabilitySettings  # noqa: E402

N = int(os.environ.get("SENTRY_CAPTURE_N", "300"))
SCOPE = {
    "type": "http",
    "method": "POST",
    "scheme": "http",
    "path": "/api/v1/items/42",
    "query_string": b"page=2&token=abc",
    "headers": [
        (b"host", b"localhost:8000"),
        (b"user-agent", b"bench/1.0"),
        (b"authorization", b"Bearer abc.def"),
        (b"content-type", b"application/json"),
        (b"x-request-id", b"bench"),
        (b"traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    ],
}


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _deep(n: int, payload: dict[str, str]) -> None:
    if n == 0:
        raise ValueError("bench boom")
    _deep(n - 1, payload)


def _error() -> BaseException:
    try:
        _deep(12, {"name": "x" * 200})  # a traceback about as deep as a FastAPI handler's
    except ValueError as exc:
        return exc
    raise AssertionError


def _percentiles(samples: list[float]) -> str:
    samples.sort()
    p99 = samples[int(len(samples) * 0.99) - 1]
    return f"median {statistics.median(samples):7.0f} us   p99 {p99:7.0f} us"


def measure(label: str, off_loop: bool, **overrides: object) -> None:
    """Time on the calling thread per reported error: inline capture (what the event loop
    paid before the reporter thread) or ErrorReporter.report (what it pays now)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = ObservabilitySettings(SENTRY_DSN=f"http://key@127.0.0.1:{server.server_address[1]}/1")
    reporter = errors.setup_sentry(settings, **overrides)
    assert reporter is not None
    samples = []
    for i in range(N + 20):
        exc = _error()
        started = time.perf_counter()
        if off_loop:
            reporter.report(exc, SCOPE)
        else:
            errors._capture(exc, SCOPE)
        if i >= 20:  # warm-up: linecache, imports
            samples.append((time.perf_counter() - started) * 1e6)
        if i % 50 == 0:
            reporter.flush(5)  # keep the queues from overflowing (drops are not cost)
    reporter.close(5)
    sentry_sdk.get_client().close()
    server.shutdown()
    print(f"{label:<58} {_percentiles(samples)}   (n={N})")


async def _loop_lag(off_loop: bool, reporter: errors.ErrorReporter, seconds: float = 3.0) -> list[float]:
    """Max event-loop lag per 10 ms tick while 100 errors/s are reported."""
    lags: list[float] = []

    async def errors_at_100_per_second() -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            exc = _error()
            reporter.report(exc, SCOPE) if off_loop else errors._capture(exc, SCOPE)
            await asyncio.sleep(0.01)

    task = asyncio.create_task(errors_at_100_per_second())
    while not task.done():
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append((time.perf_counter() - started - 0.01) * 1e6)
    return lags


def measure_lag(label: str, off_loop: bool) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = ObservabilitySettings(SENTRY_DSN=f"http://key@127.0.0.1:{server.server_address[1]}/1")
    reporter = errors.setup_sentry(settings)
    assert reporter is not None
    lags = asyncio.run(_loop_lag(off_loop, reporter))
    reporter.close(5)
    sentry_sdk.get_client().close()
    server.shutdown()
    print(f"{label:<58} {_percentiles(lags)}   (loop lag per 10 ms tick)")


def main() -> None:
    measure("inline capture, kit defaults (before)", False)
    measure("inline capture, include_local_variables=True", False, include_local_variables=True)
    measure("inline capture, include_source_context=False", False, include_source_context=False)
    measure("ErrorReporter.report on the loop (now)", True)
    measure_lag("100 errors/s, inline capture", False)
    measure_lag("100 errors/s, ErrorReporter", True)


if __name__ == "__main__":
    main()
