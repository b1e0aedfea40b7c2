"""Prometheus metrics owned by the kit (HTTP, database, cache, app_info) and /metrics.

Names follow Prometheus conventions (base units, `_total` counters) and are the ones the
rules and dashboards of this repository read. Label children are cached per label tuple, so the
request path does a dict lookup instead of prometheus_client's labels() (lock + checks).
Exemplars (trace_id) are attached only for requests whose trace is kept, and /metrics
negotiates the format: exemplars only appear in OpenMetrics.
One process per container: exemplars are not available in multiprocess mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, Info, disable_created_metrics
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, Metric

from .limiter import LabelLimiter, method_label, status_group

# `<name>_created` samples (one per counter/histogram child) carry the child's creation
# time; no rule or panel here reads them and they were 12 % of the app's series.
# Process-wide switch of prometheus_client, so it is flipped before any metric exists.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DB_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

APP_INFO = Info("app", "Application version and environment")
HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "endpoint", "status_code"])
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request duration until the last body byte was sent",
    ["method", "endpoint"],
    buckets=HTTP_BUCKETS,
)
HTTP_IN_PROGRESS = Gauge("http_requests_in_progress", "HTTP requests being served")
DB_QUERIES = Counter("db_queries_total", "Database queries", ["operation", "table"])
DB_DURATION = Histogram(
    "db_query_duration_seconds",
    "Database query duration",
    ["operation", "table"],
    buckets=DB_BUCKETS,
)
DB_CONN_ACTIVE = Gauge("db_connections_active", "Database connections checked out of the pool")
DB_CONN_MAX = Gauge("db_connections_max", "Database pool capacity (pool_size + max_overflow)")
CACHE_HITS = Counter("cache_hits_total", "Cache hits", ["cache_type"])
CACHE_MISSES = Counter("cache_misses_total", "Cache misses", ["cache_type"])
CACHE_ERRORS = Counter("cache_errors_total", "Cache errors (the request fell back)", ["cache_type"])

_MAX_CACHED_CHILDREN = 4096


class _Losses:
    """telemetry_dropped_total{signal, reason}: telemetry the kit produced but could not deliver
    (sampling is not loss and is not counted here). The queues keep plain integer counters;
    this collector reads them at scrape time, so the request path pays nothing.

        signal="spans"  reason="queue_full"     pushed out of the export queue (collector slow or gone)
        signal="spans"  reason="export_failed"  in a batch the exporter gave up on after its retries
        signal="errors" reason="queue_full"     Sentry events not built during an error storm
    """

    def __init__(self) -> None:
        self.sources: dict[tuple[str, str], Callable[[], int]] = {}

    def describe(self) -> Iterator[Metric]:
        return iter(())  # registered before any source exists: nothing to check against

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "telemetry_dropped", "Telemetry produced but not delivered (not sampling)", labels=["signal", "reason"]
        )
        for (signal, reason), read in sorted(self.sources.items()):
            family.add_metric([signal, reason], read())
        yield family


LOSSES = _Losses()
REGISTRY.register(LOSSES)  # a collector by protocol: collect() and describe()


def watch_losses(signal: str, reason: str, read: Callable[[], int]) -> None:
    """Export a counter a kit part keeps (read at scrape time). One source per (signal,
    reason): a second app built in the same process (tests) takes over the series."""
    LOSSES.sources[(signal, reason)] = read


class MetricsRecorder:
    """Hot-path recording with cached label children and a label limiter."""

    def __init__(self, max_label_values: int) -> None:
        self.limit = LabelLimiter(max_label_values)
        self._http: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._db: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        self._cache: dict[tuple[str, str], Counter] = {}

    def http(self, method: str, endpoint: str, status: int, seconds: float, trace_id: str | None) -> None:
        key = (method, endpoint, status)
        children = self._http.get(key)
        if children is None:
            m = self.limit("method", method_label(method))
            e = self.limit("endpoint", endpoint)
            children = (
                HTTP_REQUESTS.labels(m, e, status_group(status)),
                HTTP_DURATION.labels(m, e),
            )
            if len(self._http) < _MAX_CACHED_CHILDREN:
                self._http[key] = children
        if trace_id is None:
            children[0].inc()
            children[1].observe(seconds)
        else:
            exemplar = {"trace_id": trace_id}
            children[0].inc(exemplar=exemplar)
            children[1].observe(seconds, exemplar=exemplar)

    def db(self, operation: str, table: str, seconds: float) -> None:
        key = (operation, table)
        children = self._db.get(key)
        if children is None:
            o = self.limit("operation", operation)
            t = self.limit("table", table)
            children = (DB_QUERIES.labels(o, t), DB_DURATION.labels(o, t))
            if len(self._db) < _MAX_CACHED_CHILDREN:
                self._db[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def cache_hit(self, cache_type: str) -> None:
        self.cache(CACHE_HITS, cache_type)

    def cache_miss(self, cache_type: str) -> None:
        self.cache(CACHE_MISSES, cache_type)

    def cache_error(self, cache_type: str) -> None:
        self.cache(CACHE_ERRORS, cache_type)

    def cache(self, counter: Counter, cache_type: str) -> None:
        key = (counter._name, cache_type)
        child = self._cache.get(key)
        if child is None:
            child = counter.labels(self.limit("cache_type", cache_type))
            if len(self._cache) < _MAX_CACHED_CHILDREN:
                self._cache[key] = child
        child.inc()


def enable(max_label_values: int, version: str, environment: str) -> MetricsRecorder:
    """A recorder for one app (Observability.recorder holds it; pass it where metrics are
    recorded). The metric objects above live in prometheus_client's process-wide registry."""
    APP_INFO.info({"version": version, "environment": environment})
    return MetricsRecorder(max_label_values)


def render(accept_header: str | None, registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    """Exposition body and content type for an Accept header (OpenMetrics if asked)."""
    encoder, content_type = choose_encoder(accept_header or "")
    return encoder(registry), content_type
