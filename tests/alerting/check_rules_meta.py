#!/usr/bin/env python3
"""Checks promtool cannot do: alert metadata, runbooks, and test coverage of every rule.

  - every alert: severity label (critical|warning), summary, description, runbook_url of the
    form RUNBOOK_BASE/<AlertName>.md, and docs/runbooks/<AlertName>.md exists (no orphans)
  - every (alert, severity) has a firing case and every alert a quiet case in prometheus/rules/*.test.yml
  - every recording rule has a promql_expr_test and is listed in prometheus/rules/README.md
  - every rule file is loaded by some test file
Prints one line per problem; exit 1 if any. Needs PyYAML.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

try:
    import yaml
except ImportError:
    sys.exit("check_rules_meta: PyYAML missing (make venv, or pip install pyyaml)")

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "prometheus" / "rules"
RUNBOOKS = REPO / "docs" / "runbooks"
RUNBOOK_BASE = "https://github.com/your-org/fastapi-observability-stack/blob/main/docs/runbooks"
SEVERITIES = {"critical", "warning"}


def load(path: Path) -> dict:
    with path.open() as fh:
        return yaml.safe_load(fh) or {}


def main() -> int:
    problems: list[str] = []
    alerts: dict[str, set[str]] = defaultdict(set)  # name -> severities
    records: set[str] = set()
    rule_files = sorted(RULES.glob("*.rules.yml"))
    if not rule_files:
        problems.append("no prometheus/rules/*.rules.yml")
    for path in rule_files:
        for group in load(path).get("groups", []):
            for rule in group.get("rules", []):
                if "record" in rule:
                    records.add(rule["record"])
                    continue
                name = rule["alert"]
                where = f"{path.name}: {name}"
                sev = (rule.get("labels") or {}).get("severity")
                if sev not in SEVERITIES:
                    problems.append(f"{where}: severity {sev!r} not in {sorted(SEVERITIES)}")
                alerts[name].add(sev)
                ann = rule.get("annotations") or {}
                for key in ("summary", "description", "runbook_url"):
                    if not str(ann.get(key, "")).strip():
                        problems.append(f"{where}: missing annotation {key}")
                if ann.get("runbook_url") != f"{RUNBOOK_BASE}/{name}.md":
                    problems.append(f"{where}: runbook_url must be {RUNBOOK_BASE}/{name}.md")
                if not (RUNBOOKS / f"{name}.md").is_file():
                    problems.append(f"{where}: docs/runbooks/{name}.md missing")

    for orphan in sorted(p.stem for p in RUNBOOKS.glob("*.md")):
        if orphan not in alerts and orphan != "README":
            problems.append(f"docs/runbooks/{orphan}.md has no alert")

    firing: dict[str, set[str]] = defaultdict(set)
    quiet: set[str] = set()
    exprs: list[str] = []
    loaded: set[Path] = set()
    for path in sorted(RULES.glob("*.test.yml")):
        doc = load(path)
        loaded |= {(path.parent / f).resolve() for f in doc.get("rule_files", [])}
        for test in doc.get("tests", []):
            for case in test.get("alert_rule_test", []):
                expected = case.get("exp_alerts") or []
                if not expected:
                    quiet.add(case["alertname"])
                for exp in expected:
                    firing[case["alertname"]].add((exp.get("exp_labels") or {}).get("severity"))
            exprs += [str(c.get("expr", "")) for c in test.get("promql_expr_test", [])]

    for path in rule_files:
        if path.resolve() not in loaded:
            problems.append(f"{path.name} is not loaded by any prometheus/rules/*.test.yml")
    for name, sevs in sorted(alerts.items()):
        for sev in sorted(s for s in sevs - firing[name] if s):
            problems.append(f"{name}: no firing test case with severity {sev}")
        if name not in quiet:
            problems.append(f"{name}: no quiet test case (exp_alerts: [])")
    readme = (RULES / "README.md").read_text() if (RULES / "README.md").exists() else ""
    for rec in sorted(records):
        token = re.compile(rf"(?<![\w:]){re.escape(rec)}(?![\w:])")
        if not any(token.search(e) for e in exprs):
            problems.append(f"recording rule {rec}: no promql_expr_test")
        if f"`{rec}`" not in readme:
            problems.append(f"recording rule {rec}: not listed in prometheus/rules/README.md")

    for p in problems:
        print(f"  problem: {p}")
    print(f"check_rules_meta: {len(alerts)} alerts, {len(records)} recording rules, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
