"""SQLAlchemy engine instrumentation: query metrics, pool gauges and one span per query.

Attach to `async_engine.sync_engine` (events live on the sync engine); one engine, one
set of listeners, and no asyncpg instrumentation (that would duplicate every query span).

Spans: by default the kit's own listener makes the span and the metrics in one pass,
with attributes computed once per engine and once per distinct statement
(DB_SPANS=kit). DB_SPANS=otel uses the upstream OpenTelemetry SQLAlchemy
instrumentation (EngineTracer) on this engine instead; README.md has the measured cost.
"""

from __future__ import annotations

import re
import time
from typing import Any, Literal

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY
from opentelemetry.instrumentation.utils import _SUPPRESS_INSTRUMENTATION_KEY_PLAIN
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import metrics, semconv
from .context import current_request
from .spans import Deferred, exception_attributes

_OP = re.compile(r"^\s*(?:/\*.*?\*/\s*)?(\w+)", re.S)
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+\"?([A-Za-z_][\w.]*)", re.I)
_MAX_CACHED = 2048
_parsed: dict[str, Parsed] = {}


class Parsed:
    """What one distinct statement yields, computed once: metric labels (always a value,
    so the label set stays fixed) and span attributes (only what was really parsed)."""

    __slots__ = ("operation", "table", "span_name", "attributes")

    def __init__(self, statement: str, system: str) -> None:
        op = _OP.match(statement)
        table = _TABLE.search(statement)
        operation = op.group(1).upper() if op else None
        collection = table.group(1).lower().rsplit(".", 1)[-1] if table else None
        self.operation = operation or "OTHER"
        self.table = collection or "none"
        self.attributes: dict[str, str] = {"db.query.text": semconv.sql_text(statement)}
        if operation:
            self.attributes["db.operation.name"] = operation
        if collection:
            self.attributes["db.collection.name"] = collection
        # "{operation} {target}", else whichever part is known, else the system
        self.span_name = " ".join(p for p in (operation, collection) if p) or system


def classify(statement: str, system: str = "postgresql") -> Parsed:
    """Operation, table and span attributes of a SQL statement, e.g. SELECT users. Cached."""
    hit = _parsed.get(statement)
    if hit is not None:
        return hit
    result = Parsed(statement, system)
    if len(_parsed) < _MAX_CACHED:
        _parsed[statement] = result
    return result


class QueryObserver:
    """Dialect-level do_execute hooks: timing, metrics and (optionally) the span, in one pass.

    Dialect events live on the engine's dialect. Engine events (before/after_cursor_execute)
    would be joined into every new Connection's dispatch, which costs more per request than
    the listener itself (measured: README.md)."""

    def __init__(self, engine: Engine, tracer: Any | None, recorder: metrics.MetricsRecorder | None) -> None:
        url = engine.url
        system = "postgresql" if engine.dialect.name.startswith("postgres") else engine.dialect.name
        self.system = system
        self.base = {
            "db.system.name": system,
            "db.namespace": url.database or "",
            "server.address": url.host or "",
            "server.port": url.port or 5432,
        }
        self.tracer = tracer
        self.recorder = recorder  # None: metrics off
        # base + statement attributes, merged once per statement and shared by its spans
        # (read-only: an error copies before adding). Merging per query was ~1 us of the
        # DB span's cost, paid by every request although app mode drops most of them.
        self._attributes: dict[str, dict[str, Any]] = {}

    def _span(self, statement: str, parsed: Parsed) -> Any:
        # is_instrumentation_enabled() and get_current_span() would read the current context
        # three times through OpenTelemetry's API layers; one read serves both here.
        current = otel_context.get_current()
        if current.get(_SUPPRESS_INSTRUMENTATION_KEY) or current.get(_SUPPRESS_INSTRUMENTATION_KEY_PLAIN):
            return None
        attributes = self._attributes.get(statement)
        if attributes is None:
            attributes = {**self.base, **parsed.attributes}
            if len(self._attributes) < _MAX_CACHED:
                self._attributes[statement] = attributes
        ctx = current_request()
        if ctx is not None and ctx.deferred is not None and ctx.root_span_id is not None:
            # inside a traced request: a record, materialized only if the request is kept
            record = Deferred(
                parsed.span_name, SpanKind.CLIENT, trace.get_current_span(current).get_span_context(), attributes
            )  # shares `attributes`: never mutated in place
            ctx.deferred.append(record)
            return record
        tracer: Any = self.tracer  # not None: do_execute only calls _span with a tracer
        return tracer.start_span(parsed.span_name, kind=SpanKind.CLIENT, attributes=attributes)  # the SDK copies

    def _done(self, span: Any, parsed: Parsed, t0: float, exc: BaseException | None) -> None:
        if type(span) is Deferred:
            span.end = time.time_ns()
            span.error = exc
            if exc is not None:
                span.attributes = {**span.attributes, **_error_attributes(exc)}  # the shared dict stays as is
        elif span is not None:
            if exc is not None:
                span.set_attributes(_error_attributes(exc))
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                span.add_event("exception", exception_attributes(exc))  # redacted record_exception
            span.end()
        if self.recorder is not None:
            self.recorder.db(parsed.operation, parsed.table, time.perf_counter() - t0)

    def do_execute(self, cursor: Any, statement: str, parameters: Any, context: Any) -> Literal[True]:
        parsed = _parsed.get(statement) or classify(statement, self.system)
        span = self._span(statement, parsed) if self.tracer is not None else None
        t0 = time.perf_counter()
        try:
            cursor.execute(statement, parameters)
        except BaseException as exc:
            self._done(span, parsed, t0, exc)
            raise
        self._done(span, parsed, t0, None)
        return True  # tells SQLAlchemy the statement has been executed

    def do_execute_no_params(self, cursor: Any, statement: str, context: Any) -> Literal[True]:
        return self.do_execute(_NoParams(cursor), statement, None, context)

    def do_executemany(self, cursor: Any, statement: str, parameters: Any, context: Any) -> Literal[True]:
        return self.do_execute(_Many(cursor), statement, parameters, context)


