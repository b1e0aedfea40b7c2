"""Tracing: server/DB/Redis/httpx spans, the app-side keep decision, both sampling modes,
exclusions, W3C propagation, and a dead collector that must not hurt requests."""

from __future__ import annotations

import socket
import time

import pytest
from helpers import base_settings
from opentelemetry.trace import SpanKind
from stub_server import Recorder

from app.observability.spans import KEPT_ATTRIBUTE


def _boom(app):
    @app.get("/boom")
    async def boom():
        raise RuntimeError("kaboom")


def _by_kind(spans, kind):
    return [s for s in spans if s.kind == kind]


@pytest.fixture
def stub():
    recorder = Recorder().start()
    yield recorder
    recorder.stop()


@pytest.mark.parametrize("db_spans", ["kit", "otel"])
async def test_kept_request_exports_server_and_one_span_per_query(app_factory, db_spans):
    async with app_factory(TRACE_SAMPLE_RATE=1.0, DB_SPANS=db_spans) as r:
        user = (await r.client.post("/api/v1/users", json={"email": "t@example.com", "full_name": "T"})).json()
        r.clear_spans()
        assert (await r.client.get(f"/api/v1/users/{user['id']}")).status_code == 200
        spans = r.spans()
        server = _by_kind(spans, SpanKind.SERVER)
        assert len(server) == 1
        root = server[0]
        assert root.name == "GET /api/v1/users/{user_id}"
        assert root.attributes["http.route"] == "/api/v1/users/{user_id}"
        assert root.attributes["http.response.status_code"] == 200
        assert root.attributes[KEPT_ATTRIBUTE] is True
        clients = _by_kind(spans, SpanKind.CLIENT)
        assert [s.name.split()[0] for s in clients] == ["SELECT"], [s.name for s in clients]
        assert clients[0].attributes["db.system.name"] == "postgresql"
        if db_spans == "kit":
            assert clients[0].name == "SELECT users"
            assert clients[0].attributes["db.collection.name"] == "users"
            assert clients[0].attributes["db.query.text"].startswith("SELECT users.id")
        assert all(s.parent.span_id == root.context.span_id for s in clients)
        assert all(s.context.trace_id == root.context.trace_id for s in spans)
        assert not [s for s in spans if s.name == "connect"]
        assert len(spans) == 2, [s.name for s in spans]  # no send/receive spans
        res = root.resource.attributes
        assert res["service.name"] == "fastapi-app" and res["service.version"] == "1.0.0-test"
        assert res["deployment.environment.name"] == "production"
        assert res["service.instance.id"] == socket.gethostname()  # tells replicas apart


async def test_app_mode_drops_unkept_and_keeps_errors_and_slow(app_factory):
    # a threshold well above any ping on a loaded machine (at 50 ms a busy CI kept the ping)
    async with app_factory(TRACE_SAMPLE_RATE=0.0, TRACE_SLOW_THRESHOLD_MS=1000, extend=_boom) as r:
        assert (await r.client.get("/internal/ping")).status_code == 200
        assert r.spans() == []
        assert (await r.client.get("/boom")).status_code == 500
        kept = r.spans()
        assert len(kept) == 1 and kept[0].attributes[KEPT_ATTRIBUTE] is True
        assert kept[0].status.is_ok is False and kept[0].events[0].name == "exception"
        r.clear_spans()
        put = await r.client.put(
            "/admin/faults", json={"latency_ms": 1100}, headers={"X-Admin-Token": r.settings.ADMIN_TOKEN}
        )
        assert put.status_code == 200
        assert (await r.client.get("/api/v1/users")).status_code == 200
        slow = r.spans()
        root = _by_kind(slow, SpanKind.SERVER)[0]
        assert root.attributes[KEPT_ATTRIBUTE] is True
        assert len(slow) >= 2, "the slow request's query span is exported with it"


async def test_collector_mode_exports_everything_and_marks_kept(app_factory):
    async with app_factory(TRACE_SAMPLING_MODE="collector", TRACE_SAMPLE_RATE=0.0, extend=_boom) as r:
        assert (await r.client.get("/internal/ping")).status_code == 200
        spans = r.spans()
        assert len(spans) == 1 and KEPT_ATTRIBUTE not in spans[0].attributes
        r.clear_spans()
        await r.client.get("/boom")
        assert r.spans()[0].attributes[KEPT_ATTRIBUTE] is True


async def test_metrics_and_health_make_no_spans(app_factory):
    async with app_factory(TRACE_SAMPLING_MODE="collector") as r:
        assert (await r.client.get("/health/ready")).status_code == 200
        assert (await r.client.get("/metrics")).status_code == 200
        assert (await r.client.get("/health")).status_code == 200
        assert r.spans() == []


