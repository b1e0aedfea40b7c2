#!/usr/bin/env python3
"""Check that every key of our values files exists in the chart's own values.yaml.

A misspelt or moved key in a Helm values file is silently ignored by the chart: the setting
just does not happen. This script walks each of our values files and looks every key path up
in the upstream chart's default values.yaml, at the chart version named in CHARTS.

    helm/*.values.yaml ──key paths──> upstream charts/<chart>/values.yaml (a local checkout)

Accepted without a match upstream:
  - anything below a node whose upstream default is empty ({} / [] / null) or a list: the
    chart passes such values through (toYaml) and has nothing to compare with;
  - anything below a PASS_THROUGH prefix: maps the chart renders as a whole into the
    program's own config (read in the chart templates at that version).
Where the chart ships a values.schema.json (Loki does), the merged values (chart defaults
overlaid with ours, as Helm merges maps) are also validated against it.

Needs the chart sources, which CI does not have (no network beyond package registries):
make k8s-check reports this check as NOT RUN unless CHART_SOURCES points at a directory with
  prometheus-community/helm-charts, grafana-community/helm-charts, grafana/alloy
checkouts. Usage: CHART_SOURCES=/path python3 deploy/kubernetes/helm/check_chart_keys.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import jsonschema
import yaml

HERE = Path(__file__).resolve().parent

# values file -> (chart, version, path of values.yaml below CHART_SOURCES)
CHARTS = {
    "kube-prometheus-stack.values.yaml": (
        "kube-prometheus-stack",
        "88.5.3",
        "prometheus-community/helm-charts/charts/kube-prometheus-stack/values.yaml",
    ),
    "loki.values.yaml": ("loki", "18.11.0", "grafana-community/helm-charts/charts/loki/values.yaml"),
    "tempo-distributed.values.yaml": (
        "tempo-distributed",
        "3.3.0",
        "grafana-community/helm-charts/charts/tempo-distributed/values.yaml",
    ),
    "grafana.values.yaml": ("grafana", "12.11.1", "grafana-community/helm-charts/charts/grafana/values.yaml"),
    "alloy.values.yaml": ("alloy", "1.11.1", "grafana/alloy/operations/helm/charts/alloy/values.yaml"),
}

PASS_THROUGH = {
    "kube-prometheus-stack.values.yaml": ["alertmanager.config"],
    # bucketNames: commented out in values.yaml, read by templates/_helpers.tpl (required there)
    "loki.values.yaml": ["loki.limits_config", "loki.pattern_ingester", "loki.storage.s3", "loki.storage.bucketNames"],
    "tempo-distributed.values.yaml": ["metricsGenerator.config.processor", "storage.trace.s3"],
    "grafana.values.yaml": ["grafana.ini"],
    "alloy.values.yaml": [],
}


def unknown_keys(ours: Any, upstream: Any, prefixes: list[str], path: str = "") -> list[str]:
    if not isinstance(ours, dict):
        return []
    if upstream in ({}, [], None) or isinstance(upstream, (list, str)):
        return []
    if not isinstance(upstream, dict):
        return [f"{path}: upstream default is a {type(upstream).__name__}, ours is a map"]
    found = []
    for key, value in ours.items():
        sub = f"{path}.{key}" if path else str(key)
        if any(sub == p or sub.startswith(p + ".") for p in prefixes):
            continue
        if key not in upstream:
            found.append(f"unknown key: {sub}")
            continue
        found += unknown_keys(value, upstream[key], prefixes, sub)
    return found


def merged(defaults: Any, ours: Any) -> Any:
    """Helm's merge: maps merge key by key, anything else is replaced."""
    if isinstance(defaults, dict) and isinstance(ours, dict):
        return {**defaults, **{k: merged(defaults.get(k), v) for k, v in ours.items()}}
    return ours


def schema_errors(upstream_path: Path, upstream: Any, ours: Any) -> list[str]:
    schema_path = upstream_path.with_name("values.schema.json")
    if not schema_path.exists():
        return []
    import json

    validator = jsonschema.validators.validator_for(schema := json.loads(schema_path.read_text()))(schema)
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(merged(upstream, ours))
    ]


def main() -> int:
    root = os.environ.get("CHART_SOURCES")
    if not root:
        print("NOT RUN: set CHART_SOURCES to a directory with the chart checkouts", file=sys.stderr)
        return 2
    failed = 0
    for name, (chart, version, rel) in CHARTS.items():
        upstream_path = Path(root) / rel
        if not upstream_path.exists():
            print(f"NOT RUN  {name}: {upstream_path} missing")
            failed += 1
            continue
        upstream = yaml.safe_load(upstream_path.read_text())
        ours = yaml.safe_load((HERE / name).read_text())
        bad = unknown_keys(ours, upstream, PASS_THROUGH[name])
        bad += [f"schema: {e}" for e in schema_errors(upstream_path, upstream, ours)]
        status = "FAIL" if bad else "PASS"
        print(f"{status}     {name} against {chart} {version}" + "".join(f"\n         {b}" for b in bad))
        failed += bool(bad)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
