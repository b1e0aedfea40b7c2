"""The hand-written OTLP encoder says exactly what the SDK's encoder says, and reaches a real
gRPC receiver through the SDK exporter's transport."""

from __future__ import annotations

import threading
import time
from concurrent import futures

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from app.observability.export import EncodedOTLPExporter, build_queue
from app.observability.otlp import SpanEncoder, varint
from app.observability.spans import Deferred, RequestSpans

RESOURCE = Resource.create({"service.name": "svc", "service.version": "1.2.3", "service.instance.id": "host-1"})
TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
_ids = iter(range(0x1000, 0x100000))


def new_span_id() -> int:
    return next(_ids)


def decoded(payload: bytes) -> trace_service_pb2.ExportTraceServiceRequest:
    return trace_service_pb2.ExportTraceServiceRequest.FromString(payload)


def server_record(span_id: int = 0x1234, **attributes: object) -> Deferred:
    remote = SpanContext(TRACE_ID, 0x00F067AA0BA902B7, is_remote=True, trace_flags=TraceFlags(1))
    d = Deferred(
        "GET /api/v1/users/{user_id}",
        SpanKind.SERVER,
        remote,
        {
            "http.request.method": "GET",
            "url.scheme": "http",
            "url.path": "/api/v1/users/7",
            "server.address": "localhost",
            "server.port": 8000,
            "network.protocol.version": "1.1",
            "http.route": "/api/v1/users/{user_id}",
            **attributes,
        },
        span_id=span_id,
    )
    d.end = d.start + 1_500_000
    return d


def query_record(error: BaseException | None = None) -> Deferred:
    parent = SpanContext(TRACE_ID, 0x1234, is_remote=False, trace_flags=TraceFlags(1))
    d = Deferred("SELECT users", SpanKind.CLIENT, parent, {"db.system.name": "postgresql", "db.namespace": "app"})
    d.end = d.start + 400_000
    d.error = error
    return d


def sdk_spans() -> list:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("opentelemetry.instrumentation.redis", "0.66b2", schema_url="https://x/1.44")
    link = Link(SpanContext(TRACE_ID, 0x99, is_remote=True, trace_flags=TraceFlags(1)), {"l": 1})
    with tracer.start_as_current_span("GET", kind=SpanKind.CLIENT, links=[link]) as span:
        span.set_attributes({"db.system.name": "redis", "n": -5, "f": 0.5, "b": False, "seq": ["a", "b"]})
        span.add_event("retry", {"attempt": 2})
        span.set_status(Status(StatusCode.ERROR, "boom"))
    other = provider.get_tracer("manual")
    with other.start_as_current_span("job"):
        pass
    return list(exporter.get_finished_spans())


def spans_by_id(request: trace_service_pb2.ExportTraceServiceRequest) -> dict:
    out = {}
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                out[span.span_id] = (rs.resource, rs.schema_url, ss.scope, ss.schema_url, span)
    return out


def test_kit_records_and_sdk_spans_encode_as_the_sdk_encodes_them():
    try:
        raise ValueError("duplicate key value violates constraint")
    except ValueError as exc:
        failed = exc
    requests = [
        RequestSpans(TRACE_ID, [query_record(), server_record(**{"sampling.kept_by_app": True})], []),
        RequestSpans(TRACE_ID, [query_record(failed), server_record(0x1235, **{"http.response.status_code": 500})], []),
        RequestSpans(TRACE_ID, [server_record(0x1236, **{"http.response.status_code": 200})], sdk_spans()),
    ]
    ours = decoded(SpanEncoder(RESOURCE, new_span_id).encode(requests))
    # the same records through materialize() and the SDK's encoder; span ids of the
    # query records are drawn on encoding, so both sides draw from the same sequence
    global _ids
    _ids = iter(range(0x1000, 0x100000))
    theirs = encode_spans([s for r in requests for s in r.materialize(RESOURCE, new_span_id)])
    ours_by_id, theirs_by_id = spans_by_id(ours), spans_by_id(theirs)
    assert len(ours_by_id) == 7
    assert ours_by_id.keys() == theirs_by_id.keys()
    for span_id, expected in theirs_by_id.items():
        assert ours_by_id[span_id] == expected, expected[-1].name


