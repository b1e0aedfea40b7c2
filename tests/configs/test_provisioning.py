"""Grafana provisioning sanity: fixed data-source UIDs, cross-signal links that point at
provisioned UIDs, `$$` escaping, one dashboard folder mounted where the provider looks."""

from __future__ import annotations

import re

from configfiles import DASHBOARD_PROVIDERS, DATASOURCES, EXPECTED_DATASOURCES, load_yaml

from tests.support import REPO


def by_uid():
    doc = load_yaml(DATASOURCES)
    assert doc["apiVersion"] == 1
    return {ds["uid"]: ds for ds in doc["datasources"]}


def test_fixed_uids_and_types():
    ds = by_uid()
    assert set(ds) == EXPECTED_DATASOURCES
    assert {u: d["type"] for u, d in ds.items()} == {
        "prometheus": "prometheus",
        "loki": "loki",
        "tempo": "tempo",
        "alertmanager": "alertmanager",
    }
    assert [u for u, d in ds.items() if d.get("isDefault")] == ["prometheus"]
    assert all(d["access"] == "proxy" and d.get("editable") is False for d in ds.values())
    assert ds["alertmanager"]["jsonData"]["implementation"] == "prometheus"


def test_links_between_signals_point_at_provisioned_uids():
    ds = by_uid()
    exemplars = ds["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    assert [e["datasourceUid"] for e in exemplars] == ["tempo"]
    assert exemplars[0]["name"] == "trace_id", "the app's exemplar label is trace_id"

    derived = ds["loki"]["jsonData"]["derivedFields"]
    assert any(
        f["datasourceUid"] == "tempo" and f["matcherRegex"] == "trace_id" and f.get("matcherType") == "label"
        for f in derived
    ), "Loki trace_id -> Tempo link missing"

    tempo = ds["tempo"]["jsonData"]
    assert tempo["tracesToLogsV2"]["datasourceUid"] == "loki"
    assert {"key": "service.name", "value": "service_name"} in tempo["tracesToLogsV2"]["tags"]
    assert tempo["tracesToMetrics"]["datasourceUid"] == "prometheus"
    assert tempo["tracesToMetrics"]["queries"], "tracesToMetrics without queries shows no links"
    assert tempo["serviceMap"]["datasourceUid"] == "prometheus"
    assert tempo["nodeGraph"]["enabled"] is True
    assert "lokiSearch" not in tempo, "legacy key: Tempo's search tab finds traces with TraceQL"


def test_dollar_signs_are_escaped():
    # Grafana expands $VAR / ${VAR} in provisioning files from its environment: a Grafana
    # template variable must be written $${...}. Find any single $ that is not part of $$.
    for path in (DATASOURCES, DASHBOARD_PROVIDERS):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue  # Grafana expands values, not comments
            code = line.split(" #", 1)[0]
            for m in re.finditer(r"\$+", code):
                assert len(m.group()) % 2 == 0, f"{path.name}:{n}: unescaped $ in {line.strip()!r}"


def test_template_variables_survive_unescaping():
    text = DATASOURCES.read_text()
    assert "$${__value.raw}" in text
    assert "$${__trace.traceId}" in text
    assert "$$__tags" in text


def test_dashboard_provider_one_folder_and_mounted_path():
    doc = load_yaml(DASHBOARD_PROVIDERS)
    assert doc["apiVersion"] == 1
    [provider] = doc["providers"]
    assert provider["type"] == "file"
    assert provider["folder"] == "FastAPI Observability"
    path = provider["options"]["path"]
    compose = (REPO / "docker-compose.monitoring.yml").read_text()
    assert f"./grafana/dashboards:{path}:ro" in compose, f"compose does not mount dashboards at {path}"
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in compose
