"""Dashboard lint: valid JSON in the file-provisioning (bare) model, fixed unique uids, every
panel has a query, every data source a panel names is provisioned, layout fits the grid."""

from __future__ import annotations

import json

import pytest
from configfiles import DASHBOARD_DIR, DATASOURCES, EXPECTED_DASHBOARDS, dashboards, iter_panels, load_yaml

NO_QUERY_PANELS = {"row", "text", "news", "dashlist", "welcome"}


def provisioned_types() -> dict[str, str]:
    return {ds["uid"]: ds["type"] for ds in load_yaml(DATASOURCES)["datasources"]}


@pytest.mark.parametrize("path", sorted(DASHBOARD_DIR.glob("*.json")), ids=lambda p: p.name)
def test_dashboards_are_json(path):
    json.loads(path.read_text())


def test_expected_dashboards_with_unique_uids():
    uids = [d.get("uid") for d in dashboards().values()]
    assert len(uids) == len(set(uids)), f"duplicate dashboard uids: {uids}"
    assert set(uids) == EXPECTED_DASHBOARDS
    for name, d in dashboards().items():
        assert name == f"{d['uid']}.json", "file name should be <uid>.json"


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_bare_model(name):
    d = dashboards()[name]
    # The HTTP API wraps the model in {"dashboard": ...}; file provisioning does not.
    assert "dashboard" not in d, "API form: file provisioning needs the bare dashboard model"
    for key in ("uid", "title", "panels", "schemaVersion"):
        assert key in d, f"missing {key}"
    assert d.get("id") is None, "a provisioned dashboard must not pin a database id"
    assert "fastapi-obs" in d.get("tags", []), "dashboard links rely on the fastapi-obs tag"


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_panels_have_queries_and_fit(name):
    ids = []
    for p in iter_panels(dashboards()[name]):
        ids.append(p.get("id"))
        if p.get("type") in NO_QUERY_PANELS:
            continue
        targets = p.get("targets") or []
        assert targets, f"panel {p.get('title')!r} has no query"
        for t in targets:
            assert str(t.get("expr", "")).strip(), f"panel {p.get('title')!r} target {t.get('refId')} is empty"
        refs = [t.get("refId") for t in targets]
        assert len(refs) == len(set(refs)), f"panel {p.get('title')!r}: duplicate refIds {refs}"
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24, f"panel {p.get('title')!r} exceeds the 24-column grid"
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {ids}"


def _datasource_refs(d):
    for p in iter_panels(d):
        if p.get("datasource"):
            yield f"panel {p.get('title')!r}", p["datasource"]
        for t in p.get("targets") or []:
            if t.get("datasource"):
                yield f"panel {p.get('title')!r} target {t.get('refId')}", t["datasource"]
    for v in d.get("templating", {}).get("list", []):
        if v.get("datasource"):
            yield f"variable {v['name']}", v["datasource"]
    for a in d.get("annotations", {}).get("list", []):
        if a.get("datasource"):
            yield f"annotation {a.get('name')!r}", a["datasource"]


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_datasource_uids_are_provisioned(name):
    types = provisioned_types()
    refs = list(_datasource_refs(dashboards()[name]))
    assert refs, "no data source references at all"
    for where, ds in refs:
        assert isinstance(ds, dict), f"{where}: datasource by name ({ds!r}); use {{type, uid}}"
        assert ds.get("uid") in types, f"{where}: uid {ds.get('uid')!r} is not provisioned ({sorted(types)})"
        assert ds.get("type") == types[ds["uid"]], f"{where}: type {ds.get('type')!r} != {types[ds['uid']]!r}"


def test_overview_has_twelve_metric_panels_exemplars_and_logs():
    d = dashboards()["fastapi-overview.json"]
    panels = list(iter_panels(d))
    metric_panels = [p for p in panels if p["datasource"]["uid"] == "prometheus"]
    assert len(metric_panels) >= 12, "the overview's 12 metric panels must all be there"
    latency = [p for p in panels if "latency percentiles" in p["title"].lower()]
    assert latency and all(t.get("exemplar") for t in latency[0]["targets"]), "latency needs exemplars"
    assert any(p["type"] == "logs" and p["datasource"]["uid"] == "loki" for p in panels), "no logs panel"
    # changes() of an info metric never changes: no annotation may be built on it
    for a in d["annotations"]["list"]:
        assert "app_info" not in a.get("expr", ""), "changes(app_info) never fires"
