"""The real server process: uvicorn + migrations, JSON on stdout for every line
(uvicorn's own included), no duplicate access log, LOG_FILE written, clean shutdown."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import httpx
from helpers import DATABASE_URL, REDIS_URL, alembic

from tests.support.appserver import start_app


def _run_server(tmp_path, extra_env: dict[str, str]) -> tuple[int, str]:
    env = {
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "LOG_FILE": str(tmp_path / "logs" / "app.log"),
        "LOG_SAMPLE_INFO": "1",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",  # dead collector on purpose
        "TRACE_SAMPLE_RATE": "1",
        **extra_env,
    }
    proc, port = start_app(env, output=subprocess.PIPE)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert client.get("/internal/ping", headers={"X-Request-ID": "e2e-1"}).status_code == 200
            assert client.get("/api/v1/users").status_code == 200
            assert client.get("/nope").status_code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        out, _ = proc.communicate(timeout=20)
    assert time.monotonic() - started < 10, "shutdown with a dead collector must be bounded"
    return proc.returncode, out


def test_observability_off_and_no_access_log_means_no_access_lines(migrated, tmp_path):
    code, out = _run_server(tmp_path, {"OBSERVABILITY_ENABLED": "false"})
    assert code in (0, -signal.SIGTERM), out
    loggers = {json.loads(line)["logger"] for line in out.splitlines() if line.strip()}
    assert "uvicorn.error" in loggers
    assert not loggers & {"uvicorn.access", "app.access"}, "uvicorn's access log must stay off (python -m app)"


def test_uvicorn_process_logs_json_and_shuts_down(migrated, tmp_path):
    assert alembic(DATABASE_URL, "upgrade", "head").returncode == 0
    code, out = _run_server(tmp_path, {})
    assert code in (0, -signal.SIGTERM), out  # uvicorn re-raises the signal after a clean exit
    lines = [line for line in out.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every stdout line is JSON
    loggers = {p["logger"] for p in parsed}
    assert "uvicorn.error" in loggers and "app.access" in loggers
    access = [p for p in parsed if p["logger"] == "app.access"]
    # one line per request (order may differ: a request ends after its DB session is returned)
    assert sorted(a["path"] for a in access) == ["/api/v1/users", "/internal/ping", "/nope"], out
    ping = [a for a in access if a["path"] == "/internal/ping"][0]
    assert ping["request_id"] == "e2e-1" and len(ping["trace_id"]) == 32
    assert "uvicorn.access" not in loggers, "no second access line per request"
    file_lines = (tmp_path / "logs" / "app.log").read_text().splitlines()
    assert sum(1 for line in file_lines if json.loads(line)["logger"] == "app.access") == 3
