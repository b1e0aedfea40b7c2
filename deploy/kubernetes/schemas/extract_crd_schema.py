#!/usr/bin/env python3
"""Turn a CustomResourceDefinition into the JSON schema make k8s-check validates objects with.

    crd-podmonitors.yaml (prometheus-operator, as shipped in kube-prometheus-stack's crds chart)
      ──(this script)──> deploy/kubernetes/schemas/podmonitor-monitoring-v1.json

kubernetes-validate ships schemas for built-in kinds only. The CRD's openAPIV3Schema is what
the API server validates a PodMonitor or PrometheusRule against, so checking the committed
objects with it catches a misspelt or misplaced field before a cluster does. Descriptions are
dropped (they are most of a CRD's size); everything that constrains a value is kept.

The CRDs are YAML files in the prometheus-operator Go module, so the Go module proxy serves
them (tests/configs/test_kubernetes.py re-derives the committed schemas this way):
  go mod download -json github.com/prometheus-operator/prometheus-operator@v0.93.1   # -> "Dir"
  python3 extract_crd_schema.py "$DIR/example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml" \
    --source "..." > podmonitor-monitoring-v1.json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import yaml


def strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def schema_json(crd_path: str, version_name: str, source: str) -> str:
    """The committed file's exact text for one CRD version."""
    with open(crd_path) as f:
        crd = yaml.safe_load(f)
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == version_name]
    schema = strip(version["schema"]["openAPIV3Schema"])
    out = {
        "$comment": f"openAPIV3Schema of {crd['metadata']['name']} {version_name}, descriptions removed. "
        f"Source: {source}. Regenerate with extract_crd_schema.py.",
        "x-kubernetes-group-version-kind": {
            "group": crd["spec"]["group"],
            "version": version_name,
            "kind": crd["spec"]["names"]["kind"],
        },
        **schema,
    }
    return json.dumps(out, indent=1, sort_keys=True) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("crd")
    ap.add_argument("--version", default="v1")
    ap.add_argument("--source", required=True, help="where the CRD came from (recorded in the output)")
    args = ap.parse_args()
    sys.stdout.write(schema_json(args.crd, args.version, args.source))
    return 0


if __name__ == "__main__":
    sys.exit(main())
