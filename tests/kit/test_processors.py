"""The small structlog processors, one by one."""

from __future__ import annotations

import json
import logging
import re

from opentelemetry.sdk.trace import TracerProvider

from app.observability import processors as p
from app.observability.context import (
    KeepPolicy,
    RequestContext,
    bind_request,
    threshold,
    trace_hash,
    unbind_request,
)


def test_add_trace_context_uses_the_current_span_even_unsampled():
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    for sampler in (None, ALWAYS_OFF):
        provider = TracerProvider(sampler=sampler) if sampler else TracerProvider()
        with provider.get_tracer("t").start_as_current_span("s") as span:
            event = p.add_trace_context(None, "info", {"event": "x"})
            ctx = span.get_span_context()
            assert event["trace_id"] == format(ctx.trace_id, "032x")
            assert event["span_id"] == format(ctx.span_id, "016x")
    assert "trace_id" not in p.add_trace_context(None, "info", {"event": "no span"})


def test_held_span_context_wins_over_the_current_one():
    provider = TracerProvider()
    with provider.get_tracer("t").start_as_current_span("early") as early:
        held = early.get_span_context()
    with provider.get_tracer("t").start_as_current_span("late"):
        event = p.add_trace_context(None, "info", {"event": "x", "_span": held})
    assert event["span_id"] == format(held.span_id, "016x") and "_span" not in event


def test_timestamp_is_iso_utc_z_and_keeps_original_time():
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", p.add_timestamp(None, "", {})["timestamp"])
    assert p.add_timestamp(None, "", {"_ts": 0.0})["timestamp"] == "1970-01-01T00:00:00.000Z"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    record.created = 86400.5
    assert p.add_timestamp(None, "", {"_record": record})["timestamp"] == "1970-01-02T00:00:00.500Z"


def test_request_id_service_private_keys_and_json():
    ctx = RequestContext("rid-1")
    token = bind_request(ctx)
    try:
        assert p.add_request_id(None, "", {})["request_id"] == "rid-1"
    finally:
        unbind_request(token)
    assert "request_id" not in p.add_request_id(None, "", {})
    event = p.make_add_service("svc", "production")(None, "", {})
    assert event == {"service": "svc", "environment": "production"}
    assert p.drop_private_keys(None, "", {"a": 1, "_ts": 2, "_span": 3}) == {"a": 1}
    line = p.render_json(None, "", {"event": "x", "obj": object(), "n": 1})
    assert json.loads(line)["n"] == 1 and "object" in json.loads(line)["obj"]


def test_trace_hash_and_thresholds():
    assert trace_hash(0xABCDEF << 80 | 5) == 5  # only the low 56 (random) bits count
    top = (1 << 56) - 1
    assert trace_hash(top) < threshold(1.0), "rate 1.0 keeps every trace"
    assert not threshold(0.0) > 0
    policy = KeepPolicy(rate=0.25, slow_ms=100)
    ctx = RequestContext("r")
    ctx.hash = threshold(0.25) - 1
    assert policy.decide(ctx, 200, 0.01, False)
    ctx.hash = threshold(0.25)
    assert not policy.decide(ctx, 200, 0.01, False)
    assert policy.decide(ctx, 503, 0.01, False) and policy.decide(ctx, 200, 0.2, False)
    assert policy.decide(ctx, 200, 0.01, True)
