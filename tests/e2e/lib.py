"""Small clients for the running stack, shared by the e2e tests and `make verify`."""

from __future__ import annotations

import json
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
APP = os.environ.get("E2E_APP_URL", "http://127.0.0.1:8000")
PROM = os.environ.get("E2E_PROMETHEUS_URL", "http://127.0.0.1:9090")
ALERTMANAGER = os.environ.get("E2E_ALERTMANAGER_URL", "http://127.0.0.1:9093")
SINK = os.environ.get("E2E_SINK_URL", "http://127.0.0.1:9095")
ALLOY = os.environ.get("E2E_ALLOY_URL", "http://127.0.0.1:12345")
LOKI = os.environ.get("E2E_LOKI_URL", "http://127.0.0.1:3100")
TEMPO = os.environ.get("E2E_TEMPO_URL", "http://127.0.0.1:3200")
GRAFANA = os.environ.get("E2E_GRAFANA_URL", "http://127.0.0.1:3000")


def secret(name: str) -> str:
    if os.environ.get(name):
        return os.environ[name]
    for line in (REPO / ".env.secrets").read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise KeyError(f"{name} is not in the environment nor in .env.secrets (make secrets)")


def http(
    method: str, url: str, body: Any = None, headers: dict | None = None, timeout: float = 10
) -> tuple[int, bytes, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def get_json(url: str, **params) -> Any:
    if params:
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
    status, body, _ = http("GET", url)
    if status != 200:
        raise RuntimeError(f"GET {url} → {status}: {body[:300]!r}")
    return json.loads(body)


def up(url: str) -> bool:
    try:
        return http("GET", url, timeout=3)[0] < 500
    except OSError:
        return False


def promql(expr: str) -> list[dict]:
    return get_json(f"{PROM}/api/v1/query", query=expr)["data"]["result"]


def wait_until(what: str, probe: Callable[[], Any], timeout: float, every: float = 2.0) -> Any:
    """Polls until probe() returns something truthy; fails with the last value seen.

    Polling a condition with a deadline is the assertion; no fixed sleep decides a result.
    """
    end, last = time.monotonic() + timeout, None
    while True:
        try:
            last = probe()
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")
        time.sleep(every)


def set_faults(error_rate_percent: int = 0, latency_ms: int = 0, slow_query_ms: int = 0) -> None:
    status, body, _ = http(
        "PUT",
        f"{APP}/admin/faults",
        {"error_rate_percent": error_rate_percent, "latency_ms": latency_ms, "slow_query_ms": slow_query_ms},
        headers={"X-Admin-Token": secret("ADMIN_TOKEN")},
    )
    if status != 200:
        raise RuntimeError(f"PUT /admin/faults → {status}: {body[:300]!r}")


def traffic(n: int = 50) -> dict[str, str]:
    """Real API calls; returns {request_id: trace_id} for the responses that carried both."""
    seen = {}
    for i in range(n):
        status, body, headers = http(
            "POST", f"{APP}/api/v1/items", {"name": f"e2e-{i}", "description": "e2e", "price": 1.5}
        )
        if status == 201:
            item = json.loads(body)
            http("GET", f"{APP}/api/v1/items/{item['id']}")
            http("GET", f"{APP}/api/v1/items/{item['id']}")
        http("GET", f"{APP}/api/v1/items?limit=5")
        http("GET", f"{APP}/api/v1/does-not-exist")
        rid = headers.get("X-Request-ID") or headers.get("x-request-id")
        if rid:
            seen[rid] = headers.get("traceparent", "")
    return seen


def native_skipped() -> dict[str, str]:
    """Services the native runner could not start here, with the reason (empty under Docker)."""
    state = Path(os.environ.get("OBS_NATIVE_STATE", "/var/tmp/obs-native")) / "state.json"
    return json.loads(state.read_text()).get("skipped", {}) if state.exists() else {}
