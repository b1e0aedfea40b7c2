"""A minimal Loki push receiver for the benchmark: accepts every push, keeps nothing.

    Alloy ──POST /loki/api/v1/push (snappy protobuf)──> this ──> 204

Natively Loki does not run, so Alloy's loki.write would fail, back off and retry, and
`make bench-stack` would measure that retry loop instead of a working pipeline. This stands in
for Loki under the service name `loki` (bench/sinks.compose.yml), answers as Loki does (204 to
a push, 200 to /ready), reads and discards the body, and counts pushes and bytes.
Standard library only.

    python bench/loki_sink.py [PORT]     (default 3100; GET /stats returns the counts as JSON)
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 64 << 20  # Loki's default push limit is smaller; a bigger claim is refused unread

counts = {"pushes": 0, "bytes": 0}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Alloy's client expects

    def do_POST(self) -> None:  # noqa: N802 - http.server's method name
        length = int(self.headers.get("Content-Length") or 0)
        if self.path != "/loki/api/v1/push" or not 0 <= length <= MAX_BODY:
            self.answer(400 if self.path == "/loki/api/v1/push" else 404)
            return
        self.rfile.read(length)
        with lock:
            counts["pushes"] += 1
            counts["bytes"] += length
        self.answer(204)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/ready":
            self.answer(200, b"ready\n")
        elif self.path == "/stats":
            with lock:
                self.answer(200, json.dumps(counts).encode())
        else:
            self.answer(404)

    def answer(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - one line per push is noise
        pass


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 3100
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()  # noqa: S104 - inside its own namespace


if __name__ == "__main__":
    main()
