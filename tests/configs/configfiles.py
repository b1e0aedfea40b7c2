"""The config files tests/configs reads: paths, the YAML loader, parsed dashboards.

Pinned tools, the CI policy and the rendered compose config come from tests/support.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import yaml

from tests.support import REPO

DASHBOARD_DIR = REPO / "grafana" / "dashboards"
DATASOURCES = REPO / "grafana" / "provisioning" / "datasources" / "datasources.yml"
DASHBOARD_PROVIDERS = REPO / "grafana" / "provisioning" / "dashboards" / "dashboards.yml"
EXPECTED_DASHBOARDS = {"fastapi-overview", "fastapi-slo", "datastores", "stack-health"}
EXPECTED_DATASOURCES = {"prometheus", "loki", "tempo", "alertmanager"}


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
