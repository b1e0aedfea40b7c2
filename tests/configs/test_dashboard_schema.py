"""Dashboards checked by what Grafana itself publishes, at the pinned Grafana line: every
dashboard and panel type-checked against @grafana/schema (TypeScript, strict), every unit
against @grafana/data's unit ids (grafana/schema-check/check.mjs), and schemaVersion equal to
the one the schema package writes for a new dashboard."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from configfiles import DASHBOARD_DIR, dashboards

from tests.support import REPO

CHECK = REPO / "grafana" / "schema-check"


def _node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        return node
    if os.environ.get("CI") == "true":
        pytest.fail("node and npm are required on CI for the dashboard schema check")
    pytest.skip("node/npm not found")


@pytest.fixture(scope="module")
def checker() -> list[str]:
    node = _node()
    if not (CHECK / "node_modules" / "@grafana" / "schema").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=CHECK, check=True, timeout=600)
    return [node, str(CHECK / "check.mjs")]


def _run(checker: list[str], directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*checker, str(directory)], cwd=CHECK, capture_output=True, text=True, timeout=600)


def test_dashboards_type_check_against_grafana_schema(checker):
    out = _run(checker, DASHBOARD_DIR)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{len(dashboards())} dashboards" in out.stdout


def _broken(tmp_path: Path, change) -> Path:
    board = json.loads((DASHBOARD_DIR / "datastores.json").read_text())
    change(board["panels"][-1])
    (tmp_path / "datastores.json").write_text(json.dumps(board))
    return tmp_path


def test_checker_rejects_an_invalid_unit(checker, tmp_path):
    # (rowsps, used by the Postgres rows panel, is a real unit id: "rows/sec" in @grafana/data)
    out = _run(checker, _broken(tmp_path, lambda p: p["fieldConfig"]["defaults"].update(unit="rows_per_sec")))
    assert out.returncode != 0 and "unit rows_per_sec" in out.stderr


def test_checker_rejects_an_unknown_panel_option(checker, tmp_path):
    out = _run(checker, _broken(tmp_path, lambda p: p["options"].update(legendd={"showLegend": True})))
    assert out.returncode != 0 and "legendd" in out.stdout + out.stderr


def test_schema_version_is_the_pinned_grafana_one(checker):
    package = CHECK / "node_modules" / "@grafana" / "schema"
    version = json.loads((package / "package.json").read_text())["version"]
    source = (package / "dist" / "esm" / "raw" / "dashboard" / "x" / "types.gen.mjs").read_text()
    current = int(re.search(r"schemaVersion: (\d+)", source).group(1))
    for name, board in dashboards().items():
        assert board["schemaVersion"] == current, (
            f"{name}: schemaVersion {board['schemaVersion']} ({version} writes {current})"
        )


def test_every_panel_has_a_unit_and_a_description():
    for name, board in dashboards().items():
        stack = list(board["panels"])
        while stack:
            p = stack.pop()
            stack.extend(p.get("panels", []))
            if p["type"] == "row":
                continue
            assert str(p.get("description", "")).strip(), f"{name}: {p['title']} has no description"
            if p["type"] != "logs":  # log lines have no numeric field to format
                assert p.get("fieldConfig", {}).get("defaults", {}).get("unit"), f"{name}: {p['title']} has no unit"
