"""The benchmark's stand-ins for Loki and Tempo (bench/sinks.compose.yml) speak what Alloy sends:
the real alloy/config.alloy, run by the pinned native Alloy, ships a log line to bench/loki_sink.py
and a kept trace to bench/otlp_sink.py, and Alloy counts both as sent (it counts only what the
peer accepted). The override replaces those two services and nothing else.

`make bench-stack` compares Alloy configs with these in place of Loki and Tempo; if they refused
the pushes, Alloy's retries would be measured instead of its pipeline.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.support import REPO
from tests.support.ci import missing
from tests.support.compose import FILES, PROFILES, compose_config
from tests.support.http import get_text
from tests.support.net import free_port, poll_until
from tests.support.procs import Proc
from tests.support.tools import require_tool

OVERRIDE = "bench/sinks.compose.yml"


def alloy_counter(base: str, name: str) -> float:
    text = get_text(f"{base}/metrics") or ""
    return sum(float(v) for v in re.findall(rf"^{name}(?:\{{[^}}]*\}})? (\S+)$", text, re.M))


@pytest.fixture
def stack(tmp_path):
    binary = require_tool("alloy")
    (tmp_path / "logs").mkdir()
    loki_port, tempo_port, http, grpc = free_port(), free_port(), free_port(), free_port()
    procs = [
        Proc([sys.executable, str(REPO / "bench" / "loki_sink.py"), str(loki_port)], log=tmp_path / "loki.log"),
        Proc(
            [sys.executable, str(REPO / "bench" / "otlp_sink.py"), str(tempo_port), str(tmp_path / "spans")],
            log=tmp_path / "tempo.log",
        ),
    ]
    cfg = (REPO / "alloy" / "config.alloy").read_text()
    for old, new in (
        ('"0.0.0.0:4317"', f'"127.0.0.1:{grpc}"'),
        ('"0.0.0.0:4318"', f'"127.0.0.1:{free_port()}"'),
        ('decision_wait = "10s"', 'decision_wait = "1s"'),
        ("unix:///var/run/docker.sock", f"unix://{tmp_path}/no-docker.sock"),
    ):
        assert old in cfg, f"harness expects {old!r} in alloy/config.alloy"
        cfg = cfg.replace(old, new)
    (tmp_path / "config.alloy").write_text(cfg)
    env = {
        "ALLOY_APP_LOG_GLOB": str(tmp_path / "logs" / "*.log"),
        "LOKI_PUSH_URL": f"http://127.0.0.1:{loki_port}/loki/api/v1/push",
        "TEMPO_OTLP_ENDPOINT": f"127.0.0.1:{tempo_port}",
    }
    argv = [binary, "run", str(tmp_path / "config.alloy"), f"--storage.path={tmp_path / 'data'}"]
    argv += [f"--server.http.listen-addr=127.0.0.1:{http}", "--disable-reporting"]
    alloy = Proc(argv, env=env, log=tmp_path / "alloy.log")
    procs.append(alloy)
    base = f"http://127.0.0.1:{http}"
    try:
        poll_until("Alloy /-/ready", lambda: alloy.alive() and get_text(f"{base}/-/ready"), 60)
        yield {"base": base, "tmp": tmp_path, "grpc": grpc, "loki": f"http://127.0.0.1:{loki_port}"}
    finally:
        for proc in procs:
            proc.stop()


def test_alloy_ships_a_log_line_and_a_kept_trace_to_the_stand_ins(stack):
    try:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.trace import Status, StatusCode
    except ImportError as exc:  # the project venv has them (uv sync)
        missing(f"OpenTelemetry SDK not installed: {exc}")
    line = {"timestamp": "2026-11-26T10:00:00.123456Z", "level": "info", "event": "bench", "request_id": "r-1"}
    with (stack["tmp"] / "logs" / "app.log").open("a") as f:
        f.write(json.dumps(line) + "\n")
    provider = TracerProvider(resource=Resource.create({"service.name": "bench-sinks"}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"127.0.0.1:{stack['grpc']}", insecure=True))
    )
    with provider.get_tracer("bench").start_as_current_span("failing") as span:
        span.set_status(Status(StatusCode.ERROR))  # the errors policy keeps it
    provider.shutdown()

    # loki.write holds a batch up to batch_wait (5 s); the sampler decides after 1 s here.
    poll_until(
        "the Loki stand-in to accept Alloy's push",
        lambda: json.loads(get_text(f"{stack['loki']}/stats") or "{}").get("pushes", 0) >= 1,
        30,
    )
    assert alloy_counter(stack["base"], "loki_write_sent_entries_total") == 1
    assert alloy_counter(stack["base"], "loki_write_dropped_entries_total") == 0
    spans = stack["tmp"] / "spans"
    poll_until("the OTLP stand-in to count the kept span", lambda: spans.exists() and spans.read_text() == "1", 30)
    poll_until(
        "Alloy to count the span as sent",
        lambda: alloy_counter(stack["base"], "otelcol_exporter_sent_spans_total") == 1,
        10,
    )
    assert alloy_counter(stack["base"], "otelcol_exporter_send_failed_spans_total") == 0


def test_the_override_replaces_loki_and_tempo_only():
    cmd = [require_tool("docker-compose"), "--env-file", str(REPO / ".env")]
    for name in (*FILES, OVERRIDE):
        cmd += ["-f", name]
    for profile in PROFILES:  # as compose_config() renders the plain files
        cmd += ["--profile", profile]
    out = subprocess.run([*cmd, "config", "--format", "json"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    with_sinks, plain = json.loads(out.stdout)["services"], compose_config()["services"]
    changed = {name for name, svc in with_sinks.items() if svc != plain.get(name)}
    assert changed == {"loki", "tempo"}, changed
    for name, script in (("loki", "loki_sink.py"), ("tempo", "otlp_sink.py")):
        command = with_sinks[name]["command"]
        assert command[:3] == ["python", "-u", f"/opt/bench/{script}"], command
        assert (REPO / "bench" / script).is_file()
        mount = next(v for v in with_sinks[name]["volumes"] if v["target"] == "/opt/bench")
        assert mount["source"] == str(REPO / "bench") and mount["read_only"]
