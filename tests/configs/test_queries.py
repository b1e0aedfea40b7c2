"""Every dashboard query parses: PromQL with the pinned promtool, LogQL with a structural
check (no Loki binary here). Recording rules the dashboards use must exist in prometheus/rules."""

from __future__ import annotations

import re
import subprocess

import pytest
from configfiles import dashboards, iter_panels, load_yaml

from tests.support import REPO
from tests.support.tools import require_tool

# Stream labels the collectors create (alloy/config.alloy, promtail/promtail.yml); a selector on
# any other label silently matches nothing.
LOKI_STREAM_LABELS = {"job", "service_name", "level", "collector", "container", "filename"}
GRAFANA_DURATIONS = re.compile(r"\$(?:\{__(?:rate_interval|interval|range)\}|__(?:rate_interval|interval|range)\b)")
GRAFANA_VARIABLE = re.compile(r"\$\{?(\w+)(?::\w+)?\}?")
MATCHER = re.compile(r'\s*([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


def substitute(expr: str) -> str:
    """Replace Grafana's variables with values the query languages accept."""
    return GRAFANA_VARIABLE.sub("lint", GRAFANA_DURATIONS.sub("5m", expr))


def queries(kind: str):
    """(where, expr) for every query of one data-source type, in panels, variables, annotations."""
    out = []
    for name, d in dashboards().items():
        for p in iter_panels(d):
            for t in p.get("targets") or []:
                ds = t.get("datasource") or p.get("datasource") or {}
                if ds.get("type") == kind and t.get("expr"):
                    out.append((f"{name}: {p['title']} [{t['refId']}]", t["expr"]))
        for v in d.get("templating", {}).get("list", []):
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            if v.get("type") == "query" and (v.get("datasource") or {}).get("type") == kind and q:
                m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\)\s*", q)
                out.append((f"{name}: variable {v['name']}", m.group(1) if m else q))
        for a in d.get("annotations", {}).get("list", []):
            if (a.get("datasource") or {}).get("type") == kind and a.get("expr"):
                out.append((f"{name}: annotation {a['name']}", a["expr"]))
    return out


PROMQL = queries("prometheus")
LOGQL = queries("loki")


def test_there_are_queries():
    assert len(PROMQL) > 40 and LOGQL


@pytest.mark.parametrize("where,expr", PROMQL, ids=[w for w, _ in PROMQL])
def test_promql_parses(where, expr):
    promtool = require_tool("promtool")
    out = subprocess.run(
        [promtool, "--experimental", "promql", "format", substitute(expr)], capture_output=True, text=True
    )
    assert out.returncode == 0, f"{where}: PromQL does not parse:\n  {expr}\n{out.stderr.strip()}"


def test_promtool_rejects_a_broken_query():
    """Guards the check itself: `histogram_quantile(...) by (x)`, a common invalid query, is refused."""
    promtool = require_tool("promtool")
    bad = "histogram_quantile(0.95, rate(db_query_duration_seconds_bucket[5m])) by (operation)"
    out = subprocess.run([promtool, "--experimental", "promql", "format", bad], capture_output=True, text=True)
    assert out.returncode != 0


def test_recording_rules_used_by_dashboards_exist():
    rules_dir = REPO / "prometheus" / "rules"
    recorded = set()
    for path in rules_dir.glob("*.rules.yml"):
        for group in (load_yaml(path) or {}).get("groups", []):
            recorded |= {r["record"] for r in group.get("rules", []) if "record" in r}
    used = {m for _, expr in PROMQL for m in re.findall(r"\b[a-z_][a-z0-9_]*:[a-z0-9_:]+\b", expr)}
    assert used, "the SLO dashboard should use recording rules"
    missing = sorted(used - recorded)
    assert not missing, f"dashboards use recording rules nobody records: {missing}"


def split_selector(expr: str) -> tuple[str, str]:
    """'{a="b"} | x' -> ('a="b"', ' | x'), honouring quotes; raises ValueError if unbalanced."""
    start = expr.index("{")
    quoted = escaped = False
    for i in range(start + 1, len(expr)):
        c = expr[i]
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == '"':
            quoted = not quoted
        elif c == "}" and not quoted:
            return expr[start + 1 : i], expr[i + 1 :]
    raise ValueError("unterminated stream selector")


def logql_problems(expr: str) -> list[str]:
    expr = substitute(expr)
    if expr.count('"') % 2 or expr.count("(") != expr.count(")"):
        return ["unbalanced quotes or parentheses"]
    try:
        selector, rest = split_selector(expr)
    except ValueError as exc:
        return [str(exc)]
    matchers, pos = [], 0
    while pos < len(selector):
        m = MATCHER.match(selector, pos)
        if not m:
            return [f"cannot parse matcher at {selector[pos:]!r}"]
        matchers.append(m.groups())
        pos = m.end()
    problems = [f"unknown stream label {n!r}" for n, _, _ in matchers if n not in LOKI_STREAM_LABELS]
    if not any(op == "=" and val for _, op, val in matchers):
        problems.append("needs one equality matcher with a non-empty value")
    stage = re.compile(r"\s*(\|=|!=|\|~|!~|\|)\s*")
    if rest.strip() and not stage.match(rest) and not rest.lstrip().startswith("["):
        problems.append(f"unexpected text after the selector: {rest.strip()[:30]!r}")
    return problems


@pytest.mark.parametrize("where,expr", LOGQL, ids=[w for w, _ in LOGQL])
def test_logql_is_sane(where, expr):
    assert not logql_problems(expr), f"{where}: {logql_problems(expr)}\n  {expr}"


@pytest.mark.parametrize("bad", ['{level=~".*"}', '{job="x"', '{pod="a"}', '{job="a"} trace_id="x"'])
def test_logql_check_rejects(bad):
    assert logql_problems(bad)


def label_values(expr: str, label: str) -> list[str]:
    return re.findall(rf'\b{label}\s*(?:=~|!~|!=|=)\s*"([^"]*)"', expr)


@pytest.mark.parametrize("where,expr", PROMQL, ids=[w for w, _ in PROMQL])
def test_label_values_match_what_is_stored(where, expr):
    # The app's status_code holds the class ("5xx"); `=~"5.."` parses but matches nothing.
    if "http_requests_total" in expr:
        for v in label_values(expr, "status_code"):
            assert re.fullmatch(r"[1-5]xx(\|[1-5]xx)*", v), f"{where}: status_code {v!r} is not a class"
    # Prometheus 3 stores classic-histogram le as float text: le="1" matches nothing, le="1.0" does.
    for v in label_values(expr, "le"):
        assert v == "+Inf" or re.fullmatch(r"\d+\.\d+(e[+-]?\d+)?", v), f"{where}: le={v!r} is not float text"
