"""One pure-ASGI middleware for request id, server span, metrics, access log and the
keep/drop decision: one pass over the request instead of one wrapper per signal.

Per request: read X-Request-ID / traceparent in one header scan, make the trace ids current,
run the app, then decide keep/drop once and let that decision drive span export,
exemplars and access-log sampling. /metrics and /health* pass straight through, with
instrumentation suppressed so their Redis/SQL calls create no spans either.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Awaitable
from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from . import semconv
from .context import KeepPolicy, RequestContext, bind_request, trace_hash, unbind_request
from .errors import ErrorReporter
from .limiter import UNMATCHED
from .log_sampling import ACCESS_LOGGER, PRESAMPLED, LogSampler, flush_held
from .logs import access_writer
from .metrics import HTTP_IN_PROGRESS, MetricsRecorder
from .routes import RouteResolver
from .spans import KEPT_ATTRIBUTE, Deferred, KeepDecisionSpanProcessor

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_PROPAGATION_HEADERS = {b"traceparent": "traceparent", b"tracestate": "tracestate", b"baggage": "baggage"}
_WANTED_HEADERS = frozenset({b"host", b"x-request-id", *_PROPAGATION_HEADERS})
_ERROR_BODY = b'{"detail":"Internal Server Error"}'
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def _current_ids() -> tuple[int, int] | None:
    """The current span's ids when this middleware is not tracing (as add_trace_context reads them)."""
    span_ctx = trace.get_current_span().get_span_context()
    return (span_ctx.trace_id, span_ctx.span_id) if span_ctx.is_valid else None


def _server_attributes(scope: dict[str, Any], method: str, path: str, host: bytes | None) -> dict[str, Any]:
    """The server span's request-side attributes (stable HTTP conventions)."""
    method_attr, original = semconv.http_method(method)
    attributes: dict[str, Any] = {
        "http.request.method": method_attr,
        "url.scheme": scope.get("scheme", "http"),
        "url.path": path,
    }
    if original is not None:
        attributes["http.request.method_original"] = original
    query = semconv.scrub_query(scope.get("query_string", b""))
    if query:
        attributes["url.query"] = query
    address, port = semconv.host_port(host, scope)
    if address:
        attributes["server.address"] = address
        if port:
            attributes["server.port"] = port
    version = scope.get("http_version")
    if version:
        attributes["network.protocol.version"] = version
    return attributes


