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
- Export runs on the kit's own thread (export.py) with a bounded queue and a short
  timeout: a dead collector drops spans, it never blocks a request. The OTLP request is
  encoded by hand (otlp.py), about 5x cheaper than the SDK's protobuf objects.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

from . import semconv
from .export import EncodedOTLPExporter, build_queue
from .otlp import SpanEncoder
from .settings import ObservabilitySettings
from .spans import KeepDecisionSpanProcessor


def otlp_exporter(s: ObservabilitySettings) -> SpanExporter:
    endpoint = s.OTEL_EXPORTER_OTLP_ENDPOINT
    return EncodedOTLPExporter(
        endpoint=endpoint,
        insecure=endpoint.startswith("http://"),
        timeout=s.TRACE_EXPORT_TIMEOUT_SECONDS,
    )


def setup_tracing(
    s: ObservabilitySettings, exporter: SpanExporter | None = None
) -> tuple[TracerProvider, KeepDecisionSpanProcessor]:
    """A tracer provider and its export pipeline, owned by the caller (Observability)."""
    resource = Resource.create(
        {
            "service.name": s.APP_NAME,
            "service.version": s.APP_VERSION,
            "service.instance.id": s.SERVICE_INSTANCE_ID,
            "deployment.environment.name": s.APP_ENV,
        }
    )
    provider = TracerProvider(resource=resource, sampler=ALWAYS_ON)
    exporter = exporter or otlp_exporter(s)
    queue = build_queue(
        exporter,
        provider.resource,
        provider.id_generator.generate_span_id,
        max_queue=s.TRACE_QUEUE_SIZE,
        max_batch=min(512, s.TRACE_QUEUE_SIZE),
        delay_seconds=1.0,
        export_timeout=s.TRACE_EXPORT_TIMEOUT_SECONDS,
    )
    pipeline = KeepDecisionSpanProcessor(
        queue,
        export_all=s.TRACE_SAMPLING_MODE == "collector",
        max_spans_per_request=s.TRACE_MAX_SPANS_PER_REQUEST,
        resource=provider.resource,
        new_span_id=provider.id_generator.generate_span_id,
        # OTLP: a request's spans are encoded when it ends (otlp.py), one encoder for the event loop
        encode=(
            SpanEncoder(provider.resource, provider.id_generator.generate_span_id).request
            if isinstance(exporter, EncodedOTLPExporter)
            else None
        ),
    )
    provider.add_span_processor(pipeline)
    # OpenTelemetry's global provider can be set once per process (module-level state the
    # API forces): the first setup registers its provider for code that calls
    # trace.get_tracer(). The kit itself never uses the global: every instrumentation gets
    # this provider explicitly, so a process that builds several apps (tests) keeps each
    # app's spans in that app's pipeline.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(provider)
    return provider, pipeline


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
