"""The README's query examples: PromQL parsed by the pinned promtool; LogQL and TraceQL get
structural checks only (NOT RUN through a real parser: Loki and Tempo are AGPL, neither
built nor run here; grammar read at the pinned tags: Loki pkg/logql/syntax/expr.y,
Tempo v3.0.3 pkg/traceql/expr.y and lexer.go)."""

from __future__ import annotations

import re
import subprocess

import pytest
from test_queries import logql_problems

from tests.support import REPO
from tests.support.tools import require_tool

DOCS = [REPO / "README.md", REPO / "prometheus" / "rules" / "README.md"]


def blocks(lang: str) -> list[tuple[str, str]]:
    """(where, query) for every non-comment line of every ```lang block."""
    out = []
    for doc in DOCS:
        text = doc.read_text()
        for m in re.finditer(rf"^```{lang}\n(.*?)^```", text, re.M | re.S):
            first = text.count("\n", 0, m.start()) + 2
            for i, line in enumerate(m.group(1).splitlines()):
                if line.strip() and not line.lstrip().startswith("#"):
                    out.append((f"{doc.relative_to(REPO)}:{first + i}", line.strip()))
    return out


PROMQL = blocks("promql")
LOGQL = blocks("logql")
TRACEQL = blocks("traceql")

# Tempo 3.0.3 lexer.go: intrinsics usable without a scope.
TRACEQL_INTRINSICS = {
    "duration",
    "traceDuration",
    "status",
    "statusMessage",
    "kind",
    "name",
    "rootName",
    "rootServiceName",
    "childCount",
    "nestedSetLeft",
    "nestedSetRight",
    "nestedSetParent",
}
TRACEQL_SCOPES = ("resource.", "span.", "event.", "link.", "instrumentation.", ".", "trace:", "span:", "event:")
TRACEQL_PIPE_ITEM = re.compile(r"\s*(by\(|select\(|coalesce\(\)|(count|avg|min|max|sum)\(.*\)\s*(=|!=|<|<=|>|>=)|\{)")


def test_docs_have_examples_of_every_language():
    assert len(PROMQL) >= 10 and LOGQL and TRACEQL


@pytest.mark.parametrize("where,expr", PROMQL, ids=[w for w, _ in PROMQL])
def test_readme_promql_parses(where, expr):
    promtool = require_tool("promtool")
    out = subprocess.run([promtool, "--experimental", "promql", "format", expr], capture_output=True, text=True)
    assert out.returncode == 0, f"{where}: {expr}\n{out.stderr.strip()}"


@pytest.mark.parametrize("where,expr", LOGQL, ids=[w for w, _ in LOGQL])
def test_readme_logql_is_sane(where, expr):
    # structural only: NOT RUN through Loki's parser
    assert expr.count("(") == expr.count(")"), f"{where}: unbalanced parentheses"
    inner = re.search(r"(\{.*?\}[^\[]*)\[", expr) if not expr.startswith("{") else None
    log_query = inner.group(1) if inner else expr  # the log range inside a metric query
    assert not logql_problems(log_query), f"{where}: {logql_problems(log_query)}"


def traceql_problems(expr: str) -> list[str]:
    problems = []
    depth, filters, rest, current = 0, [], [], []
    for c in expr:
        if c == "{":
            depth += 1
            if depth == 1:
                current = []
                continue
        elif c == "}":
            depth -= 1
            if depth == 0:
                filters.append("".join(current))
                rest.append("{}")
                continue
        (current if depth else rest).append(c)
    if depth or not filters:
        return ["unbalanced braces or no spanset filter"]
    for body in filters:
        body = re.sub(r'"(?:[^"\\]|\\.)*"', '""', body)
        for ident in re.findall(r"(?<![\w.:\"])([A-Za-z_.:][\w.:]*)\s*(?:=|!=|=~|!~|<|<=|>|>=)", body):
            if ident not in TRACEQL_INTRINSICS and not ident.startswith(TRACEQL_SCOPES):
                problems.append(f"{ident!r} is neither an intrinsic nor scoped")
    outside = "".join(rest)
    for item in outside.split("|")[1:]:
        if not TRACEQL_PIPE_ITEM.match(item):
            problems.append(
                f"after |, Tempo's grammar wants an aggregate, by(), select() or a spanset: {item.strip()!r}"
            )
    return problems


@pytest.mark.parametrize("where,expr", TRACEQL, ids=[w for w, _ in TRACEQL])
def test_readme_traceql_is_sane(where, expr):
    # structural only: NOT RUN through Tempo's parser
    assert not traceql_problems(expr), f"{where}: {traceql_problems(expr)}"


@pytest.mark.parametrize(
    "bad",
    [
        '{ resource.service.name = "fastapi-app" } | duration > 1s',
        '{ http.route = "/x" }',
        "{ status = error",
    ],
)
def test_traceql_check_rejects(bad):
    assert traceql_problems(bad)


def test_traceql_check_accepts_aggregates():
    assert not traceql_problems("{ status = error } | count() > 2")
    assert not traceql_problems("{ kind = server } | by(span.http.route) | select(span.http.route)")
