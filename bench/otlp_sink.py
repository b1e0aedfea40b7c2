"""A minimal OTLP/gRPC trace receiver for the benchmark: accepts and counts spans.

Runs as its own process, so its CPU is not charged to the app under test.
    python bench/otlp_sink.py PORT COUNT_FILE [HOST]   (HOST default 127.0.0.1)

`make bench-stack` also runs it as the stand-in for Tempo (bench/sinks.compose.yml, HOST 0.0.0.0).
"""

from __future__ import annotations

import signal
import sys
import threading
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class Sink(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans = 0
        self.lock = threading.Lock()

    def Export(self, request, context):  # noqa: N802 - gRPC method name
        n = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        with self.lock:
            self.spans += n
        return trace_service_pb2.ExportTraceServiceResponse()


def main() -> None:
    port, count_file = int(sys.argv[1]), sys.argv[2]
    host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
    sink = Sink()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(sink, server)
    server.add_insecure_port(f"{host}:{port}")
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        with open(count_file, "w") as f:
            f.write(str(sink.spans))
    with open(count_file, "w") as f:
        f.write(str(sink.spans))
    server.stop(0)


if __name__ == "__main__":
    main()
