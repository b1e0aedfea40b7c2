"""The direct access-line writer writes the line the logging chain would write."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from datetime import UTC, datetime

import pytest
import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from app.observability.context import RequestContext, bind_request, unbind_request
from app.observability.logs import access_writer, configure_logging
from app.observability.settings import ObservabilitySettings

TRACE_ID, SPAN_ID = 0x0AF7651916CD43DD8448EB211C80319C, 0x00F067AA0BA902B7
FIELDS = {"method": "GET", "route": "/users/{id}", "path": "/users/7", "status_code": 200, "duration_ms": 1.25}


@pytest.fixture
def logfile(tmp_path):
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    path = tmp_path / "app.log"
    configure_logging(ObservabilitySettings(APP_ENV="production", APP_NAME="svc", LOG_FILE=str(path)))
    yield path
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    structlog.contextvars.clear_contextvars()


@contextlib.contextmanager
def only_kit_handlers(writer):
    """pytest's log capture adds a handler to the root logger around each test."""
    root = logging.getLogger()
    others = [h for h in root.handlers if h not in writer.handlers]
    for handler in others:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in others:
            root.addHandler(handler)


def in_request(fn):
    ctx = RequestContext("req-1")
    ctx.kept = True  # a kept request always logs
    token = bind_request(ctx)
    span = NonRecordingSpan(SpanContext(TRACE_ID, SPAN_ID, False, TraceFlags(1)))
    span_token = otel_context.attach(trace.set_span_in_context(span))
    try:
        return fn()
    finally:
        otel_context.detach(span_token)
        unbind_request(token)


@pytest.mark.parametrize("level", ["info", "warning"])
def test_direct_line_equals_the_chain_line_key_for_key(logfile, level):
    structlog.contextvars.bind_contextvars(tenant="t1", _private="x")
    levelno = logging.getLevelName(level.upper())
    in_request(lambda: getattr(structlog.get_logger("app.access"), level)("request", **FIELDS))
    writer = access_writer()
    assert writer is not None
    with only_kit_handlers(writer):
        assert in_request(lambda: writer.write(level, levelno, dict(FIELDS), "req-1", (TRACE_ID, SPAN_ID)))
    chain, direct = (json.loads(line) for line in logfile.read_text().splitlines())
    assert list(direct) == list(chain)
    assert {k: v for k, v in direct.items() if k != "timestamp"} == {k: v for k, v in chain.items() if k != "timestamp"}
    assert direct["tenant"] == "t1" and direct["trace_id"] == format(TRACE_ID, "032x") and "_private" not in direct
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", direct["timestamp"])
    stamp = datetime.strptime(direct["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs(stamp.timestamp() - datetime.now(UTC).timestamp()) < 60


def test_timestamp_matches_the_processor_format_to_the_millisecond(logfile):
    writer = access_writer()
    assert writer is not None
    for now in (1767225599.9995, 1767225600.0, 1767225600.001, 1767225600.5):
        expected = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        assert writer.timestamp(now) == expected


def test_falls_back_when_someone_else_listens_or_the_level_is_off(logfile):
    writer = access_writer()
    assert writer is not None
    with only_kit_handlers(writer):
        assert writer.usable(logging.INFO)
        extra = logging.NullHandler()
        logging.getLogger().addHandler(extra)
        try:
            assert not writer.write("info", logging.INFO, dict(FIELDS), "req-1", None)
        finally:
            logging.getLogger().removeHandler(extra)
        logging.getLogger().setLevel(logging.WARNING)
        assert not writer.write("info", logging.INFO, dict(FIELDS), "req-1", None)
        assert writer.write("warning", logging.WARNING, dict(FIELDS), "req-1", None)
    lines = [json.loads(line) for line in logfile.read_text().splitlines()]
    assert [line["level"] for line in lines] == ["warning"] and "trace_id" not in lines[0]


def test_console_format_has_no_direct_writer():
    configure_logging(ObservabilitySettings(APP_ENV="development"))
    assert access_writer() is None
