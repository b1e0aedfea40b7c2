"""A failing log file degrades logging, it does not stop it: the real uvicorn process keeps
writing JSON to stdout, prints one warning on stderr (no traceback flood), counts the lost
lines in log_write_errors_total, and starts even when LOG_FILE cannot be created."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import DATABASE_URL, REDIS_URL, ROOT

from app.observability.logs import FileSink
from tests.support.net import free_port, poll_until


@contextlib.contextmanager
def _server(tmp_path: Path, log_file: str) -> Iterator[tuple[httpx.Client, Path, Path]]:
    port = free_port()
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    env = {
        **os.environ,
        "APP_ENV": "production",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "LOG_FILE": log_file,
        "LOG_SAMPLE_INFO": "1",
        "LOG_INFO_MAX_PER_SECOND": "100000",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
        "SENTRY_DSN": "",
    }
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5)

            def up() -> bool:
                try:
                    return client.get("/health/live").status_code == 200
                except httpx.HTTPError:
                    return False

            poll_until(f"the server to start (stderr: {err})", up, 30)
            yield client, out, err
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)


def _stdout_request_ids(out: Path) -> set[str]:
    ids = set()
    for line in out.read_text().splitlines():
        event = json.loads(line)  # every stdout line is still JSON
        if event.get("logger") == "app.access":
            ids.add(event.get("request_id"))
    return ids


def _write_errors(client: httpx.Client) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith('log_write_errors_total{sink="file"}'):
            return float(line.split()[-1])
    return 0.0


def _assert_degraded(client: httpx.Client, out: Path, err: Path, requests: int) -> None:
    for i in range(requests):
        assert client.get("/internal/ping", headers={"X-Request-ID": f"sink-{i}"}).status_code == 200
    expected = {f"sink-{i}" for i in range(requests)}
    poll_until("stdout to hold every line", lambda: expected <= _stdout_request_ids(out), 5)
    assert _write_errors(client) > 0, "lost file lines are counted"
    stderr = err.read_text()
    assert "Traceback" not in stderr, stderr[-2000:]
    warnings = [line for line in stderr.splitlines() if "not writable" in line]
    assert len(warnings) == 1, stderr[-2000:]


def test_full_device_keeps_stdout_and_warns_once(migrated, tmp_path):
    with _server(tmp_path, "/dev/full") as (client, out, err):
        _assert_degraded(client, out, err, 30)


def test_unwritable_log_file_path_does_not_stop_the_app(migrated, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the log directory should be")
    with _server(tmp_path, str(blocker / "logs" / "app.log")) as (client, out, err):
        _assert_degraded(client, out, err, 10)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs that fills up after a few hundred lines (needs mount rights: root)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); run as root", pytrace=False)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_disk_filling_up_mid_run_keeps_stdout(migrated, tmp_path, tiny_disk):
    log_file = tiny_disk / "app.log"
    with _server(tmp_path, str(log_file)) as (client, out, err):
        _assert_degraded(client, out, err, 400)  # ~400 access lines x ~400 B > 64 KiB
        assert log_file.stat().st_size > 0, "the file got lines while there was room"


def test_file_sink_resumes_when_the_disk_has_room_again(tmp_path):
    now = [0.0]
    sink = FileSink(str(tmp_path / "blocked" / "app.log"), 0, 0, clock=lambda: now[0])
    (tmp_path / "blocked").write_text("a file, so the directory cannot be created")
    sink.write("lost\n")
    sink.write("lost too, without another open() attempt\n")
    assert sink.failures == 2
    (tmp_path / "blocked").unlink()
    sink.write("still inside the retry pause\n")
    assert not (tmp_path / "blocked").exists()
    now[0] += FileSink.RETRY_SECONDS
    sink.write("back\n")
    sink.close()
    assert (tmp_path / "blocked" / "app.log").read_text() == "back\n"


def test_broken_stdout_is_counted_not_printed(tmp_path, capsys):
    import io
    import logging

    from prometheus_client import REGISTRY

    from app.observability.logs import StdoutHandler

    closed = io.StringIO()
    closed.close()  # writes raise ValueError, like a stdout whose reader went away
    handler = StdoutHandler(closed)
    before = REGISTRY.get_sample_value("log_write_errors_total", {"sink": "stdout"}) or 0.0
    for _ in range(3):
        handler.handle(logging.LogRecord("t", logging.INFO, __file__, 1, "line", None, None))
    assert REGISTRY.get_sample_value("log_write_errors_total", {"sink": "stdout"}) == before + 3
    assert capsys.readouterr().err == ""
