"""A compose project run natively behaves as under Docker: names, env, mounts, secrets, init."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from runner_fixture import Runner, pinned_tool, psql, state


def seen_by_web() -> dict[str, object]:
    with urllib.request.urlopen("http://127.0.0.1:18090/", timeout=10) as response:
        return json.load(response)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def stack(runner: Runner) -> Iterator[dict[str, object]]:
    runner("clean")  # a fresh start: the db's first-start initialisation runs
    runner("up", "-d", "--build", "--wait", "--timeout", "120")  # compose's flags are accepted
    yield seen_by_web()
    runner("down")
    runner("clean")


def test_services_see_each_other_env_mounts_and_volumes(stack: dict[str, object]) -> None:
    assert stack["greeting"] == "hello-from-compose"
    assert stack["cwd"] == "/srv"
    assert stack["seeded"] == "ok", "the one-shot's write to the named volume is visible"
    assert stack["peers"] == {"db": "reachable", "cache": "reachable"}
    assert stack["hostname"] == "web"


def test_a_service_reads_its_secret_file_and_only_its_own(stack: dict[str, object]) -> None:
    assert stack["secret"] == "fixture-token-not-a-secret"
    assert stack["secrets_dir"] == ["web_token"], "the db's secret is not visible to web"
    assert not Path("/run/secrets/web_token").exists(), "secrets are mounted inside the service only"


def test_tmpfs_and_no_new_privileges_are_honoured_other_hardening_keys_accepted(stack: dict[str, object]) -> None:
    assert stack["tmp_mount"] == "tmpfs"
    assert stack["no_new_privs"] == "1"


def test_a_config_with_inline_content_is_mounted_at_its_target(stack: dict[str, object]) -> None:
    assert stack["config"] == "mode = fixture\n"
    assert not Path("/tmp/fixture.conf").exists(), "its mount point exists inside the service only"


def test_postgres_initialised_from_password_file_and_initdb_scripts(stack: dict[str, object]) -> None:
    result = psql("select current_user, to_regclass('made_by_initdb') is not null")
    assert result.stdout.strip() == "fixture|t", result.stderr


def test_logs_tail_prefixes_each_line_with_its_instance(runner: Runner, stack: dict[str, object]) -> None:
    lines = runner("logs", "--tail", "2", "cache").stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("cache | ") for line in lines), lines


def test_ps_lists_every_service(runner: Runner, stack: dict[str, object]) -> None:
    out = runner("ps").stdout
    for name in ("db", "cache", "web", "echo-1", "echo-2"):
        assert f"{name} " in out and "running" in out.split(name, 1)[1].splitlines()[0]
    assert "exited" in out.split("seed", 1)[1].splitlines()[0]


def replica_addresses() -> dict[str, str]:
    services = state()["services"]
    assert isinstance(services, dict)
    return {name: entry["addr"] for name, entry in services.items() if entry["service"] == "echo"}


def test_replicas_each_get_a_namespace_and_the_name_resolves_to_all(stack: dict[str, object]) -> None:
    replicas = replica_addresses()
    assert sorted(replicas) == ["echo-1", "echo-2"]
    assert stack["echo_hosts"] == sorted(replicas.values()), "getaddrinfo (hosts file) returns every replica"
    assert stack["echo_dns"] == sorted(replicas.values()), "the nameserver answers with every replica"


def test_a_stopped_replica_leaves_dns_and_returns_on_start(runner: Runner, stack: dict[str, object]) -> None:
    replicas = replica_addresses()
    runner("stop", "echo-2")
    try:
        assert seen_by_web()["echo_dns"] == [replicas["echo-1"]]
    finally:
        runner("start", "echo-2")
    assert seen_by_web()["echo_dns"] == sorted(replicas.values())


def test_prometheus_dns_discovery_finds_every_replica(stack: dict[str, object], tmp_path: Path) -> None:
    """Prometheus's dns_sd_configs asks the nameserver itself (never /etc/hosts): the real
    program, run in web's namespace, must discover both replicas of `echo`."""
    prometheus = pinned_tool("prometheus")
    (tmp_path / "prometheus.yml").write_text(
        "scrape_configs:\n"
        "  - job_name: echo\n"
        "    metrics_path: /\n"
        "    dns_sd_configs: [{names: [echo], type: A, port: 8081, refresh_interval: 1s}]\n"
    )
    command = ["ip", "netns", "exec", "obsrt-web", prometheus, f"--config.file={tmp_path / 'prometheus.yml'}"]
    command += [f"--storage.tsdb.path={tmp_path / 'data'}", "--web.listen-address=127.0.0.1:19090"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    expected = sorted(f"{addr}:8081" for addr in replica_addresses().values())
    try:
        deadline = time.monotonic() + 60
        found: list[str] = []
        while time.monotonic() < deadline and found != expected:
            time.sleep(0.5)
            reply = subprocess.run(
                ["ip", "netns", "exec", "obsrt-web", "curl", "-sf", "http://127.0.0.1:19090/api/v1/targets"],
                capture_output=True,
                text=True,
            )
            if reply.returncode == 0:
                targets = json.loads(reply.stdout)["data"]["activeTargets"]
                found = sorted(target["labels"]["instance"] for target in targets)
        assert found == expected
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_stopping_postgres_uses_its_stop_signal_a_fast_clean_shutdown(runner: Runner, stack: dict[str, object]) -> None:
    started = time.monotonic()
    runner("stop", "db")
    took = time.monotonic() - started
    try:
        log = runner("logs", "db").stdout
        assert "database system is shut down" in log, "SIGINT (the image's STOPSIGNAL): fast shutdown, no SIGKILL"
        assert took < 5, f"stop took {took:.1f}s: it waited for the grace period"
    finally:
        runner("start", "db", "--timeout", "60")
    assert psql("select 1").stdout.strip() == "1"
