"""Shared helpers for the stack lint: repo paths, file loaders, pinned native tools.

A required tool that is missing fails the test when CI=true and skips it (with the reason)
elsewhere, so a developer without `make tools` still gets the pure-Python checks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = REPO / "grafana" / "dashboards"
DATASOURCES = REPO / "grafana" / "provisioning" / "datasources" / "datasources.yml"
DASHBOARD_PROVIDERS = REPO / "grafana" / "provisioning" / "dashboards" / "dashboards.yml"
EXPECTED_DASHBOARDS = {"fastapi-overview", "fastapi-slo", "datastores", "stack-health"}
EXPECTED_DATASOURCES = {"prometheus", "loki", "tempo", "alertmanager"}
# Secrets are files under secrets/ now; compose interpolates no secret variable any more.
COMPOSE_ENV: dict[str, str] = {}


def load_yaml(path: Path):
    with path.open() as f:
        return yaml.safe_load(f)


@cache
def dashboards() -> dict[str, dict]:
    """file name -> parsed dashboard (parse errors surface in test_dashboards_are_json)."""
    out = {}
    for path in sorted(DASHBOARD_DIR.glob("*.json")):
        try:
            out[path.name] = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue
    return out


def iter_panels(dashboard: dict):
    """Every panel, including panels nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def find_tool(name: str) -> str | None:
    """The pinned native tool (tools/which.sh), else one on PATH."""
    which = REPO / "tools" / "which.sh"
    if which.exists():
        out = subprocess.run([str(which), name], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    return shutil.which(name)


def require_tool(name: str) -> str:
    path = find_tool(name)
    if path:
        return path
    reason = f"{name} not found (tools/which.sh {name}; run 'make tools')"
    if os.environ.get("CI") == "true":
        pytest.fail(f"required tool missing on CI: {reason}")
    pytest.skip(reason)


@cache
def compose_config() -> dict:
    """Both compose files with every profile, rendered by the pinned docker compose CLI."""
    compose = require_tool("docker-compose")
    cmd = [
        compose,
        "--env-file",
        str(REPO / ".env"),
        "-f",
        "docker-compose.yml",
        "-f",
        "docker-compose.monitoring.yml",
        "--profile",
        "promtail",
        "--profile",
        "loadtest",
        "config",
        "--format",
        "json",
    ]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env={**os.environ, **COMPOSE_ENV})
    assert out.returncode == 0, f"docker compose config failed:\n{out.stderr}"
    return json.loads(out.stdout)
