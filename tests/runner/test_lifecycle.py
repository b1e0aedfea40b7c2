"""up/down/clean as on Docker, and nothing outside the stack is touched: held ports, foreign
state, volumes kept by down, processes identified by PID and start time."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import urllib.request
from pathlib import Path

from runner_fixture import FIXTURE, REPO, STATE, VOLUMES, Runner, namespaces, psql, running, service_pid, state


def test_a_held_published_port_stops_up_naming_the_holder(runner: Runner) -> None:
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 18090))
        holder.listen()
        result = runner("up", "--timeout", "60", check=False)
    assert result.returncode == 1
    assert "127.0.0.1:18090" in result.stderr and f"pid {os.getpid()}" in result.stderr, result.stderr
    assert not (STATE / "state.json").exists(), "nothing was started"
    assert namespaces() == []


def test_down_keeps_named_volumes_and_clean_deletes_only_this_projects(runner: Runner) -> None:
    runner("clean")
    other_project = VOLUMES / "another-project_data"
    other_project.mkdir(parents=True, exist_ok=True)
    runner("up", "--timeout", "120")
    assert psql("create table kept (v text); insert into kept values ('survives down')").returncode == 0
    runner("down")
    assert (VOLUMES / "runner-fixture_db-data" / "PG_VERSION").exists()

    runner("up", "--timeout", "120")
    assert psql("select v from kept").stdout.strip() == "survives down"
    runner("--profile", "unused", "down", "-v", "--remove-orphans")  # compose's spelling of clean
    assert not (VOLUMES / "runner-fixture_db-data").exists()
    assert not (VOLUMES / "runner-fixture_shared").exists()
    assert other_project.exists(), "clean deletes this project's volumes only"
    other_project.rmdir()


def test_a_second_checkout_is_refused_while_the_first_runs_and_may_start_after_it(
    runner: Runner, tmp_path: Path
) -> None:
    second = tmp_path / "second-checkout"
    shutil.copytree(FIXTURE, second)
    runner("up", "--timeout", "120")
    try:
        refused = runner("up", "--timeout", "60", check=False, OBS_COMPOSE_DIR=str(second))
        assert refused.returncode == 1
        assert str(FIXTURE) in refused.stderr and "running" in refused.stderr, refused.stderr
        assert runner("down", check=False, OBS_COMPOSE_DIR=str(second)).returncode == 1
        again = runner("up", "--timeout", "60", check=False)
        assert again.returncode == 1 and "already running" in again.stderr, again.stderr
        beside = runner(
            "up",
            check=False,
            OBS_COMPOSE_DIR=str(second),
            OBS_NATIVE_STATE=str(tmp_path / "state"),
            OBS_NATIVE_NET="obsr2",
            OBS_NATIVE_SUBNET="10.213.4",
        )
        assert beside.returncode == 1, "beside the first, with names of its own, only the published port clashes"
        assert f"port forwarder of the native stack run from {REPO}" in beside.stderr, beside.stderr
        assert running(service_pid("web")), "the refused commands left the first stack alone"
    finally:
        runner("down")
    # Once the first is down, the second may start; its files live under /tmp, where web mounts
    # a tmpfs of its own: the bind sources must still be found.
    runner("up", "--timeout", "120", OBS_COMPOSE_DIR=str(second))
    try:
        with urllib.request.urlopen("http://127.0.0.1:18090/", timeout=10) as response:
            assert json.load(response)["greeting"] == "hello-from-compose"
    finally:
        runner("down", OBS_COMPOSE_DIR=str(second))


def test_down_removes_exactly_what_it_started(runner: Runner) -> None:
    bystander = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        runner("up", "--timeout", "120")
        recorded = state()
        services = recorded["services"]
        assert isinstance(services, dict)
        pids = [service["process"]["pid"] for service in services.values()]
        # A recorded PID now used by an unrelated program (same number, another start time).
        ghost = {"pid": bystander.pid, "start_ticks": 1}
        services["ghost"] = {"service": "ghost", "index": 99, "addr": "10.213.2.250", "names": [], "process": ghost}
        (STATE / "state.json").write_text(json.dumps(recorded))
        runner("down")
        assert running(bystander.pid), "down signalled a process it did not start"
        assert namespaces() == []
        assert not [pid for pid in pids if running(pid)]
        assert not (STATE / "state.json").exists()
    finally:
        bystander.kill()
        bystander.wait()
