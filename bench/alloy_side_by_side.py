"""Alloy configs side by side: every variant runs at once, alone (no stack), for the same window.

    python bench/alloy_side_by_side.py before=/tmp/old.alloy after=alloy/config.alloy \\
        [--copies 2] [--seconds 600] [--lines 5] [--spans 5]

    feeder ──JSON lines──> one log file (every variant tails it)
           ──OTLP spans──> each variant's receiver           Alloy ×N ──> bench/loki_sink.py
    a scrape of each /metrics every 15 s, as Prometheus does          ──> bench/otlp_sink.py

Why: Alloy uses well under 1 % of a core at this stack's volume, and on a shared machine the
neighbours' load moves one process by as much as a config change does, even in alternating
rounds (`make bench-stack`). Running the variants at the same time for minutes exposes them to
the same neighbours; CPU comes from /proc/<pid>/stat (10 ms ticks, so long windows). With
--lines 0 --spans 0 it measures the idle cost: Alloy's timers.

Each config is the file as written, with its OTLP receivers moved to free loopback ports and
LOKI_PUSH_URL / TEMPO_OTLP_ENDPOINT / ALLOY_APP_LOG_GLOB / DOCKER_HOST (no Docker) set for it.
Prints CPU % of a core and RSS per instance, and what each shipped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.net import free_port, poll_until  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
SHIPPED = ("loki_source_file_read_lines_total", "loki_write_sent_entries_total", "otelcol_exporter_sent_spans_total")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        return resp.read().decode()


def counters(port: int) -> dict[str, float]:
    out = dict.fromkeys(SHIPPED, 0.0)
    for name, value in re.findall(r"^(\w+)(?:\{[^}]*\})? (\S+)$", metrics(port), re.M):
        if name in out:
            out[name] += float(value)
    return out


def feed(log: Path, ports: list[int], lines: int, spans: int, stop: threading.Event) -> None:
    """Once a second: `lines` JSON lines like the app's, and `spans` spans in one export to each port."""
    stubs = [trace_service_pb2_grpc.TraceServiceStub(grpc.insecure_channel(f"127.0.0.1:{p}")) for p in ports]

    def attr(key: str, value: str) -> common_pb2.KeyValue:
        return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(string_value=value))

    resource = resource_pb2.Resource(attributes=[attr("service.name", "fastapi-app")])
    with log.open("a", buffering=1) as f:
        while not stop.wait(1.0):
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".123456Z"
            for _ in range(lines):
                f.write(
                    json.dumps(
                        {
                            "timestamp": stamp,
                            "level": "info",
                            "event": "request",
                            "path": "/api/v1/items/42",
                            "status": 200,
                            "request_id": os.urandom(8).hex(),
                            "trace_id": os.urandom(16).hex(),
                            "span_id": os.urandom(8).hex(),
                        }
                    )
                    + "\n"
                )
            if not spans:
                continue
            now = time.time_ns()
            batch = [
                trace_pb2.Span(
                    trace_id=os.urandom(16),
                    span_id=os.urandom(8),
                    name="GET /api/v1/items/{item_id}",
                    kind=trace_pb2.Span.SPAN_KIND_SERVER,
                    start_time_unix_nano=now - 3_000_000,
                    end_time_unix_nano=now,
                    attributes=[attr("http.route", "/api/v1/items/{item_id}")],
                )
                for _ in range(spans)
            ]
            request = trace_service_pb2.ExportTraceServiceRequest(
                resource_spans=[
                    trace_pb2.ResourceSpans(resource=resource, scope_spans=[trace_pb2.ScopeSpans(spans=batch)])
                ]
            )
            for stub in stubs:
                with contextlib.suppress(grpc.RpcError):  # counted as not received, in the output
                    stub.Export(request, timeout=2)


