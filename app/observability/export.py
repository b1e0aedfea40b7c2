"""Span export off the event loop: a bounded queue, one thread, OTLP/gRPC with our own bytes.

    request ends -> KeepDecisionSpanProcessor.complete() -> otlp.py: the request's spans as bytes
                      -> SpanQueue.put()   (event loop; one deque append per request)
    export thread: every second, or as soon as 512 entries wait -> one ExportTraceServiceRequest
                      (resource and scope framing added once per batch) -> gRPC Export

Why not the SDK's BatchSpanProcessor: it takes one SDK span at a time (the kit's records
would first have to become ReadableSpans on the event loop), and every enqueue calls
os.getpid() for fork safety; here a request's spans are one queue entry and fork safety
is one os.register_at_fork hook (forking.py). The queue is a deque with maxlen: when the
collector is slow or gone, the oldest entries are dropped, a request never waits. Spans lost
that way or in a batch the exporter gave up on are counted (telemetry_dropped_total, metrics.py).

Transport: the SDK's OTLPSpanExporter, so endpoint, TLS, OTEL_EXPORTER_OTLP_* headers,
compression, retries with backoff and reconnection behave as documented upstream; only
its stub is replaced by one that sends the bytes otlp.py produced instead of serializing
protobuf objects. An SDK SpanExporter passed in (tests use InMemorySpanExporter) gets
ReadableSpans, materialized on the export thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from .forking import restart_in_child
from .otlp import SpanEncoder
from .spans import RequestSpans

_log = logging.getLogger(__name__)
_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

Item = bytes | ReadableSpan | RequestSpans


class _RawTraceStub:
    """TraceService's Export method taking already-encoded request bytes."""

    def __init__(self, channel: Any) -> None:
        # request_serializer None: grpc sends the bytes as they are
        self.Export = channel.unary_unary(  # noqa: N815 - the gRPC method name
            _EXPORT, request_serializer=None, response_deserializer=ExportTraceServiceResponse.FromString
        )


class EncodedOTLPExporter(OTLPSpanExporter):
    """OTLPSpanExporter sending an encoded ExportTraceServiceRequest (otlp.py).

    Uses two hooks of the SDK's exporter: the stub it builds on (re)connect and the
    translation step of its retrying export loop. tests/kit/test_otlp.py sends through it
    to a real gRPC server, so an SDK upgrade that moves these hooks fails there."""

    def _initialize_channel_and_stub(self) -> None:
        super()._initialize_channel_and_stub()  # type: ignore[no-untyped-call]  # untyped upstream
        self._client = _RawTraceStub(self._channel)  # type: ignore[assignment]  # same Export() call

    def _translate_data(self, data: Any) -> Any:
        return data[0]  # (payload, span count): the payload is the request

    def _count_data(self, data: Any) -> int:
        return int(data[1])

    def export_encoded(self, payload: bytes, count: int) -> SpanExportResult:
        return self._export((payload, count))  # type: ignore[arg-type]  # see _translate_data


def otlp_sender(exporter: EncodedOTLPExporter, resource: Any, new_span_id: Any) -> Callable[[list[Item], int], bool]:
    encoder = SpanEncoder(resource, new_span_id)

    def send(batch: list[Item], count: int) -> bool:
        return exporter.export_encoded(encoder.encode(batch), count) is SpanExportResult.SUCCESS

    return send


def sdk_sender(exporter: SpanExporter, resource: Any, new_span_id: Any) -> Callable[[list[Item], int], bool]:
    def send(batch: list[Item], count: int) -> bool:
        spans: list[ReadableSpan] = []
        for item in batch:
            if isinstance(item, RequestSpans):
                spans.extend(item.materialize(resource, new_span_id))
            elif isinstance(item, ReadableSpan):
                spans.append(item)
        return exporter.export(spans) is SpanExportResult.SUCCESS

    return send


class SpanQueue:
    """A bounded queue of spans and requests, drained by one export thread."""

    def __init__(
        self,
        send: Callable[[list[Item], int], bool],
        exporter: SpanExporter,
        *,
        max_queue: int,
        max_batch: int,
        delay_seconds: float,
        export_timeout: float,
    ) -> None:
        self.send = send
        self.exporter = exporter
        self.max_batch = max_batch
        self.delay = delay_seconds
        self.export_timeout = export_timeout
        # spans lost, read at scrape time (metrics.watch_losses): pushed out of the full queue
        # by newer ones while the exporter lagged; in batches the exporter gave up on
        self.dropped = 0
        self.failed = 0
        self._queue: deque[tuple[Item, int]] = deque(maxlen=max_queue)
        self._wake = threading.Event()
        self._export_lock = threading.Lock()  # one batch at a time: worker or force_flush
        self._stopping = False
        self._start()
        restart_in_child(self, SpanQueue._start)  # a forked child gets its own thread

    def _start(self) -> None:
        self._export_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="obs-span-export", daemon=True)
        self._thread.start()

    def put(self, item: Item, count: int) -> None:
        """Called on the event loop for every exported request: keep it to a few operations."""
        queue = self._queue
        if len(queue) == queue.maxlen:
            self.dropped += queue[0][1]  # the oldest entry's spans make room
        queue.append((item, count))
        if len(queue) >= self.max_batch and not self._wake.is_set():
            self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.delay)
            self._wake.clear()
            if self._stopping:
                break
            with self._export_lock:
                while self._export_one() >= self.max_batch:
                    pass

    def _export_one(self) -> int:
        """Send one batch (up to max_batch spans) from the queue; returns its span count."""
        queue = self._queue
        batch: list[Item] = []
        count = 0
        while queue and count < self.max_batch:
            item, n = queue.popleft()
            batch.append(item)
            count += n
        if batch:
            try:
                delivered = self.send(batch, count)  # the exporter retried and logged on its own
            except Exception:  # noqa: BLE001 - the thread must survive a bad batch
                _log.exception("span export failed; %d spans dropped", count)
                delivered = False
            if not delivered:
                self.failed += count
        return count

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        deadline = time.monotonic() + timeout_millis / 1000
        if not self._export_lock.acquire(timeout=max(timeout_millis / 1000, 0)):
            return False
        try:
            while self._queue and time.monotonic() < deadline:
                self._export_one()
            return not self._queue
        finally:
            self._export_lock.release()

    def shutdown(self) -> None:
        """Stop the thread, export what is queued (bounded by the export timeout), close."""
        self._stopping = True
        self._wake.set()
        self._thread.join(self.export_timeout)
        self.force_flush(int(self.export_timeout * 1000))
        self.exporter.shutdown()


def build_queue(
    exporter: SpanExporter,
    resource: Any,
    new_span_id: Any,
    *,
    max_queue: int,
    max_batch: int,
    delay_seconds: float,
    export_timeout: float,
) -> SpanQueue:
    sender = (
        otlp_sender(exporter, resource, new_span_id)
        if isinstance(exporter, EncodedOTLPExporter)
        else sdk_sender(exporter, resource, new_span_id)
    )
    return SpanQueue(
        sender,
        exporter,
        max_queue=max_queue,
        max_batch=max_batch,
        delay_seconds=delay_seconds,
        export_timeout=export_timeout,
    )


__all__: Sequence[str] = ("EncodedOTLPExporter", "SpanQueue", "build_queue")
