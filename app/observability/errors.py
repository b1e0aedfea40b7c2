"""Sentry error reporting, only when SENTRY_DSN is set.

- The middleware reports unhandled request exceptions itself (report_exception), while the
  OTel server span is still current, so every event carries the trace_id (tag and
  contexts.trace) of the trace that Tempo holds: the request is kept on error.
- Sentry's framework auto-integrations stay off: they would wrap every request a second
  time and capture the same exception again. Logging integration: breadcrumbs only.
- Sentry does no tracing here (OpenTelemetry does) and does not touch propagation, so
  W3C traceparent keeps flowing through httpx.
- Scrubbing: EventScrubber with the default denylist plus header spellings it misses,
  a before_send that redacts secrets in query strings, and no frame local variables.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode

from opentelemetry import trace

from .settings import ObservabilitySettings

SCRUBBED = "[Filtered]"
_EXTRA_DENY = ["x-api-key", "x-admin-token", "x-auth-token", "api-key", "access_token", "refresh_token"]
_QUERY_DENY = ("password", "passwd", "token", "secret", "api_key", "apikey", "auth")
_enabled = False


def setup_sentry(s: ObservabilitySettings, **overrides: Any) -> bool:
    global _enabled
    if not s.sentry_on:
        _enabled = False
        return False
    import sentry_sdk
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    options: dict[str, Any] = {
        "dsn": s.SENTRY_DSN,
        "environment": s.SENTRY_ENVIRONMENT or s.APP_ENV,
        "release": f"{s.APP_NAME}@{s.APP_VERSION}",
        # send_default_pii left unset (= off, and no deprecation warning); data_collection
        # is not used because it switches the EventScrubber off.
        "include_local_variables": False,  # frame locals hold raw ASGI headers and secrets
        "traces_sample_rate": None,  # tracing is OpenTelemetry's job
        "auto_enabling_integrations": False,
        "integrations": [LoggingIntegration(level=logging.INFO, event_level=None)],
        "event_scrubber": EventScrubber(denylist=[*DEFAULT_DENYLIST, *_EXTRA_DENY], recursive=True),
        "before_send": before_send,
    }
    options.update(overrides)
    sentry_sdk.init(**options)
    _enabled = True
    return True


def _scrub_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, SCRUBBED if any(d in k.lower() for d in _QUERY_DENY) else v) for k, v in pairs])


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict) and isinstance(request.get("query_string"), str):
        request["query_string"] = _scrub_query(request["query_string"])
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
    return event


def report_exception(exc: BaseException, scope: dict[str, Any] | None = None) -> None:
    """Capture an unhandled request exception once, with request data and the trace id."""
    if not _enabled:
        return
    import sentry_sdk

    span_ctx = trace.get_current_span().get_span_context()
    if span_ctx.is_valid:
        with contextlib.suppress(AttributeError):  # exceptions with __slots__
            exc.__otel_ids__ = (format(span_ctx.trace_id, "032x"), format(span_ctx.span_id, "016x"))
    with sentry_sdk.new_scope() as sentry_scope:
        if scope is not None:
            sentry_scope.add_event_processor(_request_processor(scope))
        sentry_sdk.capture_exception(exc)


def _request_processor(scope: dict[str, Any]):
    def process(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
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


def flush(timeout: float = 2.0) -> None:
    if _enabled:
        import sentry_sdk

        sentry_sdk.flush(timeout=timeout)
