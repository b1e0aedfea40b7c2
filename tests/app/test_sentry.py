"""Sentry with the real SDK against a local DSN endpoint: once, scrubbed, with trace_id;
W3C traceparent still flows on outbound calls while Sentry is on."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

from fastapi import Request
from sqlalchemy import text
from stub_server import Recorder

from app.api.deps import SessionDep
from app.config import Settings
from app.observability import errors
from tests.support.net import poll_until

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
        r.obs.reporter.flush(5)
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


EMAIL = "alice.pii@example.com"


def _pii_routes(app):
    # A database error the app maps to 4xx (duplicate key: 409, bad value: 422) reports nothing;
    # wrapped as a bug it is a 500 whose cause, with the e-mail in its text, reaches the
    # traceback, the span and Sentry: the path that must redact.
    @app.get("/pii/duplicate")
    async def duplicate(s: SessionDep):
        try:
            await s.execute(text("INSERT INTO users (email, full_name) VALUES (:e, 'A')"), {"e": EMAIL})
            await s.execute(text("INSERT INTO users (email, full_name) VALUES (:e, 'A')"), {"e": EMAIL})
        except Exception as exc:
            raise RuntimeError("a bug around a database error") from exc

    @app.get("/pii/cast")
    async def cast(s: SessionDep):
        try:
            await s.execute(text("SELECT CAST(:e AS integer)"), {"e": EMAIL})
        except Exception as exc:
            raise RuntimeError("a bug around a database error") from exc

    @app.get("/pii/locals")
    async def with_locals(request: Request):
        password = "hun" + "ter2"  # noqa: F841 - runtime secrets in local variables
        api_key = "key-" + "4242"  # noqa: F841
        session_token = "sess-" + "9999"  # noqa: F841
        user_email = EMAIL  # noqa: F841
        harmless = "visible-" + "value"  # noqa: F841
        raise ValueError("locals test")


SECRET_HEADERS = {
    "Authorization": "Bearer abc.def",
    "Cookie": "session=xyz; csrftoken=c5rf",
    "X-CSRF-Token": "csrf-777",
    "X-Session-Token": "sess-888",
    "X-Forwarded-For": "203.0.113.9",
    "X-Api-Key": "key-123",
    "X-Admin-Token": "adm-456",
}


async def test_sql_values_and_secrets_never_reach_logs_spans_or_sentry(app_factory, sentry_sink):
    dsn = f"http://publickey@127.0.0.1:{sentry_sink.server.server_address[1]}/42"
    async with app_factory(SENTRY_DSN=dsn, extend=_pii_routes) as r:
        for path in ("/pii/duplicate", "/pii/cast"):
            resp = await r.client.get(
                path,
                params={"email": EMAIL, "sig": "s1g-v4lue", "access_token": "t0k", "page": "2"},
                headers={**SECRET_HEADERS, "User-Agent": "pii-test"},
            )
            assert resp.status_code == 500
        r.obs.reporter.flush(5)
        events = _events(sentry_sink)
        assert len(events) == 2
        log_text = Path(r.settings.LOG_FILE).read_text()
        spans_text = json.dumps([s.to_json() for s in r.spans()])

    assert "duplicate key value" in log_text and "invalid input for query argument" in log_text, "errors logged"
    assert "exception" in spans_text and "duplicate key value" in spans_text, "errors recorded on spans"
    secrets = [EMAIL, "s1g-v4lue", "t0k", *(v for v in SECRET_HEADERS.values())]
    for where, text_ in (("log file", log_text), ("spans", spans_text), ("sentry", json.dumps(events))):
        leaked = [s for s in secrets if s in text_]
        assert not leaked, f"{where} leaks {leaked}"
    for event in events:
        headers = {k.lower(): v for k, v in event["request"]["headers"].items()}
        for name in SECRET_HEADERS:
            assert headers[name.lower()] == "[Filtered]", name
        assert headers["user-agent"] == "pii-test"  # harmless names stay readable
        assert "page=2" in event["request"]["query_string"]
        assert "duplicate key value" in json.dumps(event) or "invalid input" in json.dumps(event)


async def test_local_variables_are_scrubbed_by_name_when_switched_on(app_factory, sentry_sink):
    dsn = f"http://publickey@127.0.0.1:{sentry_sink.server.server_address[1]}/42"
    async with app_factory(SENTRY_DSN=dsn, extend=_pii_routes) as r:
        spare = errors.setup_sentry(r.settings, include_local_variables=True)  # same global client
        assert (await r.client.get("/pii/locals")).status_code == 500
        r.obs.reporter.flush(5)
        spare.close()
    (event,) = _events(sentry_sink)
    frame = event["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["vars"]["harmless"] == "'visible-value'", "locals were sent"
    for name in ("password", "api_key", "session_token", "user_email"):
        assert frame["vars"][name] == "[Filtered]", name
    assert EMAIL not in json.dumps(event)


def test_bodies_and_query_strings_are_scrubbed_by_name():
    event = {
        "request": {
            "query_string": "email=a%40b.c&sig=xyz&q=shoes",
            "url": "http://h/p?password=pw&q=shoes",
            "data": '{"email": "a@b.c", "profile": {"api_key": "k"}, "name": "n"}',
        }
    }
    out = errors.before_send(event, {})["request"]
    assert out["query_string"] == "email=%5BFiltered%5D&sig=%5BFiltered%5D&q=shoes"
    assert out["url"] == "http://h/p?password=%5BFiltered%5D&q=shoes"
    assert json.loads(out["data"]) == {"email": "[Filtered]", "profile": {"api_key": "[Filtered]"}, "name": "n"}
    form = errors.before_send({"request": {"data": "csrf_token=c&comment=hi"}}, {})["request"]["data"]
    assert form == "csrf_token=%5BFiltered%5D&comment=hi"


def test_a_process_forked_after_setup_still_reports_errors(sentry_sink):
    """gunicorn --preload and multiprocessing fork after the app (and its reporter) exist: the
    child needs its own reporter thread, or its errors queue up and are never sent."""
    dsn = f"http://publickey@127.0.0.1:{sentry_sink.server.server_address[1]}/42"
    reporter = errors.setup_sentry(Settings(SENTRY_DSN=dsn))
    assert reporter is not None
    pid = os.fork()
    if pid == 0:  # the child: report, flush, leave without running pytest's teardown
        code = 1
        try:
            reporter.report(ValueError("raised in the forked child"))
            reporter.flush(timeout=5)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    messages = poll_until(
        "the child's event at the Sentry endpoint",
        lambda: [e for e in _events(sentry_sink) if "raised in the forked child" in json.dumps(e)] or None,
        10,
    )
    assert len(messages) == 1
    reporter.close()
