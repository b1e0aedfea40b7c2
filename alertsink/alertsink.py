#!/usr/bin/env python3
"""Local Alertmanager webhook receiver: lets you watch alerts arrive without any account.

  POST /webhook   Alertmanager webhook JSON (version 4); stored and logged, one line per alert
  GET  /alerts    JSON list of received notifications, oldest first, each with received_at
                  (unix seconds) and received_at_iso; filters: ?alertname=X&status=firing|resolved
                  &receiver=R (a notification matches if any of its alerts matches)
  DELETE /alerts  forget everything received so far (tests, repeated load tests)
  GET  /healthz   {"status": "ok", "notifications": N}

Stdlib only. Listens on 0.0.0.0:$PORT (default 9095). Memory is bounded: at most
$MAX_NOTIFICATIONS notifications (default 1000) are kept, bodies over 1 MiB are refused.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections import deque
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 1024 * 1024
MAX_NOTIFICATIONS = int(os.environ.get("MAX_NOTIFICATIONS", "1000"))

_lock = threading.Lock()
_log_lock = threading.Lock()
_notifications: deque[dict] = deque(maxlen=MAX_NOTIFICATIONS)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _log(event: str, level: str = "info", **fields) -> None:
    line = {
        "timestamp": _iso(datetime.now(UTC).timestamp()),
        "level": level,
        "event": event,
        "logger": "alertsink",
        "service": "alert-sink",
        **fields,
    }
    text = json.dumps(line, separators=(",", ":")) + "\n"
    with _log_lock:  # one write per line: handler threads must not interleave lines
        sys.stdout.write(text)
        sys.stdout.flush()


def store(payload: dict) -> dict:
    """Validate and keep one webhook notification; log one line per alert in it."""
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
        raise ValueError("payload has no 'alerts' list")
    now = datetime.now(UTC).timestamp()
    record = {
        "received_at": now,
        "received_at_iso": _iso(now),
        "receiver": payload.get("receiver", ""),
        "status": payload.get("status", ""),
        "groupLabels": payload.get("groupLabels", {}),
        "commonLabels": payload.get("commonLabels", {}),
        "externalURL": payload.get("externalURL", ""),
        "alerts": [
            {
                k: a.get(k)
                for k in ("status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint")
            }
            for a in alerts
        ],
    }
    with _lock:
        _notifications.append(record)
    for a in record["alerts"]:
        labels = a.get("labels") or {}
        annotations = a.get("annotations") or {}
        _log(
            "alert",
            receiver=record["receiver"],
            status=a.get("status"),
            alertname=labels.get("alertname"),
            severity=labels.get("severity"),
            instance=labels.get("instance"),
            job=labels.get("job"),
            summary=annotations.get("summary"),
            starts_at=a.get("startsAt"),
            ends_at=a.get("endsAt"),
        )
    return record


def query(params: dict[str, list[str]]) -> list[dict]:
    want = {k: v[0] for k, v in params.items() if k in ("alertname", "status", "receiver") and v}
    with _lock:
        items = list(_notifications)
    if not want:
        return items

    def matches(n: dict) -> bool:
        if "receiver" in want and n["receiver"] != want["receiver"]:
            return False
        return any(
            ("alertname" not in want or (a.get("labels") or {}).get("alertname") == want["alertname"])
            and ("status" not in want or a.get("status") == want["status"])
            for a in n["alerts"]
        )

    return [n for n in items if matches(n)]


class Handler(BaseHTTPRequestHandler):
    server_version = "alertsink/1"

    def _send(self, code: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        url = urlsplit(self.path)
        if url.path == "/healthz":
            with _lock:
                n = len(_notifications)
            self._send(200, {"status": "ok", "notifications": n})
        elif url.path == "/alerts":
            self._send(200, query(parse_qs(url.query)))
        else:
            self._send(404, {"error": "not found"})

    def do_DELETE(self) -> None:  # noqa: N802
        if urlsplit(self.path).path != "/alerts":
            self._send(404, {"error": "not found"})
            return
        with _lock:
            _notifications.clear()
        self._send(200, {"status": "cleared"})

    def do_POST(self) -> None:  # noqa: N802
        if urlsplit(self.path).path != "/webhook":
            self._send(404, {"error": "not found"})
            return
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if length <= 0 or length > MAX_BODY:
            self._send(413 if length > MAX_BODY else 400, {"error": "bad Content-Length"})
            return
        try:
            record = store(json.loads(self.rfile.read(length)))
        except (ValueError, AttributeError) as exc:  # JSONDecodeError is a ValueError
            _log("rejected", level="warning", error=str(exc))
            self._send(400, {"error": str(exc)})
            return
        self._send(200, {"status": "ok", "alerts": len(record["alerts"])})

    def log_message(self, format: str, *args) -> None:  # access log off: one line per alert
        pass


def main() -> None:
    port = int(os.environ.get("PORT", "9095"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    _log("listening", port=port, max_notifications=MAX_NOTIFICATIONS)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