def _error_attributes(exc: BaseException) -> dict[str, str]:
    """db.response.status_code (the SQLSTATE) when the driver has one, and error.type:
    the conventions prefer that same code to the exception's class name."""
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate:
        return {"error.type": sqlstate, "db.response.status_code": sqlstate}
    return {"error.type": type(exc).__qualname__}


class _NoParams:
    __slots__ = ("cursor",)

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def execute(self, statement: str, parameters: Any) -> Any:
        return self.cursor.execute(statement)


class _Many(_NoParams):
    def execute(self, statement: str, parameters: Any) -> Any:
        return self.cursor.executemany(statement, parameters)


def instrument_engine(
    engine: Engine,
    *,
    recorder: metrics.MetricsRecorder | None,
    tracer_provider: Any | None,
    spans: str = "kit",
) -> None:
    """Instrument one (sync) engine. Call once per engine. recorder None: metrics off."""
    metrics_on = recorder is not None
    kit_tracer = None
    if tracer_provider is not None and spans == "kit":
        kit_tracer = tracer_provider.get_tracer("app.observability.db")
    if metrics_on or kit_tracer is not None:
        observer = QueryObserver(engine, kit_tracer, recorder)
        for name in ("do_execute", "do_execute_no_params", "do_executemany"):
            event.listen(engine, name, getattr(observer, name))
    if metrics_on:
        pool = engine.pool
        metrics.DB_CONN_ACTIVE.set_function(lambda: float(pool.checkedout()))  # type: ignore[attr-defined]
        capacity = getattr(pool, "size", lambda: 0)() + max(getattr(pool, "_max_overflow", 0), 0)
        metrics.DB_CONN_MAX.set(capacity)
    if tracer_provider is not None and spans == "otel":
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
        from opentelemetry.instrumentation.sqlalchemy.version import __version__ as sa_version
        from opentelemetry.metrics import NoOpMeterProvider

        semconv.opt_in_stable()
        tracer = tracer_provider.get_tracer("opentelemetry.instrumentation.sqlalchemy", sa_version)
        # Prometheus owns metrics: hand the instrumentation a no-op meter. No global
        # Engine.connect wrapper either (it adds a "connect" span per checkout).
        usage = NoOpMeterProvider().get_meter("sqlalchemy").create_up_down_counter("unused")
        EngineTracer(tracer, engine, usage, False, {}, False)  # type: ignore[no-untyped-call]
