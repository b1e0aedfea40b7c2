#!/usr/bin/env python3
"""Local Alertmanager webhook receiver: lets you watch alerts arrive without any account.

  GET  /          HTML view for people: one row per alert, newest first, reloads every 10 s;
                  same filters as /alerts. Every value comes from alert labels/annotations, which
                  anyone who can reach Prometheus or Alertmanager can set, so all of it is escaped,
                  only http(s) links become links, and the page runs no script (CSP forbids it).
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

import html
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


REFRESH_SECONDS = 10
MAX_ROWS = 200  # the page stays light; /alerts has everything
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'self'"


def _link(url: object, text: str) -> str:
    """An anchor for http(s) URLs only: a javascript: or data: URL in an annotation stays text."""
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        return ""
    return f'<a href="{html.escape(url, quote=True)}" rel="noopener noreferrer">{html.escape(text)}</a>'


def _cell(value: object) -> str:
    return html.escape("" if value is None else str(value))


def alert_rows(notifications: list[dict]) -> list[dict]:
    """One row per alert in the notifications, newest notification first."""
    rows = []
    for n in reversed(notifications):
        for a in n["alerts"]:
            labels = a.get("labels") if isinstance(a.get("labels"), dict) else {}
            annotations = a.get("annotations") if isinstance(a.get("annotations"), dict) else {}
            rows.append(
                {
                    "time": n["received_at_iso"][:19].replace("T", " "),  # seconds are enough to read
                    "status": a.get("status") or n.get("status"),
                    "alertname": labels.get("alertname"),
                    "severity": labels.get("severity"),
                    "receiver": n.get("receiver"),
                    "summary": annotations.get("summary") or annotations.get("description"),
                    "runbook": annotations.get("runbook_url"),
                    "source": a.get("generatorURL"),
                }
            )
    return rows


def render_page(notifications: list[dict], query_string: str) -> str:
    rows = alert_rows(notifications)
    shown = rows[:MAX_ROWS]
    body = []
    for r in shown:
        status = r["status"] if r["status"] in ("firing", "resolved") else "other"
        body.append(
            f'<tr class="{status}"><td>{_cell(r["time"])}</td><td class="st">{_cell(r["status"])}</td>'
            f"<td>{_cell(r['alertname'])}</td><td>{_cell(r['severity'])}</td><td>{_cell(r['receiver'])}</td>"
            f"<td>{_cell(r['summary'])}</td><td>{_link(r['runbook'], 'runbook')}</td>"
            f"<td>{_link(r['source'], 'Prometheus')}</td></tr>"
        )
    if not body:
        body.append('<tr><td colspan="8" class="empty">No alerts received yet.</td></tr>')
    json_link = "/alerts" + (f"?{html.escape(query_string)}" if query_string else "")
    more = f" (newest {MAX_ROWS} shown)" if len(rows) > MAX_ROWS else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>Alert sink</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: 4px 10px; border-bottom: 1px solid #e3e3e3; vertical-align: top; }}
th {{ background: #f5f5f5; }}
tr.firing td.st {{ color: #b00020; font-weight: 600; }}
tr.resolved td.st {{ color: #1b7f3b; font-weight: 600; }}
td.empty {{ color: #777; padding: 1rem; }}
</style></head><body>
<h1>Alert sink</h1>
<p>Every notification Alertmanager sent here, newest first: {len(rows)} alerts{more}.
Reloads every {REFRESH_SECONDS} s. JSON: <a href="{json_link}">{json_link}</a></p>
<table>
<thead><tr><th>time (UTC)</th><th>status</th><th>alert</th><th>severity</th><th>receiver</th>
<th>summary</th><th>runbook</th><th>source</th></tr></thead>
<tbody>
{chr(10).join(body)}
</tbody></table>
</body></html>
"""


class Handler(BaseHTTPRequestHandler):
    server_version = "alertsink/1"

    def _send(self, code: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_html(self, page: str) -> None:
        data = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Security-Policy", PAGE_CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        url = urlsplit(self.path)
        if url.path == "/":
            self._send_html(render_page(query(parse_qs(url.query)), url.query))
        elif url.path == "/healthz":
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
