"""`python -m app`: the app's one start command (image CMD, compose, `make run`, tests, bench).

One uvicorn worker per process: exemplars and per-process metrics need a single process, so
scale with replicas, not workers. uvicorn's own access log stays off: the observability kit
writes one JSON access line per request. The port is PORT (8000), the same variable the app's
settings read; the address is --host (loopback unless a container says 0.0.0.0).
"""

from __future__ import annotations

import argparse
import os

import uvicorn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app", description="Serve the demo app with uvicorn.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")), help="default: $PORT or 8000")
    args = parser.parse_args(argv)
    uvicorn.run("app.main:app", host=args.host, port=args.port, workers=1, access_log=False)


if __name__ == "__main__":
    main()
