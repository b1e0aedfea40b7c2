"""OpenTelemetry tracing: one provider, OTLP gRPC export, the app-side keep decision.

Design (see README.md for the measured trade-off):
- The server span is recorded by our own middleware (middleware.py), not by an ASGI
  instrumentation: no send/receive spans, no instrumentation-side metrics, a handful of
  attributes. FastAPI's native telemetry layer must be off (FastAPI(telemetry=...)).
- Server and SQL spans of a request are plain records until the request ends (spans.py);
  Redis and httpx spans come from the upstream instrumentations, attached to the given
  client instances only, with a no-op meter.
- TRACE_SAMPLING_MODE=app: a request's spans are exported only when it is kept.
  =collector: every span is exported and the collector tail-samples; kept requests carry
  sampling.kept_by_app=true in both modes.
- Export runs on BatchSpanProcessor's thread with a bounded queue and a short timeout: a
  dead collector drops spans, it never blocks a request.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

from . import semconv
from .settings import ObservabilitySettings
from .spans import KeepDecisionSpanProcessor


class _ProcessorSlot(SpanProcessor):
    """The provider is process-global (OTel allows setting it once); the export pipeline
    behind it is swappable, so an app factory can run more than once (tests)."""

    delegate: SpanProcessor | None = None

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        delegate = self.delegate
        if delegate is not None:
            delegate.on_end(span)

    def shutdown(self) -> None:
        if self.delegate is not None:
            self.delegate.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.delegate.force_flush(timeout_millis) if self.delegate is not None else True


_SLOT = _ProcessorSlot()
_provider: TracerProvider | None = None


def otlp_exporter(s: ObservabilitySettings) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    endpoint = s.OTEL_EXPORTER_OTLP_ENDPOINT
    return OTLPSpanExporter(
        endpoint=endpoint,
        insecure=endpoint.startswith("http://"),
        timeout=s.TRACE_EXPORT_TIMEOUT_SECONDS,
    )


def setup_tracing(s: ObservabilitySettings, exporter: SpanExporter | None = None) -> TracerProvider:
    """Create (once) the global provider and (each call) a fresh export pipeline."""
    global _provider
    if _provider is None:
        resource = Resource.create(
            {
                "service.name": s.APP_NAME,
                "service.version": s.APP_VERSION,
                "deployment.environment.name": s.APP_ENV,
            }
        )
        _provider = TracerProvider(resource=resource, sampler=ALWAYS_ON)
        _provider.add_span_processor(_SLOT)
        trace.set_tracer_provider(_provider)
    batch = BatchSpanProcessor(
        exporter or otlp_exporter(s),
        max_queue_size=s.TRACE_QUEUE_SIZE,
        schedule_delay_millis=1000,
        max_export_batch_size=min(512, s.TRACE_QUEUE_SIZE),
        export_timeout_millis=s.TRACE_EXPORT_TIMEOUT_SECONDS * 1000,
    )
    previous = _SLOT.delegate
    _SLOT.delegate = KeepDecisionSpanProcessor(
        batch,
        export_all=s.TRACE_SAMPLING_MODE == "collector",
        max_spans_per_request=s.TRACE_MAX_SPANS_PER_REQUEST,
        resource=_provider.resource,
        new_span_id=_provider.id_generator.generate_span_id,
    )
    if previous is not None:
        previous.shutdown()
    return _provider


def shutdown_tracing() -> None:
    """Flush and stop the export pipeline (bounded by the export timeout)."""
    delegate, _SLOT.delegate = _SLOT.delegate, None
    if delegate is not None:
        delegate.shutdown()


def pipeline() -> KeepDecisionSpanProcessor | None:
    """The current export pipeline (the middleware completes requests through it)."""
    return _SLOT.delegate  # type: ignore[return-value]


def _redis_request_hook(span: Any, instance: Any, args: Any, kwargs: Any) -> None:
    """db.operation.name (the command) and db.namespace (the database index): the
    instrumentation does not set them in the stable mode."""
    if not span.is_recording():
        return
    if args:
        span.set_attribute("db.operation.name", str(args[0]).upper()[:64])
    pool = getattr(instance, "connection_pool", None)
    db = getattr(pool, "connection_kwargs", {}).get("db") if pool is not None else None
    span.set_attribute("db.namespace", str(db or 0))


def instrument_redis(client: Any, provider: TracerProvider | None) -> None:
    if provider is not None:
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        semconv.opt_in_stable()
        RedisInstrumentor.instrument_client(client, tracer_provider=provider, request_hook=_redis_request_hook)


def instrument_httpx(client: Any, provider: TracerProvider | None) -> None:
    if provider is not None:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.metrics import NoOpMeterProvider

        semconv.opt_in_stable()
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=provider, meter_provider=NoOpMeterProvider())
