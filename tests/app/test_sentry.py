"""Sentry with the real SDK against a local DSN endpoint: once, scrubbed, with trace_id;
W3C traceparent still flows on outbound calls while Sentry is on."""

from __future__ import annotations

import gzip
import json

import pytest
import sentry_sdk
from stub_server import Recorder

from app.observability import errors

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


def _events(recorder: Recorder) -> list[dict]:
    events = []
    for req in recorder.requests:
        if not req["path"].endswith("/envelope/"):
            continue
        body = req["body"]
        encoding = {k.lower(): v for k, v in req["headers"].items()}.get("content-encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            import brotli  # only used when the SDK found brotli installed

            body = brotli.decompress(body)
        lines = body.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events


def _crash(app):
    @app.get("/crash")
    async def crash():
        password = "hun" + "ter2"  # noqa: F841 - a runtime secret in a local variable
        raise ValueError("sentry test boom")


@pytest.fixture
def sentry_sink():
    recorder = Recorder().start()
    yield recorder
    sentry_sdk.get_client().close()
    errors._enabled = False
    recorder.stop()


async def test_exception_reaches_sentry_once_scrubbed_with_trace_id(app_factory, sentry_sink):
    dsn = f"http://publickey@127.0.0.1:{sentry_sink.server.server_address[1]}/42"
    async with app_factory(SENTRY_DSN=dsn, TRACE_SAMPLE_RATE=0.0, extend=_crash) as r:
        resp = await r.client.get(
            "/crash",
            params={"password": "s3cret", "token": "t0k", "page": "2"},
            headers={
                "traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01",
                "Authorization": "Bearer abc.def",
                "Cookie": "session=xyz",
                "X-Api-Key": "key-123",
                "X-Admin-Token": "adm",
            },
        )
        assert resp.status_code == 500
        sentry_sdk.flush(timeout=5)
        events = _events(sentry_sink)
        assert len(events) == 1, f"expected exactly one event, got {len(events)}"
        event = events[0]
        assert event["exception"]["values"][-1]["value"] == "sentry test boom"
        assert event["tags"]["trace_id"] == TRACE_ID
        assert event["contexts"]["trace"]["trace_id"] == TRACE_ID
        headers = {k.lower(): v for k, v in event["request"]["headers"].items()}
        for name in ("authorization", "cookie", "x-api-key", "x-admin-token"):
            assert headers[name] == "[Filtered]", name
        assert "s3cret" not in event["request"]["query_string"] and "t0k" not in event["request"]["query_string"]
        assert "page=2" in event["request"]["query_string"]
        raw = json.dumps(event)
        for secret in ("abc.def", "xyz", "key-123", "s3cret", "hunter2"):
            assert secret not in raw, secret
        assert [s for s in r.spans() if s.attributes.get("sampling.kept_by_app")], "the error trace is kept"


async def test_traceparent_survives_with_sentry_enabled(app_factory, sentry_sink):
    target = Recorder().start()
    dsn = f"http://publickey@127.0.0.1:{sentry_sink.server.server_address[1]}/42"
    try:
        async with app_factory(SENTRY_DSN=dsn, ENRICH_URL=target.url) as r:
            item = (await r.client.post("/api/v1/items", json={"name": "n", "price": "1.00"})).json()
            resp = await r.client.get(
                f"/api/v1/items/{item['id']}/enrich", headers={"traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01"}
            )
            assert resp.status_code == 200
            sent = {k.lower(): v for k, v in target.requests[-1]["headers"].items()}
            assert sent["traceparent"].split("-")[1] == TRACE_ID
    finally:
        target.stop()