def test_attribute_cache_does_not_mix_values_of_different_types():
    encoder = SpanEncoder(RESOURCE, new_span_id)
    first = decoded(encoder.encode([RequestSpans(TRACE_ID, [server_record(x="1")], [])]))
    second = decoded(encoder.encode([RequestSpans(TRACE_ID, [server_record(x=1)], [])]))
    value = {kv.key: kv.value for kv in first.resource_spans[0].scope_spans[0].spans[0].attributes}["x"]
    assert value.string_value == "1"
    value = {kv.key: kv.value for kv in second.resource_spans[0].scope_spans[0].spans[0].attributes}["x"]
    assert value.WhichOneof("value") == "int_value" and value.int_value == 1


def test_varint_matches_protobuf_for_edge_values():
    from google.protobuf.internal.encoder import _VarintBytes

    for n in (0, 1, 127, 128, 300, 2**32, 2**63, 2**64 - 1):
        assert varint(n) == _VarintBytes(n)


class _Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.metadata: list[dict[str, str]] = []
        self.lock = threading.Lock()

    def Export(self, request, context):  # noqa: N802 - gRPC method name
        with self.lock:
            self.requests.append(request)
            self.metadata.append(dict(context.invocation_metadata()))
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
def receiver():
    sink = _Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(sink, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield sink, port
    server.stop(0)


def test_queued_requests_reach_a_grpc_receiver_with_configured_headers(receiver):
    sink, port = receiver
    exporter = EncodedOTLPExporter(endpoint=f"http://127.0.0.1:{port}", insecure=True, headers={"x-tenant": "t1"})
    queue = build_queue(
        exporter, RESOURCE, new_span_id, max_queue=64, max_batch=8, delay_seconds=0.05, export_timeout=5
    )
    for _ in range(20):
        queue.put(RequestSpans(TRACE_ID, [query_record(), server_record()], []), 2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with sink.lock:
            received = sum(len(ss.spans) for r in sink.requests for rs in r.resource_spans for ss in rs.scope_spans)
        if received >= 40:
            break
        time.sleep(0.02)
    queue.shutdown()
    assert received == 40
    assert all(m.get("x-tenant") == "t1" for m in sink.metadata)
    names = {s.name for r in sink.requests for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans}
    assert names == {"SELECT users", "GET /api/v1/users/{user_id}"}


def test_a_full_queue_drops_the_oldest_entries_and_counts_them():
    exporter = InMemorySpanExporter()
    queue = build_queue(
        exporter, RESOURCE, new_span_id, max_queue=16, max_batch=512, delay_seconds=60, export_timeout=1
    )
    for _ in range(20):
        queue.put(RequestSpans(TRACE_ID, [query_record(), server_record()], []), 2)
    assert queue.dropped == 8, "spans, not queue entries"
    assert queue.force_flush(5000)
    assert len(exporter.get_finished_spans()) == 32
    assert queue.failed == 0
    queue.shutdown()


def test_spans_the_exporter_gives_up_on_are_counted_as_failed():
    # the real OTLP exporter against a closed port: it retries within its timeout, then fails
    exporter = EncodedOTLPExporter(endpoint="http://127.0.0.1:9", insecure=True, timeout=1)
    queue = build_queue(
        exporter, RESOURCE, new_span_id, max_queue=16, max_batch=512, delay_seconds=60, export_timeout=1
    )
    for _ in range(3):
        queue.put(RequestSpans(TRACE_ID, [query_record(), server_record()], []), 2)
    queue.force_flush(10_000)  # one attempt: the batch leaves the queue, delivered or not
    assert queue.failed == 6 and queue.dropped == 0
    queue.shutdown()