class ObservabilityMiddleware:
    def __init__(
        self,
        app: Any,
        *,
        policy: KeepPolicy,
        id_generator: Any | None,
        recorder: MetricsRecorder | None,
        access_log: bool,
        exclude_prefixes: tuple[str, ...] = ("/metrics", "/health"),
        # the kit's collaborators, all owned by the Observability object (None: off)
        pipeline: KeepDecisionSpanProcessor | None = None,
        sampler: LogSampler | None = None,
        reporter: ErrorReporter | None = None,
    ) -> None:
        self.app = app
        self.pipeline = pipeline
        self.export_all = pipeline is not None and pipeline.export_all  # collector mode
        self.sampler = sampler
        self.reporter = reporter
        self.policy = policy
        self.ids = id_generator  # None: tracing off
        self.recorder = recorder
        self.access_log = access_log
        self.exclude_prefixes = exclude_prefixes
        self.resolver: RouteResolver | None = None
        self.log = structlog.get_logger(ACCESS_LOGGER).bind()  # resolved once, not per request
        self.writer = access_writer()  # JSON lines: the access line without the logging chain
        self.in_progress = 0  # read at scrape time: no lock, no call per request
        if recorder is not None:
            HTTP_IN_PROGRESS.set_function(lambda: float(self.in_progress))
        self._suppressed = otel_context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True)

    def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[None]:
        # A plain method handing back the coroutine that does the work: one coroutine
        # frame fewer, which every suspension of the request (each awaited query) passes.
        if scope["type"] != "http":
            return self.app(scope, receive, send)  # type: ignore[no-any-return]
        if scope["path"].startswith(self.exclude_prefixes):
            return self._suppress(scope, receive, send)
        return self._observe(scope, receive, send)

    async def _suppress(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        token = otel_context.attach(self._suppressed)
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(token)

    async def _observe(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        start = time.perf_counter()
        request_id = None
        carrier: dict[str, str] | None = None
        host: bytes | None = None
        for name, value in scope["headers"]:
            if name not in _WANTED_HEADERS:  # most headers: one set lookup, not three compares
                continue
            if name == b"host":
                host = value
            elif name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _REQUEST_ID.fullmatch(candidate):
                    request_id = candidate
            elif name in _PROPAGATION_HEADERS:
                if carrier is None:
                    carrier = {}
                carrier[_PROPAGATION_HEADERS[name]] = value.decode("latin-1")
        if request_id is None:
            request_id = f"{random.getrandbits(128):032x}"  # unique, not secret: no syscall
        method: str = scope["method"]

        remote = None  # the caller's span context (traceparent), if any
        span_token = None
        if self.ids is not None:
            parent = propagate.extract(carrier) if carrier else None
            remote = trace.get_current_span(parent).get_span_context() if parent is not None else None
            if remote is None or not remote.is_valid:
                remote, trace_id = None, self.ids.generate_trace_id()
            else:
                trace_id = remote.trace_id
            span_id = self.ids.generate_span_id()
            # the server span itself is recorded when the request ends, and only if exported
            ctx = RequestContext(request_id, trace_hash(trace_id))
            ctx.root_span_id, ctx.trace_int = span_id, trace_id
            current = NonRecordingSpan(SpanContext(trace_id, span_id, False, _SAMPLED))
            span_token = otel_context.attach(trace.set_span_in_context(current, parent))
        else:
            ctx = RequestContext(request_id)
        ctx_token = bind_request(ctx)

        status = 500
        started = False
        rid_header = (b"x-request-id", request_id.encode("latin-1"))

        def send_wrapper(message: dict[str, Any]) -> Awaitable[None]:
            # not a coroutine itself: it hands back the server's send (no frame per message)
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                message["headers"] = [*message.get("headers", ()), rid_header]
            return send(message)  # type: ignore[no-any-return]

        self.in_progress += 1
        error: BaseException | None = None
        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            error = exc
            status = 500
            if self.reporter is not None:
                self.reporter.report(exc, scope)
            if started:
                raise
            await send_wrapper(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(_ERROR_BODY)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": _ERROR_BODY})
        finally:
            self.in_progress -= 1
            self._finish(scope, ctx, remote, method, host, status, time.perf_counter() - start, error)
            if span_token is not None:
                otel_context.detach(span_token)
            unbind_request(ctx_token)

    def _finish(
        self,
        scope: dict[str, Any],
        ctx: RequestContext,
        remote: SpanContext | None,
        method: str,
        host: bytes | None,
        status: int,
        duration: float,
        error: BaseException | None,
    ) -> None:
        resolver = self.resolver
        if resolver is None:
            resolver = self.resolver = RouteResolver(scope.get("app"))
        route = resolver.template(scope)
        kept = self.policy.decide(ctx, status, duration, error is not None)
        ctx.kept = kept
        trace_id = None
        pipeline = self.pipeline
        if ctx.root_span_id is not None and pipeline is not None:
            if kept:
                trace_id = format(ctx.trace_int, "032x")
            if kept or self.export_all:  # app mode drops most requests: record only the exported
                root = self._server_span(scope, ctx, remote, method, host, route, status, duration, error, kept)
                pipeline.complete(ctx, root)
            else:
                pipeline.drop(ctx)
        if self.recorder is not None:
            self.recorder.http(method, route, status, duration, trace_id)
        held, ctx.logs = ctx.logs, None
        if kept and held:
            flush_held(held)  # the request's own lines, before its access line
        if self.access_log:
            level = "error" if status >= 500 else "warning" if duration > self.policy.slow_seconds else "info"
            sampler = self.sampler
            if sampler is not None and not sampler.pre_sample(level, ACCESS_LOGGER):
                return  # dropped before building anything
            fields: dict[str, Any] = {
                "method": method,
                "route": route,
                "path": scope["path"],
                "status_code": status,
                "duration_ms": round(duration * 1000, 2),
            }
            if error is None and self.writer is not None:
                ids = (ctx.trace_int, ctx.root_span_id) if ctx.root_span_id is not None else _current_ids()
                if self.writer.write(level, _LEVELS[level], fields, ctx.request_id, ids):
                    return
            if error is not None:
                fields["exc_info"] = error
            if sampler is not None:
                fields[PRESAMPLED] = True
            getattr(self.log, level)("request", **fields)

    @staticmethod
    def _server_span(
        scope: dict[str, Any],
        ctx: RequestContext,
        remote: SpanContext | None,
        method: str,
        host: bytes | None,
        route: str,
        status: int,
        duration: float,
        error: BaseException | None,
        kept: bool,
    ) -> Deferred:
        """The server span (stable HTTP conventions), built once it is known to be exported.
        Recording it for every request cost a record, two wall-clock reads and attributes that
        app mode then dropped for 95 % of requests; its start is the end minus the duration."""
        attributes = _server_attributes(scope, method, scope["path"], host)
        name = semconv.span_method(attributes["http.request.method"])
        if route != UNMATCHED:  # the conventions: no http.route when nothing matched
            name = f"{name} {route}"
            attributes["http.route"] = route
        attributes["http.response.status_code"] = status
        if error is not None:
            attributes["error.type"] = type(error).__qualname__
        elif status >= 500:
            attributes["error.type"] = str(status)
        if kept:
            attributes[KEPT_ATTRIBUTE] = True
        span = Deferred(name, SpanKind.SERVER, remote, attributes, ctx.root_span_id)
        span.end = span.start
        span.start -= round(duration * 1e9)  # the request's start on the wall clock
        span.error = error
        return span
