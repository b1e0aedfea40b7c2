"""Cross-links that work by construction: one exemplar label name from the app through
Tempo's span metrics to Grafana, and timeouts that nest (Loki query < Loki HTTP write
< Grafana's Loki data source)."""

from __future__ import annotations

import re

from configfiles import DATASOURCES, load_yaml

from tests.support import REPO

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def _seconds(value: str) -> float:
    return sum(float(n) * _UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", value))


def _datasources():
    return {ds["uid"]: ds for ds in load_yaml(DATASOURCES)["datasources"]}


def _app_exemplar_label() -> str:
    source = (REPO / "app" / "observability" / "metrics.py").read_text()
    labels = set(re.findall(r"^EXEMPLAR_LABEL = \"(\w+)\"", source, re.M))
    assert len(labels) == 1, labels
    return labels.pop()


def test_one_exemplar_label_from_app_and_tempo_to_grafana():
    app_label = _app_exemplar_label()
    tempo = load_yaml(REPO / "tempo" / "tempo.yml")
    generator = tempo["overrides"]["defaults"]["metrics_generator"]
    # Tempo 3.0 defaults this to "traceID" (modules/generator/registry/histogram.go at v3.0.3)
    assert generator.get("trace_id_label_name") == app_label, "span-metric exemplars would carry traceID"
    destinations = _datasources()["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    assert {d["name"] for d in destinations} == {app_label}
    assert tempo["metrics_generator"]["storage"]["remote_write"][0]["send_exemplars"] is True


def test_loki_timeouts_nest():
    loki = load_yaml(REPO / "loki" / "loki.yml")
    query = _seconds(loki["limits_config"]["query_timeout"])
    write = _seconds(loki["server"].get("http_server_write_timeout", "30s"))  # dskit default 30s
    grafana = float(_datasources()["loki"]["jsonData"].get("timeout", 30))  # Grafana's data proxy default 30 s
    assert query < write, f"Loki's HTTP server cuts queries at {write}s, before query_timeout {query}s"
    assert write <= grafana, f"Grafana gives up on Loki after {grafana}s, before Loki's {write}s"
