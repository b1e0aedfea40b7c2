"""Prometheus keeps at least as much history as the longest range any rule or dashboard
query reads: a 30-day SLO over 15 days of data silently reports on 15 days."""

from __future__ import annotations

import re

from configfiles import dashboards, load_yaml

from tests.support import REPO

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_RANGE = re.compile(r"\[(\d+)([smhdwy])\]")


def _seconds(text: str) -> int:
    return sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([smhdwy])", text))


def _prometheus_flag(name: str) -> str:
    compose = load_yaml(REPO / "docker-compose.monitoring.yml")
    flags = [c.split("=", 1)[1] for c in compose["services"]["prometheus"]["command"] if c.startswith(f"{name}=")]
    assert len(flags) == 1, f"{name} set {len(flags)} times"
    return flags[0]


def _rule_ranges() -> dict[str, int]:
    ranges = {}
    for path in sorted((REPO / "prometheus" / "rules").glob("*.rules.yml")):
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                name = rule.get("record") or rule.get("alert")
                for n, unit in _RANGE.findall(rule["expr"]):
                    ranges[f"{path.name}: {name}"] = max(ranges.get(f"{path.name}: {name}", 0), int(n) * _UNITS[unit])
    return ranges


def test_retention_covers_the_longest_rule_window():
    retention = _seconds(_prometheus_flag("--storage.tsdb.retention.time"))
    ranges = _rule_ranges()
    longest = max(ranges.values())
    assert longest == 30 * 86400, "the SLO period is 30 days"
    assert retention >= longest, f"retention {retention}s < {longest}s read by {max(ranges, key=ranges.get)}"


def test_retention_covers_the_dashboards_fixed_windows():
    retention = _seconds(_prometheus_flag("--storage.tsdb.retention.time"))
    for name, board in dashboards().items():
        for panel in board.get("panels", []):
            for target in panel.get("targets", []):
                for n, unit in _RANGE.findall(target.get("expr", "")):
                    assert int(n) * _UNITS[unit] <= retention, f"{name}: {panel.get('title')} reads [{n}{unit}]"


def test_size_cap_is_set_and_stated_in_the_readme():
    size = _prometheus_flag("--storage.tsdb.retention.size")
    days = _seconds(_prometheus_flag("--storage.tsdb.retention.time")) // 86400
    assert re.fullmatch(r"\d+GB", size), size
    assert f"Prometheus {days} d / {size[:-2]} GB" in (REPO / "README.md").read_text()
