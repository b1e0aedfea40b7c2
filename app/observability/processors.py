"""Small structlog processors; logs.py puts them in one visible chain.

Each does one thing and is cheap: they run only for events the sampler lets through
(except add_logger_name and add_log_level, which the sampler needs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from opentelemetry import trace
from structlog.typing import EventDict

from .context import current_request
from .redaction import redact_text

Processor = Callable[[Any, str, EventDict], EventDict]


def add_request_id(_: Any, __: str, event_dict: EventDict) -> EventDict:
    ctx = current_request()
    if ctx is not None:
        event_dict.setdefault("request_id", ctx.request_id)
    return event_dict


def add_trace_context(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """trace_id/span_id of the span that was current when the event happened.

    Read from the span context, so ids are present whether or not the trace is exported.
    """
    span_ctx = event_dict.pop("_span", None)
    if span_ctx is None:
        record = event_dict.get("_record")
        span_ctx = getattr(record, "_obs_span", None) if record is not None else None
    if span_ctx is None:
        span_ctx = trace.get_current_span().get_span_context()
    if span_ctx.is_valid:
        event_dict.setdefault("trace_id", format(span_ctx.trace_id, "032x"))
        event_dict.setdefault("span_id", format(span_ctx.span_id, "016x"))
    return event_dict


def make_add_service(service: str, environment: str) -> Processor:
    def add_service(_: Any, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        event_dict.setdefault("environment", environment)
        return event_dict

    return add_service


def add_timestamp(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """ISO 8601 UTC with 'Z'; keeps the original time of held-back and stdlib events."""
    ts = event_dict.pop("_ts", None)
    if ts is None:
        record = event_dict.get("_record")
        ts = record.created if record is not None else None
    moment = datetime.now(UTC) if ts is None else datetime.fromtimestamp(ts, UTC)
    event_dict["timestamp"] = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return event_dict


def add_foreign_logger_name(_: Any, __: str, event_dict: EventDict) -> EventDict:
    record: logging.LogRecord | None = event_dict.get("_record")
    if record is not None:
        event_dict["logger"] = record.name
    return event_dict


def drop_private_keys(_: Any, __: str, event_dict: EventDict) -> EventDict:
    for key in [k for k in event_dict if k.startswith("_") and k not in ("_record", "_from_structlog")]:
        del event_dict[key]
    return event_dict


def _default(obj: Any) -> Any:
    return repr(obj)


def render_json(_: Any, __: str, event_dict: EventDict) -> str:
    """orjson renderer; ProcessorFormatter needs a str."""
    return orjson.dumps(event_dict, default=_default).decode()


def format_exc_info(logger: Any, name: str, event_dict: EventDict) -> EventDict:
    """structlog's plain traceback, with input values cut out of database error text
    (redaction.py). Plain on the console too: rich tracebacks print frame locals."""
    event_dict = structlog.processors.format_exc_info(logger, name, event_dict)
    text = event_dict.get("exception")
    if isinstance(text, str):
        event_dict["exception"] = redact_text(text)
    return event_dict


def redact_foreign_event(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """Library log lines (httpx logs full request URLs, drivers log values): redact_text.
    Only for stdlib records; the app's own events are built from chosen fields."""
    event = event_dict.get("event")
    if isinstance(event, str):
        event_dict["event"] = redact_text(event)
    return event_dict
