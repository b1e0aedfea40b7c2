"""Metrics: names, route-template labels, cardinality control, exemplars, negotiation."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException
from helpers import sample

from app.observability.limiter import LabelLimiter, method_label, status_group


def _extra_routes(app):
    inner = APIRouter(prefix="/things")

    @inner.get("/{thing_id}/parts/{part}")
    async def part(thing_id: int, part: str):
        if part == "missing":
            raise HTTPException(404)
        return {"ok": True}

    outer = APIRouter(prefix="/v9")
    outer.include_router(inner)
    app.include_router(outer, prefix="/nested")
    again = APIRouter(prefix="/again")
    again.include_router(inner)
    app.include_router(again)

    @app.get("/boom")
    async def boom():
        raise RuntimeError("kaboom")


def _req(method, endpoint, status):
    return sample("http_requests_total", {"method": method, "endpoint": endpoint, "status_code": status})


async def test_endpoint_label_is_the_full_route_template(app_factory):
    async with app_factory(extend=_extra_routes) as r:
        tmpl = "/nested/v9/things/{thing_id}/parts/{part}"
        before = _req("GET", tmpl, "2xx")
        before404 = _req("GET", tmpl, "4xx")
        again = _req("GET", "/again/things/{thing_id}/parts/{part}", "2xx")
        unmatched = _req("GET", "unmatched", "4xx")
        assert (await r.client.get("/nested/v9/things/1/parts/a")).status_code == 200
        assert (await r.client.get("/nested/v9/things/2/parts/b")).status_code == 200
        assert (await r.client.get("/nested/v9/things/2/parts/missing")).status_code == 404
        assert (await r.client.get("/again/things/3/parts/c")).status_code == 200  # same route object
        assert (await r.client.get("/no/such/path/123")).status_code == 404
        assert _req("GET", tmpl, "2xx") == before + 2
        assert _req("GET", tmpl, "4xx") == before404 + 1
        assert _req("GET", "/again/things/{thing_id}/parts/{part}", "2xx") == again + 1
        assert _req("GET", "unmatched", "4xx") == unmatched + 1
        assert sample("http_request_duration_seconds_count", {"method": "GET", "endpoint": tmpl}) >= 3
        body = (await r.client.get("/metrics")).text
        assert "/no/such/path" not in body and 'endpoint="/nested/v9/things/1' not in body


async def test_methods_outside_the_allowlist_collapse(app_factory):
    async with app_factory() as r:
        before = _req("other", "/api/v1/users", "4xx")
        resp = await r.client.request("BREW", "/api/v1/users")
        assert resp.status_code == 405
        assert _req("other", "/api/v1/users", "4xx") == before + 1


async def test_exceptions_count_as_5xx_and_are_timed(app_factory):
    async with app_factory(extend=_extra_routes) as r:
        before = _req("GET", "/boom", "5xx")
        timed = sample("http_request_duration_seconds_count", {"method": "GET", "endpoint": "/boom"})
        resp = await r.client.get("/boom")
        assert resp.status_code == 500 and resp.headers["x-request-id"]
        assert _req("GET", "/boom", "5xx") == before + 1
        assert sample("http_request_duration_seconds_count", {"method": "GET", "endpoint": "/boom"}) == timed + 1
        assert sample("http_requests_in_progress") == 0


def test_limiter_and_label_helpers():
    limit = LabelLimiter(max_values=3)
    assert [limit("endpoint", v) for v in ["a", "b", "c", "d", "a", "e"]] == ["a", "b", "c", "other", "a", "other"]
    assert limit("table", "x") == "x"  # per label
    assert limit.overflowed["endpoint"] == 2
    assert method_label("GET") == "GET" and method_label("PROPFIND") == "other"
    assert [status_group(s) for s in (200, 302, 404, 503, 999)] == ["2xx", "3xx", "4xx", "5xx", "5xx"]


async def test_limiter_guards_labels_in_the_app(app_factory):
    async with app_factory(METRICS_MAX_LABEL_VALUES=2) as r:
        for path in ("/api/v1/users", "/api/v1/items", "/internal/ping"):
            await r.client.get(path)
        assert _req("GET", "other", "2xx") >= 1


EXEMPLAR = re.compile(
    r'^http_requests_total\{endpoint="/probe",method="GET",status_code="2xx"\} \S+ # \{trace_id="([0-9a-f]{32})"\}',
    re.M,
)


def _probe(app):
    @app.get("/probe")
    async def probe():
        return {}


async def test_exemplars_only_in_openmetrics_and_only_for_kept_traces(app_factory):
    async with app_factory(TRACE_SAMPLE_RATE=0.0, extend=_probe) as r:
        assert (await r.client.get("/probe")).status_code == 200
        om = await r.client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
        assert om.headers["content-type"].startswith("application/openmetrics-text")
        assert not EXEMPLAR.search(om.text), "an unkept trace must not become an exemplar"
    async with app_factory(TRACE_SAMPLE_RATE=1.0, extend=_probe) as r:
        assert (await r.client.get("/probe")).status_code == 200
        om = (await r.client.get("/metrics", headers={"Accept": "application/openmetrics-text"})).text
        match = EXEMPLAR.search(om)
        assert match, "kept trace must be an exemplar"
        exported = {format(s.context.trace_id, "032x") for s in r.spans()}
        assert match.group(1) in exported, "exemplar must point at an exported trace"
        plain = await r.client.get("/metrics")
        assert plain.headers["content-type"].startswith("text/plain")
        assert "# {trace_id" not in plain.text
        for name in (
            "http_requests_total",
            "http_request_duration_seconds_bucket",
            "http_requests_in_progress",
            "db_queries_total",
            "db_query_duration_seconds_bucket",
            "db_connections_active",
            "db_connections_max",
            "cache_hits_total",
            "cache_misses_total",
            "user_registrations_total",
            "active_users",
            "app_info",
        ):
            assert re.search(rf"^{name}[{{ ]", plain.text, re.M) or f"# TYPE {name}" in plain.text, name
        assert 'app_info{environment="production",version="1.0.0-test"} 1.0' in plain.text
        assert 'le="0.5"' in plain.text and 'le="1.0"' in plain.text


async def test_db_metrics_by_operation_and_table(app_factory):
    async with app_factory() as r:
        before = sample("db_queries_total", {"operation": "INSERT", "table": "users"})
        await r.client.post("/api/v1/users", json={"email": "m@example.com", "full_name": "M"})
        assert sample("db_queries_total", {"operation": "INSERT", "table": "users"}) == before + 1
        assert sample("db_query_duration_seconds_count", {"operation": "INSERT", "table": "users"}) >= 1
        assert sample("db_connections_max") == r.settings.DB_POOL_SIZE + r.settings.DB_MAX_OVERFLOW
        assert sample("db_connections_active") == 0


async def test_executemany_and_no_parameter_statements_are_observed(app_factory):
    from sqlalchemy import text

    async with app_factory() as r:
        labels = {"operation": "INSERT", "table": "users"}
        before = sample("db_queries_total", labels)
        none_before = sample("db_queries_total", {"operation": "SELECT", "table": "none"})
        async with r.app.state.res.db.sessions() as s:
            await s.execute(
                text("INSERT INTO users (email, full_name) VALUES (:e, :n)"),
                [{"e": "m1@example.com", "n": "A"}, {"e": "m2@example.com", "n": "B"}],
            )
            await s.execute(text("SELECT 1"))
            await s.commit()
        assert sample("db_queries_total", labels) == before + 1  # one executemany
        assert sample("db_queries_total", {"operation": "SELECT", "table": "none"}) >= none_before + 1


async def test_undelivered_telemetry_is_a_series_per_signal_and_reason_from_the_start(app_factory):
    async with app_factory(TRACE_SAMPLE_RATE=1.0) as r:
        assert (await r.client.get("/api/v1/users/1")).status_code in (200, 404)
        body = (await r.client.get("/metrics")).text
        assert 'telemetry_dropped_total{reason="queue_full",signal="spans"} 0.0' in body
        assert 'telemetry_dropped_total{reason="export_failed",signal="spans"} 0.0' in body
        assert sample("telemetry_dropped_total", {"signal": "spans", "reason": "queue_full"}) == 0
