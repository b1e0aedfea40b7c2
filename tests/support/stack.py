"""The running stack as its published ports show it: addresses, secrets, PromQL, fault
switches and real traffic. Shared by tests/e2e and `make verify` (scripts/verify.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.support import REPO
from tests.support.http import get_json, request

APP = os.environ.get("E2E_APP_URL", "http://127.0.0.1:8000")
PROM = os.environ.get("E2E_PROMETHEUS_URL", "http://127.0.0.1:9090")
ALERTMANAGER = os.environ.get("E2E_ALERTMANAGER_URL", "http://127.0.0.1:9093")
SINK = os.environ.get("E2E_SINK_URL", "http://127.0.0.1:9095")
ALLOY = os.environ.get("E2E_ALLOY_URL", "http://127.0.0.1:12345")
LOKI = os.environ.get("E2E_LOKI_URL", "http://127.0.0.1:3100")
TEMPO = os.environ.get("E2E_TEMPO_URL", "http://127.0.0.1:3200")
GRAFANA = os.environ.get("E2E_GRAFANA_URL", "http://127.0.0.1:3000")
NATIVE_STATE = Path(os.environ.get("OBS_NATIVE_STATE", "/var/tmp/obs-native"))


def secret(name: str) -> str:
    """From the environment, else from .env.secrets (written by `make secrets`)."""
    if os.environ.get(name):
        return os.environ[name]
    for line in (REPO / ".env.secrets").read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise KeyError(f"{name} is not in the environment nor in .env.secrets (make secrets)")


def promql(expr: str) -> list[dict[str, Any]]:
    return list(get_json(f"{PROM}/api/v1/query", query=expr)["data"]["result"])


def set_faults(error_rate_percent: int = 0, latency_ms: int = 0, slow_query_ms: int = 0) -> None:
    reply = request(
        "PUT",
        f"{APP}/admin/faults",
        {"error_rate_percent": error_rate_percent, "latency_ms": latency_ms, "slow_query_ms": slow_query_ms},
        headers={"X-Admin-Token": secret("ADMIN_TOKEN")},
    )
    if reply.status != 200:
        raise RuntimeError(f"PUT /admin/faults -> {reply.status}: {reply.body[:300]!r}")


def traffic(n: int = 50) -> dict[str, str]:
    """Real API calls; returns {request_id: traceparent} for the responses that carried both."""
    seen = {}
    for i in range(n):
        status, body, headers = request(
            "POST", f"{APP}/api/v1/items", {"name": f"e2e-{i}", "description": "e2e", "price": 1.5}
        )
        if status == 201:
            item = json.loads(body)
            request("GET", f"{APP}/api/v1/items/{item['id']}")
            request("GET", f"{APP}/api/v1/items/{item['id']}")
        request("GET", f"{APP}/api/v1/items?limit=5")
        request("GET", f"{APP}/api/v1/does-not-exist")
        rid = headers.get("X-Request-ID") or headers.get("x-request-id")
        if rid:
            seen[rid] = headers.get("traceparent", "")
    return seen


def native_skipped() -> dict[str, str]:
    """Services the native runner could not start here, with the reason (empty under Docker)."""
    state = NATIVE_STATE / "state.json"
    return dict(json.loads(state.read_text()).get("skipped", {})) if state.exists() else {}