async def test_incoming_traceparent_is_continued(app_factory):
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent = "00f067aa0ba902b7"
    async with app_factory(TRACE_SAMPLE_RATE=1.0) as r:
        resp = await r.client.get("/internal/ping", headers={"traceparent": f"00-{trace_id}-{parent}-01"})
        assert resp.status_code == 200
        root = r.spans()[0]
        assert format(root.context.trace_id, "032x") == trace_id
        assert format(root.parent.span_id, "016x") == parent and root.parent.is_remote


async def test_redis_and_outbound_httpx_spans_propagate_traceparent(app_factory, stub):
    async with app_factory(TRACE_SAMPLE_RATE=1.0, ENRICH_URL=stub.url) as r:
        item = (await r.client.post("/api/v1/items", json={"name": "n", "price": "1.00"})).json()
        r.clear_spans()
        assert (await r.client.get(f"/api/v1/items/{item['id']}/enrich")).status_code == 200
        spans = r.spans()
        root = _by_kind(spans, SpanKind.SERVER)[0]
        redis = [s.name for s in spans if s.attributes.get("db.system.name") == "redis"]
        assert redis == ["GET", "SET"], redis  # cache miss, then fill
        assert len([s for s in spans if s.attributes.get("db.system.name") == "postgresql"]) == 1
        http_client = [
            s for s in _by_kind(spans, SpanKind.CLIENT) if "http.url" in s.attributes or "url.full" in s.attributes
        ]
        assert len(http_client) == 1
        sent = stub.requests[-1]["headers"]
        traceparent = {k.lower(): v for k, v in sent.items()}["traceparent"]
        _, tid, sid, _ = traceparent.split("-")
        assert tid == format(root.context.trace_id, "032x")
        assert sid == format(http_client[0].context.span_id, "016x")


async def test_dead_collector_never_blocks_requests(clean, tmp_path):
    settings = base_settings(
        tmp_path,
        TRACE_SAMPLE_RATE=1.0,
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
        TRACE_EXPORT_TIMEOUT_SECONDS=1.0,
        TRACE_QUEUE_SIZE=64,
    )
    import httpx

    from app.main import create_app

    app = create_app(settings)  # the real OTLP gRPC exporter, pointed at a closed port
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            worst = 0.0
            for _ in range(300):
                started = time.perf_counter()
                assert (await client.get("/internal/ping")).status_code == 200
                worst = max(worst, time.perf_counter() - started)
        assert worst < 0.25, f"a request took {worst:.3f}s with a dead collector"
        started = time.perf_counter()
    assert time.perf_counter() - started < 5.0, "shutdown must be bounded by the export timeout"


def _bad_sql(app):
    from sqlalchemy import text

    @app.get("/bad-sql")
    async def bad_sql():
        async with app.state.res.db.sessions() as s:
            await s.execute(text("SELECT * FROM no_such_table"))


async def test_failed_query_span_is_an_error_and_the_trace_is_kept(app_factory):
    async with app_factory(TRACE_SAMPLE_RATE=0.0, extend=_bad_sql) as r:
        assert (await r.client.get("/bad-sql")).status_code == 500
        spans = r.spans()
        # (a first connection also runs the dialect's own setup queries: SELECT version() ...)
        query = [s for s in spans if s.kind == SpanKind.CLIENT and "no_such_table" in s.name]
        assert len(query) == 1 and query[0].name == "SELECT no_such_table"
        assert not query[0].status.is_ok and query[0].events[0].name == "exception"
        assert _by_kind(spans, SpanKind.SERVER)[0].attributes[KEPT_ATTRIBUTE] is True


def _divide(app):
    from sqlalchemy import text

    @app.get("/divide/{by}")
    async def divide(by: int):
        async with app.state.res.db.sessions() as s:
            return {"q": (await s.execute(text("SELECT 100 / :by"), {"by": by})).scalar()}


async def test_a_failed_query_leaves_later_spans_of_the_same_statement_clean(app_factory):
    # spans of one statement share one attribute dict (db.py): an error must not write into it
    async with app_factory(TRACE_SAMPLE_RATE=1.0, extend=_divide) as r:
        assert (await r.client.get("/divide/0")).status_code == 422  # division_by_zero: a data error
        assert (await r.client.get("/divide/4")).status_code == 200
        spans = [s for s in r.spans() if s.kind == SpanKind.CLIENT and " / " in s.attributes.get("db.query.text", "")]
        assert len(spans) == 2, [s.name for s in spans]
        failed, ok = sorted(spans, key=lambda s: s.start_time)
        assert failed.attributes["error.type"] == "22012" and not failed.status.is_ok
        assert "error.type" not in ok.attributes and "db.response.status_code" not in ok.attributes
