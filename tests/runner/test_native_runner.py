"""The native runner against a small real compose project (real Postgres, Redis, Python)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixture"
STATE = Path("/var/tmp/obs-native-fixture")
ENV = dict(
    os.environ,
    OBS_COMPOSE_DIR=str(FIXTURE),
    OBS_COMPOSE_FILES="compose.yml",
    OBS_NATIVE_STATE=str(STATE),
    OBS_NATIVE_NET="obsfx",
    OBS_NATIVE_SUBNET="10.213.1",
)


def runner(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(
        [sys.executable, "-m", "tools.runner", *args], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=240
    )
    if check and r.returncode != 0:
        logs = subprocess.run(
            [sys.executable, "-m", "tools.runner", "logs"], cwd=REPO, env=ENV, capture_output=True, text=True
        ).stdout
        pytest.fail(f"runner {args} failed:\n{r.stdout}\n{r.stderr}\n{logs}")
    return r


def running(pid: int) -> bool:
    """Alive and not a zombie (this machine's PID 1 reaps orphans late)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def stack():
    if os.geteuid() != 0:
        pytest.fail("the native runner needs root (network and mount namespaces)")
    runner("up", "--timeout", "120")
    yield
    runner("down")


def test_services_see_each_other_env_mounts_and_volumes(stack):
    with urllib.request.urlopen("http://127.0.0.1:18089/", timeout=5) as resp:
        seen = json.load(resp)
    assert seen["greeting"] == "hello-from-compose"
    assert seen["cwd"] == "/srv"
    assert seen["seeded"] == "ok", "the one-shot's write to the named volume is visible"
    assert seen["peers"] == {"db": "reachable", "cache": "reachable"}
    assert seen["hostname"] == "web"


def test_postgres_initialised_from_compose_environment(stack):
    state = json.loads((STATE / "state.json").read_text())
    pid = str(state["services"]["db"]["pid"])
    out = subprocess.run(
        [
            "nsenter",
            "-t",
            pid,
            "-n",
            "-m",
            "--",
            "/usr/lib/postgresql/15/bin/psql",
            "-h",
            "db",
            "-U",
            "fixture",
            "-d",
            "fixture",
            "-Atc",
            "select current_user",
        ],
        env=dict(os.environ, PGPASSWORD="fixture-only-password"),
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "fixture", out.stderr


def test_ps_lists_every_service(stack):
    out = runner("ps").stdout
    for name in ("db", "cache", "web"):
        assert f"{name} " in out and "running" in out.split(name, 1)[1].splitlines()[0]
    assert "exited" in out.split("seed", 1)[1].splitlines()[0]


def test_down_removes_exactly_what_it_started():
    runner("up", "--timeout", "120")
    state = json.loads((STATE / "state.json").read_text())
    pids = [s["pid"] for s in state["services"].values()]
    runner("down")
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "obsfx-" not in netns
    assert not [p for p in pids if running(p)]
    assert not (STATE / "state.json").exists()
