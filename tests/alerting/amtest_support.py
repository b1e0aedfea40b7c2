"""Helpers for the Alertmanager + alert sink tests: real processes on free local ports."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SINK = REPO / "alertsink" / "alertsink.py"


def missing(reason: str) -> None:
    """No skip counts as a pass: under CI a missing tool is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: a missing tool fails the test)")
    pytest.skip(reason)


def find_tool(name: str) -> str:
    """tools/which.sh NAME, else the pinned cache path, else PATH."""
    which = REPO / "tools" / "which.sh"
    if which.exists():
        r = subprocess.run([str(which), name], capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.strip()
    env = dict(
        line.split("=", 1)
        for line in (REPO / ".env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    cache = Path(os.environ.get("OBS_TOOLS_CACHE", "/var/cache/fastapi-obs-stack"))
    cached = cache / f"alertmanager-{env.get('ALERTMANAGER_VERSION', '')}" / name
    if cached.exists() and (cached.parent / ".complete").exists():
        return str(cached)
    found = shutil.which(name)
    if not found:
        missing(f"{name} not found (tools/which.sh, pinned cache, PATH): run 'make tools'")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: object | None = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            code, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        code, raw = err.code, err.read()
    try:
        return code, json.loads(raw) if raw else None
    except ValueError:  # plain-text endpoints such as /-/ready
        return code, raw.decode(errors="replace")


def wait_for(check, timeout: float, what: str, proc: subprocess.Popen | None = None):
    """Poll check() until it returns something truthy; fail with `what` after timeout."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"{what}: process exited with {proc.returncode}:\n{out}")
        try:
            result = check()
            if result:
                return result
        except (OSError, urllib.error.URLError) as exc:
            last_exc = exc
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last error: {last_exc})")


class Proc:
    """A child process whose combined output is kept for failure messages."""

    def __init__(self, argv: list[str], env: dict | None = None, log: Path | None = None):
        self.log = log
        self.fh = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (closed in stop())
        self.p = subprocess.Popen(
            argv, env={**os.environ, **(env or {})}, stdout=self.fh, stderr=subprocess.STDOUT, text=True
        )

    def output(self) -> str:
        return self.log.read_text() if self.log else ""

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        if self.fh is not subprocess.DEVNULL:
            self.fh.close()


def start_sink(tmp: Path, **env: str) -> tuple[Proc, str]:
    port = free_port()
    proc = Proc([sys.executable, str(SINK)], env={"PORT": str(port), **env}, log=tmp / "sink.log")
    base = f"http://127.0.0.1:{port}"

    def healthy():
        if proc.p.poll() is not None:
            pytest.fail(f"alert sink exited {proc.p.returncode}:\n{proc.output()}")
        return http("GET", base + "/healthz")[0] == 200

    wait_for(healthy, 15, "alert sink /healthz")
    return proc, base
