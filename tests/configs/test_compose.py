"""Compose lint on the files as docker compose itself renders them (the pinned CLI): loopback-only
ports, exec-form healthchecks, healthy/completed dependencies, named volumes, pinned images,
explicit commands, resource limits, secrets without defaults, Grafana at most Viewer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.compose import FILES, compose_config

ONE_SHOTS = {"migrate"}
SERVICES = {
    "app",
    "migrate",
    "postgres",
    "redis",
    "prometheus",
    "alertmanager",
    "alert-sink",
    "loki",
    "alloy",
    "promtail",
    "tempo",
    "grafana",
    "postgres-exporter",
    "redis-exporter",
    "locust",
}


def services():
    return compose_config()["services"]


@pytest.mark.parametrize("name", FILES)
def test_no_version_key_and_no_latest(name):
    text = (REPO / name).read_text()
    assert not re.search(r"^version\s*:", text, re.M), "the `version:` key is obsolete"
    assert ":latest" not in text
    for image in re.findall(r"^\s*image:\s*(\S+)", text, re.M):
        assert "${" in image or image.startswith("fastapi-obs-stack/") or image.startswith("python:"), (
            f"{image}: take the tag from .env"
        )


def test_service_names_match_the_contract():
    assert set(services()) == SERVICES


def test_ports_listen_on_loopback_only():
    for name, svc in services().items():
        for port in svc.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name}: port {port} is published on all interfaces"


def test_healthchecks_are_exec_form():
    for name, svc in services().items():
        if name in ONE_SHOTS:
            continue
        test = (svc.get("healthcheck") or {}).get("test")
        assert test, f"{name}: no healthcheck"
        assert test[0] == "CMD", f'{name}: use the exec form (["CMD", ...]); several images have no shell'


def test_dependencies_wait_for_health_or_completion():
    for name, svc in services().items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            want = "service_completed_successfully" if dep in ONE_SHOTS else "service_healthy"
            assert cond["condition"] == want, f"{name} -> {dep}: {cond['condition']}"


def test_every_program_has_an_explicit_command_and_limits():
    for name, svc in services().items():
        if name != "postgres":  # the postgres image's entrypoint script initialises the cluster
            assert svc.get("command"), f"{name}: give the full command (the native runner needs it)"
        limits = svc.get("deploy", {}).get("resources", {}).get("limits", {})
        assert limits.get("memory"), f"{name}: no memory limit"


def test_data_lives_in_named_volumes_and_configs_are_read_only():
    cfg = compose_config()
    for name, svc in services().items():
        for vol in svc.get("volumes", []):
            if vol["type"] == "volume":
                assert vol["source"] in cfg["volumes"], f"{name}: undeclared volume {vol['source']}"
            elif vol["type"] == "bind" and vol["target"] != "/var/run/docker.sock":
                assert vol.get("read_only"), f"{name}: bind mount {vol['source']} should be read-only"
    assert any(v["source"] == "app-logs" and v.get("read_only") for v in services()["alloy"]["volumes"])


def test_prometheus_flags():
    cmd = services()["prometheus"]["command"]
    for flag in (
        "--enable-feature=exemplar-storage",
        "--web.enable-remote-write-receiver",
        "--config.file=/etc/prometheus/prometheus.yml",
    ):
        assert flag in cmd
    assert any(c.startswith("--storage.tsdb.retention.time=") for c in cmd)


def test_grafana_secrets_and_anonymous_viewer():
    text = (REPO / "docker-compose.monitoring.yml").read_text()
    assert "GF_SECURITY_ADMIN_PASSWORD: ${GRAFANA_ADMIN_PASSWORD:?" in text, "admin password needs a required variable"
    env = services()["grafana"]["environment"]
    assert env.get("GF_AUTH_ANONYMOUS_ORG_ROLE", "Viewer") == "Viewer"
    assert env["GF_SECURITY_ADMIN_PASSWORD"] not in {"admin", "grafana", ""}
    for name in FILES:
        assert not re.search(r"PASSWORD:\s*\$\{\w+:-", (REPO / name).read_text()), "a password with a default"


def test_profiles():
    assert services()["promtail"]["profiles"] == ["promtail"]
    assert services()["locust"]["profiles"] == ["loadtest"]


def test_config_files_named_in_commands_exist_in_the_repo():
    """Every /etc/... or /opt/... or /mnt/... path a command names resolves, through the service's
    bind mounts, to a file in the repo (catches a renamed config or a wrong mount target)."""
    checked = 0
    for name, svc in services().items():
        binds = sorted(
            ((v["target"], v["source"]) for v in svc.get("volumes", []) if v["type"] == "bind"),
            key=lambda b: -len(b[0]),
        )
        for arg in (svc.get("entrypoint") or []) + (svc.get("command") or []):
            path = arg.split("=", 1)[-1]
            if not re.match(r"/(etc|opt|mnt)/\S+\.(ya?ml|alloy|py)$", path):
                continue
            target, source = next(((t, s) for t, s in binds if path.startswith(t + "/") or path == t), (None, None))
            assert target, f"{name}: {path} is not inside any bind mount"
            host = source + path[len(target) :]
            assert Path(host).is_file(), f"{name}: {host} (for {path}) does not exist"
            checked += 1
    assert checked >= 7
