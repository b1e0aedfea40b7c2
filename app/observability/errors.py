"""Sentry error reporting, only when SENTRY_DSN is set.

- The middleware reports unhandled request exceptions itself (ErrorReporter.report), while
  the OTel server span is still current, so every event carries the trace_id (tag and
  contexts.trace) of the trace that Tempo holds: the request is kept on error. The event
  is built on the reporter's thread, not on the event loop.
- Sentry's framework auto-integrations stay off: they would wrap every request a second
  time and capture the same exception again. Logging integration: breadcrumbs only.
- Sentry does no tracing here (OpenTelemetry does) and does not touch propagation, so
  W3C traceparent keeps flowing through httpx.
- Nothing secret leaves the process (redaction.py says what "secret" means):
  NameScrubber replaces every value whose *name* matches the pattern, in headers,
  cookies, body fields, extra, user, breadcrumbs and frame local variables, at any depth;
  before_send does the same for query-string parameters and string bodies, and cuts
  input values out of error text (exception values, messages, breadcrumbs).
  Frame local variables are off anyway: a pydantic model's repr would carry an e-mail
  under a harmless name.
- Sentry's client is process-global (sentry_sdk.init); the kit keeps no state of its own.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from opentelemetry import trace
from sentry_sdk._types import AnnotatedValue
from sentry_sdk.scrubber import EventScrubber

from .forking import restart_in_child
from .redaction import FILTERED, redact_text, sensitive_name
from .settings import ObservabilitySettings

SCRUBBED = FILTERED
Event = dict[str, Any]


class NameScrubber(EventScrubber):
    """EventScrubber matching names by pattern (sentry-sdk's denylist is exact names)."""

    def __init__(self) -> None:
        super().__init__(denylist=[], recursive=True, send_default_pii=False, pii_denylist=[])

    def scrub_dict(self, d: object) -> None:
        if not isinstance(d, dict):
            return
        for k, v in d.items():
            if isinstance(k, str) and sensitive_name(k):
                d[k] = AnnotatedValue.substituted_because_contains_sensitive_data()
            else:
                self.scrub_dict(v)
                self.scrub_list(v)

    def scrub_user(self, event: Event) -> None:  # type: ignore[override]
        user = event.get("user")
        if isinstance(user, dict):
            user.pop("ip_address", None)
            self.scrub_dict(user)


def setup_sentry(s: ObservabilitySettings, **overrides: Any) -> ErrorReporter | None:
    """Initialise the (process-global) Sentry client; the reporter that feeds it, or None."""
    import sentry_sdk

    if not s.sentry_on:
        if sentry_sdk.get_client().is_active():  # an earlier setup in this process
            sentry_sdk.get_global_scope().set_client(None)
        return None
    from sentry_sdk.integrations.logging import LoggingIntegration

    options: dict[str, Any] = {
        "dsn": s.SENTRY_DSN,
        "environment": s.SENTRY_ENVIRONMENT or s.APP_ENV,
        "release": f"{s.APP_NAME}@{s.APP_VERSION}",
        # send_default_pii left unset (= off, and no deprecation warning); data_collection
        # is not used because it switches the EventScrubber off.
        "include_local_variables": False,  # frame locals hold raw ASGI headers and model reprs
        "max_request_body_size": "never",  # bodies carry e-mails; the kit never attaches one
        "traces_sample_rate": None,  # tracing is OpenTelemetry's job
        "auto_enabling_integrations": False,
        "integrations": [LoggingIntegration(level=logging.INFO, event_level=None)],
        "event_scrubber": NameScrubber(),
        "before_send": before_send,
        "before_breadcrumb": before_breadcrumb,
    }
    options.update(overrides)
    sentry_sdk.init(**options)
    return ErrorReporter()


def scrub_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, SCRUBBED if sensitive_name(k) else redact_text(v)) for k, v in pairs])


