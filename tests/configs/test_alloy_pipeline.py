"""Runs the real alloy/config.alloy with the pinned native Alloy and proves what it does:
the app's JSON line becomes a Loki entry with the right labels, structured metadata and
timestamp; the tail sampler keeps errors, slow traces and app-marked traces and drops most
of the rest; a missing Docker socket does not break the pipeline.

Test harness changes to the config (and nothing else): the Loki sink becomes loki.echo (so
entries can be read from Alloy's log), OTLP listens on free loopback ports, the sampler
decides after 1 s instead of 10 s, and the Docker socket path is one that does not exist.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.support import REPO
from tests.support.ci import missing
from tests.support.http import get_text
from tests.support.net import free_port, poll_until
from tests.support.procs import Proc
from tests.support.tools import require_tool

LINE = {
    "timestamp": "2026-11-26T10:00:00.123456Z",
    "level": "error",
    "event": "boom",
    "logger": "app",
    "request_id": "req-1",
    "trace_id": "0af7651916cd43dd8448eb211c80319c",
    "span_id": "b7ad6b7169203331",
    "service": "fastapi-app",
}


@pytest.fixture(scope="module")
def alloy(tmp_path_factory):
    binary = require_tool("alloy")
    tmp = tmp_path_factory.mktemp("alloy")
    (tmp / "logs").mkdir()
    http, grpc, otlp_http = free_port(), free_port(), free_port()
    cfg = (REPO / "alloy" / "config.alloy").read_text()
    for old, new in (
        ("loki.write.default.receiver", "loki.echo.capture.receiver"),
        ('format = "logfmt"', 'format = "json"'),
        ('decision_wait = "10s"', 'decision_wait = "1s"'),
        ('"0.0.0.0:4317"', f'"127.0.0.1:{grpc}"'),
        ('"0.0.0.0:4318"', f'"127.0.0.1:{otlp_http}"'),
        ("unix:///var/run/docker.sock", f"unix://{tmp}/no-docker.sock"),
    ):
        assert old in cfg, f"harness expects {old!r} in alloy/config.alloy"
        cfg = cfg.replace(old, new)  # every occurrence (the Docker socket appears twice)
    (tmp / "config.alloy").write_text(cfg + '\nloki.echo "capture" {}\n')
    env = {
        "ALLOY_APP_LOG_GLOB": str(tmp / "logs" / "*.log"),
        "TEMPO_OTLP_ENDPOINT": f"127.0.0.1:{free_port()}",
    }  # nothing listens: exports just fail
    proc = Proc(
        [
            binary,
            "run",
            str(tmp / "config.alloy"),
            f"--storage.path={tmp / 'data'}",
            f"--server.http.listen-addr=127.0.0.1:{http}",
            "--disable-reporting",
        ],
        env=env,
        log=tmp / "alloy.log",
    )
    base = f"http://127.0.0.1:{http}"
    try:
        poll_until("Alloy /-/ready", lambda: proc.alive() and get_text(f"{base}/-/ready"), 60)
        yield {"base": base, "tmp": tmp, "grpc": grpc, "log": tmp / "alloy.log"}
    finally:
        proc.stop()


def test_app_json_line_becomes_a_labelled_entry(alloy):
    with (alloy["tmp"] / "logs" / "app.log").open("a") as f:
        f.write(json.dumps(LINE) + "\n")

    def echoed():
        for raw in alloy["log"].read_text().splitlines():
            if '"received log entry"' in raw:
                return json.loads(raw)
        return None

    entry = poll_until("the log line to reach loki.echo", echoed, 30)
    labels = dict(re.findall(r'(\w+)="([^"]*)"', entry["labels"]))
    assert labels["job"] == "fastapi-app" and labels["service_name"] == "fastapi-app"
    assert labels["level"] == "error" and labels["collector"] == "alloy"
    assert not {"trace_id", "span_id", "request_id"} & set(labels), "ids must not be index labels"
    meta = json.loads(entry["structured_metadata"])
    assert meta == {"trace_id": LINE["trace_id"], "span_id": LINE["span_id"], "request_id": "req-1"}
    assert entry["entry_timestamp"] == LINE["timestamp"], "timestamp must come from the line"
    assert json.loads(entry["entry"]) == LINE, "the line itself is shipped unchanged"


def test_pipeline_runs_without_docker_socket(alloy):
    # The harness points discovery.docker and loki.source.docker at a socket that does not exist.
    metrics = get_text(f"{alloy['base']}/metrics") or ""
    unhealthy = re.search(r'running_components\{[^}]*health_type="unhealthy"[^}]*\} (\d+)', metrics)
    assert not unhealthy or unhealthy.group(1) == "0", "a component is unhealthy without the socket"


def sampled_counts(base: str) -> dict[tuple[str, str], float]:
    out = {}
    for m in re.finditer(
        r"^otelcol_processor_tail_sampling_count_traces_sampled_total\{([^}]*)\} (\S+)$",
        get_text(f"{base}/metrics") or "",
        re.M,
    ):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        out[(labels["policy"].rsplit(".", 1)[-1], labels["sampled"])] = float(m.group(2))
    return out


def test_tail_sampling_policies(alloy):
    try:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.trace import Status, StatusCode
    except ImportError as exc:  # the project venv has them (uv sync)
        missing(f"OpenTelemetry SDK not installed: {exc}")
    provider = TracerProvider(resource=Resource.create({"service.name": "stack-lint"}))
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"127.0.0.1:{alloy['grpc']}", insecure=True))
    )
    tracer = provider.get_tracer("stack-lint")
    with tracer.start_as_current_span("failing") as span:
        span.set_status(Status(StatusCode.ERROR))
    now = time.time_ns()
    tracer.start_span("slow", start_time=now - 1_500_000_000).end(end_time=now)
    with tracer.start_as_current_span("marked", attributes={"sampling.kept_by_app": True}):
        pass
    for _ in range(60):
        with tracer.start_as_current_span("plain"):
            pass
    assert provider.force_flush(10_000)
    provider.shutdown()

    def decided():
        counts = sampled_counts(alloy["base"])
        total = counts.get(("errors", "true"), 0) + counts.get(("errors", "false"), 0)
        return counts if total >= 63 else None

    counts = poll_until("sampling decisions for 63 traces", decided, 30)
    for policy in ("errors", "slow", "kept-by-app"):
        assert counts[(policy, "true")] == 1, f"{policy}: {counts}"
    # 5 % baseline of 63 traces: keeping more than 15 would be a broken policy (p < 1e-6).
    # Keeping none happens (0.95^63 = 4 %), and then Alloy has no "true" series for it yet.
    assert counts.get(("baseline", "true"), 0) <= 15, counts
