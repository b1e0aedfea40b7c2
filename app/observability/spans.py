"""Request-scoped spans that cost almost nothing unless the request is kept.

Inside a request, the server span and the SQL spans are recorded as plain data (Deferred):
no SDK Span objects, no attribute validation, no locks. The current span during the
request is a NonRecordingSpan carrying the real ids, so logs, exemplars, outbound
traceparent and child spans of other instrumentations (Redis, httpx) see valid ids.
When the request ends, KeepDecisionSpanProcessor.complete() exports the records, and the
SDK spans that ended during the request, only if the request is kept
(TRACE_SAMPLING_MODE=app) or always (=collector): with the OTLP exporter the records are
encoded to protobuf bytes right there (otlp.py, about 2 us per span) and queued as one
entry; an SDK exporter (tests, a custom one) gets them as one RequestSpans entry,
materialized into ReadableSpans on the export thread.

Spans outside any request (startup, background jobs) go through the SDK as usual:
exported in collector mode, or in app mode when marked sampling.kept_by_app=true.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from time import time_ns
from typing import Any, Protocol

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from .context import RequestContext, current_request
from .redaction import redact_text

_log = logging.getLogger(__name__)
KEPT_ATTRIBUTE = "sampling.kept_by_app"
SCOPE = InstrumentationScope("app.observability", "1.0.0")
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


class Deferred:
    """A span recorded as data: materialized only if its request is exported."""

    __slots__ = ("name", "kind", "parent", "start", "end", "attributes", "error", "span_id")

    def __init__(
        self,
        name: str,
        kind: SpanKind,
        parent: SpanContext | None,
        attributes: dict[str, Any],
        span_id: int | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.parent = parent
        self.attributes = attributes
        self.start = time_ns()
        self.end: int | None = None
        self.error: BaseException | None = None
        self.span_id = span_id


def exception_attributes(exc: BaseException) -> dict[str, str]:
    """OTel exception attributes; input values cut out of the text (redaction.py)."""
    return {
        "exception.type": type(exc).__qualname__,
        "exception.message": redact_text(str(exc)),
        "exception.stacktrace": redact_text("".join(traceback.format_exception(exc))),
    }


def exception_event(exc: BaseException, timestamp: int) -> Event:
    return Event("exception", exception_attributes(exc), timestamp=timestamp)


def materialize(d: Deferred, trace_id: int, resource: Any, new_span_id: Any) -> ReadableSpan:
    end = d.end or time_ns()
    events: tuple[Event, ...] = ()
    status = Status(StatusCode.UNSET)
    if d.error is not None:
        events = (exception_event(d.error, end),)
        status = Status(StatusCode.ERROR, type(d.error).__name__)
    elif d.attributes.get("http.response.status_code", 0) >= 500:
        status = Status(StatusCode.ERROR)
    return ReadableSpan(
        d.name,
        context=SpanContext(trace_id, d.span_id or new_span_id(), is_remote=False, trace_flags=_SAMPLED),
        parent=d.parent if d.parent is not None and d.parent.is_valid else None,
        resource=resource,
        attributes=d.attributes,
        events=events,
        kind=d.kind,
        status=status,
        start_time=d.start,
        end_time=end,
        instrumentation_scope=SCOPE,
    )


class RequestSpans:
    """One exported request: its records (children first, the server span last) and the SDK
    spans that ended during it. One queue entry per request instead of one per span."""

    __slots__ = ("trace_id", "records", "sdk_spans")

    def __init__(self, trace_id: int, records: list[Deferred], sdk_spans: list[ReadableSpan]) -> None:
        self.trace_id = trace_id
        self.records = records
        self.sdk_spans = sdk_spans

    def __len__(self) -> int:
        return len(self.records) + len(self.sdk_spans)

    def materialize(self, resource: Any, new_span_id: Any) -> list[ReadableSpan]:
        """SDK spans, in the order the request produced them (for SDK exporters)."""
        records = [materialize(r, self.trace_id, resource, new_span_id) for r in self.records]
        return [*records[:-1], *self.sdk_spans, *records[-1:]]


class ExportQueue(Protocol):
    dropped: int  # spans pushed out of the full queue
    failed: int  # spans in batches the exporter gave up on

    def put(self, item: bytes | ReadableSpan | RequestSpans, count: int) -> None: ...

    def force_flush(self, timeout_millis: int) -> bool: ...

    def shutdown(self) -> None: ...


class KeepDecisionSpanProcessor(SpanProcessor):
    def __init__(
        self,
        delegate: ExportQueue,
        *,
        export_all: bool,
        max_spans_per_request: int,
        resource: Any,
        new_span_id: Any,
        encode: Callable[[int, list[Deferred]], bytes] | None = None,
    ) -> None:
        self.delegate = delegate
        self.encode = encode  # OTLP export: records become bytes when the request ends
        self.export_all = export_all  # collector mode
        self.max_spans = max_spans_per_request
        self.resource = resource
        self.new_span_id = new_span_id
        self.dropped_spans = 0
        self.exported_spans = 0

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        """SDK spans (Redis, httpx, manual ones, and everything outside requests)."""
        ctx = current_request()
        if ctx is not None and ctx.root_span_id is not None:
            if self.export_all or (ctx.spans is None and ctx.kept):
                self._emit(span)
            elif ctx.spans is not None and len(ctx.spans) < self.max_spans:
                ctx.spans.append(span)
            else:
                self.dropped_spans += 1
            return
        if self.export_all or (span.attributes and span.attributes.get(KEPT_ATTRIBUTE)):
            self._emit(span)
        else:
            self.dropped_spans += 1

    def drop(self, ctx: RequestContext) -> None:
        """Called by the middleware for a request that is not exported (sampled out)."""
        held, deferred = ctx.spans, ctx.deferred
        ctx.spans = ctx.deferred = None
        self.dropped_spans += 1 + (len(held) if held else 0) + (len(deferred) if deferred else 0)

    def complete(self, ctx: RequestContext, root: Deferred) -> None:
        """Called by the middleware with the server span of a request that is exported:
        kept (ctx.kept) or every request (collector mode)."""
        if not (ctx.kept or self.export_all):
            self.drop(ctx)
            return
        held, ctx.spans = ctx.spans or [], None
        deferred, ctx.deferred = ctx.deferred or [], None
        deferred.append(root)
        if self.encode is None:  # an SDK exporter: it gets ReadableSpans, made on its thread
            count = len(deferred) + len(held)
            self.exported_spans += count
            self.delegate.put(RequestSpans(ctx.trace_int, deferred, held), count)
            return
        try:
            payload = self.encode(ctx.trace_int, deferred)
        except Exception:  # noqa: BLE001 - telemetry must never fail the request
            _log.exception("could not encode the spans of a request; dropped")
            self.dropped_spans += len(deferred)
        else:
            self.exported_spans += len(deferred)
            self.delegate.put(payload, len(deferred))
        for span in held:
            self._emit(span)

    def _emit(self, span: ReadableSpan) -> None:
        self.exported_spans += 1
        self.delegate.put(span, 1)

    def shutdown(self) -> None:
        self.delegate.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.delegate.force_flush(timeout_millis)