def _scrub_value(value: Any) -> Any:
    """Strings: redact_text. Containers: by key name, then recurse."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: SCRUBBED if isinstance(k, str) and sensitive_name(k) else _scrub_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_value(v) for v in value]
    return value


def _scrub_body(data: Any) -> Any:
    if not isinstance(data, str):
        return _scrub_value(data)
    try:
        return json.dumps(_scrub_value(json.loads(data)))
    except ValueError:
        return scrub_query(data) if "=" in data else redact_text(data)


def before_send(event: Event, hint: dict[str, Any]) -> Event:
    request = event.get("request")
    if isinstance(request, dict):
        if isinstance(request.get("query_string"), str):
            request["query_string"] = scrub_query(request["query_string"])
        if "data" in request:
            request["data"] = _scrub_body(request["data"])
        if isinstance(request.get("url"), str) and "?" in request["url"]:
            base, _, query = request["url"].partition("?")
            request["url"] = f"{base}?{scrub_query(query)}"
    for exc in (event.get("exception") or {}).get("values") or ():
        if isinstance(exc.get("value"), str):
            exc["value"] = redact_text(exc["value"])
        for frame in (exc.get("stacktrace") or {}).get("frames") or ():
            if "vars" in frame:
                frame["vars"] = _scrub_value(frame["vars"])
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        for key in ("message", "formatted"):
            if isinstance(logentry.get(key), str):
                logentry[key] = redact_text(logentry[key])
        if "params" in logentry:
            logentry["params"] = _scrub_value(logentry["params"])
    breadcrumbs = event.get("breadcrumbs")
    values = breadcrumbs.get("values") if isinstance(breadcrumbs, dict) else None
    for crumb in values or ():
        before_breadcrumb(crumb, {})
    _add_trace_ids(event, hint)
    return event


def before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    if isinstance(crumb.get("message"), str):
        crumb["message"] = redact_text(crumb["message"])
    if "data" in crumb:
        crumb["data"] = _scrub_value(crumb["data"])
    return crumb


def _add_trace_ids(event: Event, hint: dict[str, Any]) -> None:
    trace_id = span_id = None
    exc = (hint.get("exc_info") or (None, None))[1]
    ids = getattr(exc, "__otel_ids__", None)
    if ids:
        trace_id, span_id = ids
    else:
        span_ctx = trace.get_current_span().get_span_context()
        if span_ctx.is_valid:
            trace_id, span_id = format(span_ctx.trace_id, "032x"), format(span_ctx.span_id, "016x")
    if trace_id:
        event.setdefault("tags", {})["trace_id"] = trace_id
        contexts = event.setdefault("contexts", {})
        contexts["trace"] = {**contexts.get("trace", {}), "trace_id": trace_id, "span_id": span_id}


class ErrorReporter:
    """Reports unhandled request exceptions to Sentry from its own thread.

    Building a Sentry event (frames, source context lines read through linecache, scope
    merge, scrubbing, serialization) costs ~1-2 ms median with tail spikes of tens of ms
    on a loaded machine (bench/sentry_capture.py); on the event loop that would stall every
    other request. report() takes a few microseconds on the loop: it notes the trace ids,
    copies the context (O(1)) and queues the exception; the worker captures it inside that
    context, so scope and current span are what they were in the request. The queue is
    bounded: during an error storm the excess is dropped and counted (`dropped`, exported as
    telemetry_dropped_total{signal="errors"}), instead of memory growing. A process forked
    after setup (gunicorn --preload, multiprocessing) starts its own worker thread.
    """

    def __init__(self, max_queued: int = 256) -> None:
        self.max_queued = max_queued
        self.dropped = 0
        self._start()
        restart_in_child(self, ErrorReporter._start)  # a forked child gets its own thread

    def _start(self) -> None:
        self.queue: queue.Queue[tuple[BaseException, dict[str, Any] | None, contextvars.Context] | None] = queue.Queue(
            self.max_queued
        )
        self._thread = threading.Thread(target=self._run, name="sentry-reporter", daemon=True)
        self._thread.start()

    def report(self, exc: BaseException, scope: dict[str, Any] | None = None) -> None:
        """Queue an unhandled request exception (once), with request data and the trace id."""
        span_ctx = trace.get_current_span().get_span_context()
        if span_ctx.is_valid:
            with contextlib.suppress(AttributeError):  # exceptions with __slots__
                exc.__otel_ids__ = (format(span_ctx.trace_id, "032x"), format(span_ctx.span_id, "016x"))  # type: ignore[attr-defined]
        try:
            self.queue.put_nowait((exc, scope, contextvars.copy_context()))
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            exc, scope, ctx = item
            try:
                ctx.run(_capture, exc, scope)
            except Exception:  # noqa: BLE001 - the reporter must outlive a bad event
                pass
            finally:
                self.queue.task_done()
        self.queue.task_done()

    def flush(self, timeout: float = 2.0) -> None:
        """Wait (bounded) until queued exceptions are captured, then flush the transport."""
        import sentry_sdk

        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)
        sentry_sdk.flush(timeout=max(0.0, deadline - time.monotonic()))

    def close(self, timeout: float = 2.0) -> None:
        self.flush(timeout)
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(None)
        self._thread.join(timeout=0.5)


def _capture(exc: BaseException, scope: dict[str, Any] | None) -> None:
    import sentry_sdk

    with sentry_sdk.new_scope() as sentry_scope:
        if scope is not None:
            sentry_scope.add_event_processor(_request_processor(scope))
        sentry_sdk.capture_exception(exc)


def _request_processor(scope: dict[str, Any]) -> Callable[[Any, dict[str, Any]], Any]:
    def process(event: Any, hint: dict[str, Any]) -> Any:
        headers: dict[str, str] = {}
        for name, value in scope.get("headers", ()):
            headers[name.decode("latin-1")] = value.decode("latin-1")
        event["request"] = {
            "method": scope.get("method"),
            "url": f"{scope.get('scheme', 'http')}://{headers.get('host', '')}{scope.get('path', '')}",
            "query_string": scope.get("query_string", b"").decode("latin-1"),
            "headers": headers,
        }
        return event

    return process
