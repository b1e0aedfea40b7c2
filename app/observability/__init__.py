"""A copyable observability kit for FastAPI/Starlette services.

It imports nothing from the application. Typical use (see app/main.py):

    settings = Settings()                                   # subclass of ObservabilitySettings
    configure_logging(settings)                             # as early as possible
    app = FastAPI(lifespan=..., telemetry=FASTAPI_TELEMETRY_OFF)
    obs = setup_observability(app, settings)                # middleware, metrics, tracing, Sentry
    obs.instrument_engine(engine.sync_engine); obs.instrument_redis(redis); obs.instrument_httpx(client)
    app.add_route("/metrics", metrics_endpoint)             # or your own handler using metrics.render
    ... on shutdown: obs.shutdown()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter

from . import db, errors, metrics, tracing
from .context import KeepPolicy, current_request
from .log_sampling import LogSampler
from .logs import configure_logging, current_sampler
from .middleware import ObservabilityMiddleware
from .settings import ObservabilitySettings
from .spans import KeepDecisionSpanProcessor

# FastAPI >= 0.165 ships its own OpenTelemetry layer; this kit replaces it (one server
# span from our middleware, no OTel metrics), so switch it off in the constructor.
FASTAPI_TELEMETRY_OFF = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}

__all__ = [
    "FASTAPI_TELEMETRY_OFF",
    "Observability",
    "ObservabilitySettings",
    "configure_logging",
    "current_request",
    "metrics",
    "setup_observability",
]


@dataclass
class Observability:
    """Everything the kit set up for one app; the middleware gets its parts from here.

    Process-global state exists only where a library imposes it: the Prometheus registry
    (metric objects in metrics.py), structlog's configuration (logs.py), OpenTelemetry's
    global tracer provider (set once, tracing.py) and Sentry's client (errors.py).
    """

    settings: ObservabilitySettings
    policy: KeepPolicy
    sampler: LogSampler | None = None  # the one configure_logging() put in the chain
    tracer_provider: TracerProvider | None = None
    pipeline: KeepDecisionSpanProcessor | None = None  # keep/drop span export
    recorder: metrics.MetricsRecorder | None = None
    reporter: errors.ErrorReporter | None = None  # Sentry, off the event loop

    def instrument_engine(self, sync_engine: Any) -> None:
        if self.settings.OBSERVABILITY_ENABLED:
            db.instrument_engine(
                sync_engine,
                recorder=self.recorder,
                tracer_provider=self.tracer_provider,
                spans=self.settings.DB_SPANS,
            )

    def instrument_redis(self, client: Any) -> None:
        tracing.instrument_redis(client, self.tracer_provider)

    def instrument_httpx(self, client: Any) -> None:
        tracing.instrument_httpx(client, self.tracer_provider)

    def shutdown(self) -> None:
        """Flush spans and errors (each bounded by its timeout)."""
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        if self.reporter is not None:
            self.reporter.close()


def setup_observability(
    app: Any,
    s: ObservabilitySettings,
    *,
    span_exporter: SpanExporter | None = None,
    exclude_prefixes: tuple[str, ...] = ("/metrics", "/health"),
) -> Observability:
    """Wire metrics, tracing, Sentry and the middleware into `app` (before it starts).
    Call configure_logging(s) first: its sampler is the one the middleware uses."""
    obs = Observability(
        settings=s,
        policy=KeepPolicy(s.TRACE_SAMPLE_RATE, s.TRACE_SLOW_THRESHOLD_MS),
        sampler=current_sampler(),
        reporter=errors.setup_sentry(s),
    )
    if not s.OBSERVABILITY_ENABLED:
        return obs
    if s.metrics_on:
        obs.recorder = metrics.enable(s.METRICS_MAX_LABEL_VALUES, s.APP_VERSION, s.APP_ENV)
    if s.tracing_on:
        obs.tracer_provider, obs.pipeline = tracing.setup_tracing(s, exporter=span_exporter)
    if obs.recorder is not None:  # telemetry_dropped_total: what the kit could not deliver
        if obs.pipeline is not None:
            queue = obs.pipeline.delegate
            metrics.watch_losses("spans", "queue_full", lambda: queue.dropped)
            metrics.watch_losses("spans", "export_failed", lambda: queue.failed)
        if obs.reporter is not None:
            reporter = obs.reporter
            metrics.watch_losses("errors", "queue_full", lambda: reporter.dropped)
    app.add_middleware(
        ObservabilityMiddleware,
        policy=obs.policy,
        id_generator=obs.tracer_provider.id_generator if obs.tracer_provider else None,
        recorder=obs.recorder,
        access_log=s.access_log_on,
        exclude_prefixes=exclude_prefixes,
        pipeline=obs.pipeline,
        sampler=obs.sampler,
        reporter=obs.reporter,
    )
    return obs
