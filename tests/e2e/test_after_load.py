"""After the load test: every dashboard panel and every README query returns data.

Prometheus queries run against the live Prometheus. LogQL and TraceQL need Loki and Tempo;
where those are not running (natively they cannot be built here), each is listed as NOT RUN.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.support import REPO, stack
from tests.support.net import poll_until

# Grafana's template variables, replaced as Grafana would for a 1-hour view of this stack.
VARIABLES = {
    "$__rate_interval": "1m",
    "${__rate_interval}": "1m",
    "$__interval": "30s",
    "${__interval}": "30s",
    "$__range": "1h",
    "${__range}": "1h",
    "$__auto": "1m",
}


def dashboard_targets():
    for path in sorted((REPO / "grafana/dashboards").glob("*.json")):
        dash = json.loads(path.read_text())
        defaults = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
        panels = []
        for p in dash.get("panels", []):
            panels += p.get("panels", []) + [p]
        for p in panels:
            for t in p.get("targets") or []:
                ds = (t.get("datasource") or p.get("datasource") or {}).get("uid", "")
                expr = t.get("expr") or t.get("query") or ""
                if expr:
                    yield f"{path.stem}: {p.get('title')} [{t.get('refId')}]", ds, expr, defaults


def substitute(expr: str, defaults: dict) -> str:
    for k, v in VARIABLES.items():
        expr = expr.replace(k, v)
    for name, var in defaults.items():
        cur = (var.get("current") or {}).get("value") or ".*"
        cur = ".*" if cur in ("$__all", ["$__all"]) else cur
        cur = "|".join(cur) if isinstance(cur, list) else cur
        expr = re.sub(r"\$\{" + name + r"(:[a-z]+)?\}|\$" + name + r"\b", cur, expr)
    return expr


# Metrics only a given component exposes or produces: its panels need it running.
NEEDS = {
    "loki": re.compile(r'\bloki_(?!source_|write_|process_)\w+|job="loki"'),
    "tempo": re.compile(r'\btempo(db)?_\w+|\btraces_(spanmetrics|service_graph)\w*|job="tempo"'),
    "grafana": re.compile(r'\bgrafana_\w+|job="grafana"'),
}


def runnable(expr: str) -> bool:
    return not any(NEEDS[c].search(expr) for c in NEEDS if c in stack.native_skipped())


ALL_PROM = [t for t in dashboard_targets() if t[1] in ("prometheus", "${datasource}", "$datasource")]
PROM_TARGETS = [t for t in ALL_PROM if runnable(t[2])]


@pytest.mark.parametrize("title,ds,expr,defaults", PROM_TARGETS, ids=[t[0] for t in PROM_TARGETS])
def test_dashboard_panel_returns_data(title, ds, expr, defaults):
    query = substitute(expr, defaults)
    result = poll_until(f"data for {title}", lambda: stack.promql(query), timeout=30, every=5)
    assert result, query


def test_dashboards_have_prometheus_panels_and_list_the_rest():
    assert len(PROM_TARGETS) >= 20, len(PROM_TARGETS)
    others = [t[0] for t in dashboard_targets() if t not in PROM_TARGETS]
    assert len(others) < len(PROM_TARGETS), "most panels must be checked here"
    missing = stack.native_skipped()
    if others and missing:
        print(f"\nNOT RUN ({', '.join(sorted(missing))} not running): " + "; ".join(others))


def readme_queries(lang: str) -> list[str]:
    """One query per line in the README's ```promql / ```logql blocks; `#` lines are comments."""
    text = (REPO / "README.md").read_text()
    blocks = re.findall(rf"```{lang}\n(.*?)```", text, re.S)
    return [ln.strip() for b in blocks for ln in b.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


README_PROMQL = [q for q in readme_queries("promql") if runnable(q)]


@pytest.mark.parametrize("query", README_PROMQL)
def test_readme_promql_returns_data(query):
    assert poll_until(f"data for {query}", lambda: stack.promql(query), timeout=30, every=5), query


def test_readme_has_a_cheat_sheet():
    assert len(README_PROMQL) >= 5
    not_run = [q for q in readme_queries("promql") if not runnable(q)]
    logql = readme_queries("logql") if "loki" in stack.native_skipped() else []
    if not_run or logql:
        print(f"\nNOT RUN (their backend is not running here): {not_run + logql}")
