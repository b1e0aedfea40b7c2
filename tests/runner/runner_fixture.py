"""Runs the native runner against tests/runner/fixture with its own state, names and subnet.

The fixture stack lives beside the real one (prefix obsrt, 10.213.2.0/24, state in
/var/tmp/obs-runner-tests), so these tests never touch a running `make up` stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixture"
STATE = Path("/var/tmp/obs-runner-tests")
VOLUMES = STATE / "volumes"
ENV = {
    "OBS_COMPOSE_DIR": str(FIXTURE),
    "OBS_COMPOSE_FILES": "compose.yml",
    "OBS_NATIVE_STATE": str(STATE),
    "OBS_NATIVE_NET": "obsrt",
    "OBS_NATIVE_SUBNET": "10.213.2",
}
Runner = Callable[..., subprocess.CompletedProcess[str]]


def run_runner(*args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m tools.runner ARGS` for the fixture; on failure (check=True) fails with its logs."""
    environment = {**os.environ, **ENV, **env}
    result = subprocess.run(
        [sys.executable, "-m", "tools.runner", *args],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    if check and result.returncode != 0:
        logs = subprocess.run(
            [sys.executable, "-m", "tools.runner", "logs"], cwd=REPO, env=environment, capture_output=True, text=True
        ).stdout
        pytest.fail(f"runner {args} failed:\n{result.stdout}\n{result.stderr}\n{logs}")
    return result


def state() -> dict[str, object]:
    return json.loads((STATE / "state.json").read_text())  # type: ignore[no-any-return]


def service_pid(name: str) -> int:
    services = state()["services"]
    assert isinstance(services, dict)
    return int(services[name]["process"]["pid"])


def psql(sql: str) -> subprocess.CompletedProcess[str]:
    """Runs SQL as the fixture user inside the db service's namespaces, over TCP with the password."""
    return subprocess.run(
        ["nsenter", "-t", str(service_pid("db")), "-n", "-m", "--", "/usr/lib/postgresql/15/bin/psql"]
        + ["-h", "db", "-U", "fixture", "-d", "fixture", "-v", "ON_ERROR_STOP=1", "-Atc", sql],
        env=dict(os.environ, PGPASSWORD=(FIXTURE / "db_password.txt").read_text()),
        capture_output=True,
        text=True,
    )


def namespaces() -> list[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in listing.splitlines() if line.startswith("obsrt-")]


def running(pid: int) -> bool:
    """Alive and not a zombie (this machine's PID 1 reaps orphans late)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def pinned_tool(name: str) -> str:
    """Path of a pinned native tool; a missing one skips the test, or fails it under CI."""
    result = subprocess.run([str(REPO / "tools/which.sh"), name], capture_output=True, text=True)
    if result.returncode == 0:
        return result.stdout.strip()
    if os.environ.get("CI") == "true":
        pytest.fail(result.stderr.strip())
    pytest.skip(result.stderr.strip())