def main() -> int:
    cli = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    cli.add_argument("configs", nargs="+", metavar="NAME=FILE")
    cli.add_argument("--copies", type=int, default=2, help="instances per config (2)")
    cli.add_argument("--seconds", type=float, default=600, help="measured window (600)")
    cli.add_argument("--lines", type=int, default=5, help="log lines per second (5)")
    cli.add_argument("--spans", type=int, default=5, help="spans per second (5)")
    args = cli.parse_args()
    alloy = subprocess.run([str(ROOT / "tools" / "which.sh"), "alloy"], capture_output=True, text=True).stdout.strip()
    if not alloy:
        sys.exit("alloy_side_by_side: no pinned alloy (tools/which.sh alloy)")
    tmp = Path(tempfile.mkdtemp(prefix="alloy-side-by-side-"))
    (tmp / "logs").mkdir()
    log = tmp / "logs" / "app.log"
    log.touch()
    py = sys.executable
    loki, tempo = free_port(), free_port()
    procs = [
        subprocess.Popen([py, str(ROOT / "bench" / "loki_sink.py"), str(loki)]),
        subprocess.Popen([py, str(ROOT / "bench" / "otlp_sink.py"), str(tempo), str(tmp / "spans")]),
    ]
    env = {
        **os.environ,
        "LOKI_PUSH_URL": f"http://127.0.0.1:{loki}/loki/api/v1/push",
        "TEMPO_OTLP_ENDPOINT": f"127.0.0.1:{tempo}",
        "ALLOY_APP_LOG_GLOB": str(tmp / "logs" / "*.log"),
        "DOCKER_HOST": f"unix://{tmp}/no-docker.sock",
    }
    instances: list[tuple[str, subprocess.Popen[bytes], int, int]] = []  # name, process, http, grpc
    stop = threading.Event()
    try:
        for spec in args.configs:
            name, _, file = spec.partition("=")
            text = Path(file).read_text()
            for copy in range(1, args.copies + 1):
                http, grpc_port = free_port(), free_port()
                cfg = text.replace('"0.0.0.0:4317"', f'"127.0.0.1:{grpc_port}"')
                cfg = cfg.replace('"0.0.0.0:4318"', f'"127.0.0.1:{free_port()}"')
                label = f"{name}#{copy}"
                path = tmp / f"{label}.alloy"
                path.write_text(cfg)
                argv = [alloy, "run", str(path), f"--storage.path={tmp / label}"]
                argv += [f"--server.http.listen-addr=127.0.0.1:{http}", "--disable-reporting"]
                with (tmp / f"{label}.log").open("w") as out:
                    proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
                instances.append((label, proc, http, grpc_port))
        for label, proc, http, _ in instances:
            poll_until(f"{label} ready", lambda p=proc, h=http: p.poll() is None and counters(h) is not None, 60)
        feeder = threading.Thread(
            target=feed, args=(log, [g for *_, g in instances], args.lines, args.spans, stop), daemon=True
        )
        feeder.start()
        time.sleep(30)  # start-up work (component builds, first discovery) out of the window
        before = {label: (cpu_s(proc.pid), counters(http)) for label, proc, http, _ in instances}
        end = time.monotonic() + args.seconds
        while (left := end - time.monotonic()) > 0:
            for _, _, http, _ in instances:
                metrics(http)  # the scrape Prometheus would do
            time.sleep(min(15, left))
        print(f"{args.seconds:.0f} s, {args.lines} lines and {args.spans} spans a second to each instance")
        print(f"{'instance':<22}{'CPU % of a core':>16}{'RSS MiB':>9}  shipped in the window")
        for label, proc, http, _ in instances:
            cpu0, shipped0 = before[label]
            cpu = 100 * (cpu_s(proc.pid) - cpu0) / args.seconds
            shipped = counters(http)
            moved = ", ".join(f"{k.split('_total')[0]} {shipped[k] - shipped0[k]:.0f}" for k in SHIPPED)
            print(f"{label:<22}{cpu:>16.3f}{rss_mib(proc.pid):>9.0f}  {moved}")
    finally:
        stop.set()
        for _, proc, _, _ in instances:
            proc.terminate()
        for proc in procs:
            proc.terminate()
        for proc in [p for _, p, _, _ in instances] + procs:
            proc.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
