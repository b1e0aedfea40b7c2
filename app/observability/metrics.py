"""Prometheus metrics owned by the kit (HTTP, database, cache, app_info) and /metrics.

Names follow Prometheus conventions (base units, `_total` counters) and are the ones the
rules and dashboards of this repository read. The two series recorded on every request
and every query (a counter and a duration histogram each) are kept by `Timed` below:
plain numbers under one lock, turned into metric families at scrape time. Through
prometheus_client's Counter + Histogram one request was 14 Python calls and 3 lock round
trips (MetricsRecorder.http: 1.26 us alone, more inside the app); through `Timed.observe`
it is one bisect and one lock (0.51 us). Series are cached per raw label tuple, so the
request path does a dict lookup instead of label validation.
Exemplars (trace_id) are attached only for requests whose trace is kept, and /metrics
negotiates the format: exemplars only appear in OpenMetrics.
One process per container: exemplars are not available in multiprocess mode.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Info, disable_created_metrics
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.samples import Exemplar
from prometheus_client.utils import floatToGoString

from .limiter import LabelLimiter, method_label, status_group

# `<name>_created` samples (one per counter/histogram child) carry the child's creation
# time; no rule or panel here reads them and they were 12 % of the app's series.
# Process-wide switch of prometheus_client, so it is flipped before any metric exists.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream

# the exemplar's label: Tempo's span metrics and Grafana's trace links use the same name
EXEMPLAR_LABEL = "trace_id"
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DB_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

APP_INFO = Info("app", "Application version and environment")


class _Count:
    __slots__ = ("value", "exemplar")

    def __init__(self) -> None:
        self.value = 0
        self.exemplar: Exemplar | None = None


class _Buckets:
    __slots__ = ("counts", "sum", "exemplars")

    def __init__(self, size: int) -> None:
        self.counts = [0] * size  # per bucket, not cumulative; the last one is +Inf
        self.sum = 0.0
        self.exemplars: list[Exemplar | None] = [None] * size


class Timed:
    """A counter and a duration histogram recorded together, and their collector.

    The counter may carry one label more than the histogram (HTTP: status_code); each
    observation adds 1 to one counter series and the duration to one histogram series.
    Thread-safe: one lock per observation (the event loop is the usual only writer).
    """

    def __init__(
        self,
        counter: tuple[str, str, Sequence[str]],
        histogram: tuple[str, str, Sequence[str]],
        buckets: Sequence[float],
    ) -> None:
        self.counter_name, self.counter_doc, self.counter_labels = counter
        self.histogram_name, self.histogram_doc, self.histogram_labels = histogram
        self.bounds = tuple(float(b) for b in buckets)
        self.les = [floatToGoString(b) for b in self.bounds] + ["+Inf"]  # type: ignore[no-untyped-call]
        self._counts: dict[tuple[str, ...], _Count] = {}
        self._buckets: dict[tuple[str, ...], _Buckets] = {}
        self._lock = threading.Lock()

    def series(self, counter_values: tuple[str, ...], histogram_values: tuple[str, ...]) -> tuple[_Count, _Buckets]:
        """The two series one label set records into (created at zero on first use)."""
        with self._lock:
            count = self._counts.get(counter_values)
            if count is None:
                count = self._counts[counter_values] = _Count()
            buckets = self._buckets.get(histogram_values)
            if buckets is None:
                buckets = self._buckets[histogram_values] = _Buckets(len(self.les))
        return count, buckets

    def observe(self, series: tuple[_Count, _Buckets], seconds: float, trace_id: str | None = None) -> None:
        count, buckets = series
        i = bisect_left(self.bounds, seconds)  # the first bucket whose bound is >= seconds (le)
        with self._lock:
            count.value += 1
            buckets.counts[i] += 1
            buckets.sum += seconds
            if trace_id is not None:
                now = time.time()
                count.exemplar = Exemplar({EXEMPLAR_LABEL: trace_id}, 1.0, now)
                buckets.exemplars[i] = Exemplar({EXEMPLAR_LABEL: trace_id}, seconds, now)

    def describe(self) -> Iterator[Metric]:
        yield CounterMetricFamily(self.counter_name, self.counter_doc, labels=self.counter_labels)
        yield HistogramMetricFamily(self.histogram_name, self.histogram_doc, labels=self.histogram_labels)

    def collect(self) -> Iterator[Metric]:
        with self._lock:  # a consistent snapshot; exposition happens outside the lock
            counts = [(k, c.value, c.exemplar) for k, c in self._counts.items()]
            buckets = [(k, list(b.counts), b.sum, list(b.exemplars)) for k, b in self._buckets.items()]
        counter = CounterMetricFamily(self.counter_name, self.counter_doc, labels=self.counter_labels)
        for values, value, exemplar in counts:
            counter.add_metric(values, value, exemplar=exemplar)
        yield counter
        histogram = HistogramMetricFamily(self.histogram_name, self.histogram_doc, labels=self.histogram_labels)
        for values, per_bucket, total, exemplars in buckets:
            cumulative, rows = 0, []
            for le, n, exemplar in zip(self.les, per_bucket, exemplars, strict=True):
                cumulative += n
                rows.append((le, cumulative, exemplar) if exemplar is not None else (le, cumulative))
            histogram.add_metric(values, rows, total)
        yield histogram


HTTP = Timed(
    ("http_requests_total", "HTTP requests", ("method", "endpoint", "status_code")),
    (
        "http_request_duration_seconds",
        "HTTP request duration until the last body byte was sent",
        ("method", "endpoint"),
    ),
    HTTP_BUCKETS,
)
DB = Timed(
    ("db_queries_total", "Database queries", ("operation", "table")),
    ("db_query_duration_seconds", "Database query duration", ("operation", "table")),
    DB_BUCKETS,
)
REGISTRY.register(HTTP)  # collectors by protocol: collect() and describe()
REGISTRY.register(DB)
HTTP_IN_PROGRESS = Gauge("http_requests_in_progress", "HTTP requests being served")
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
        self._http: dict[tuple[str, str, int], tuple[_Count, _Buckets]] = {}
        self._db: dict[tuple[str, str], tuple[_Count, _Buckets]] = {}
        self._cache: dict[tuple[str, str], Counter] = {}

    def http(self, method: str, endpoint: str, status: int, seconds: float, trace_id: str | None) -> None:
        key = (method, endpoint, status)
        series = self._http.get(key)
        if series is None:
            m = self.limit("method", method_label(method))
            e = self.limit("endpoint", endpoint)
            series = HTTP.series((m, e, status_group(status)), (m, e))
            if len(self._http) < _MAX_CACHED_CHILDREN:
                self._http[key] = series
        HTTP.observe(series, seconds, trace_id)

    def db(self, operation: str, table: str, seconds: float) -> None:
        key = (operation, table)
        series = self._db.get(key)
        if series is None:
            labels = (self.limit("operation", operation), self.limit("table", table))
            series = DB.series(labels, labels)
            if len(self._db) < _MAX_CACHED_CHILDREN:
                self._db[key] = series
        DB.observe(series, seconds)

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
