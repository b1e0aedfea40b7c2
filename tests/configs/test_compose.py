"""Compose lint on the files as docker compose itself renders them (the pinned CLI): loopback-only
ports, exec-form healthchecks, healthy/completed dependencies, named volumes, pinned images,
explicit commands, resource limits, secrets as files, Grafana at most Viewer, and the hardening
every service gets (read-only root, no capabilities beyond a reasoned list, no-new-privileges,
rotated logs, Docker API behind a read-only proxy)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support import REPO
from tests.support.compose import FILES, compose_config

ONE_SHOTS = {"migrate"}
SERVICES = {
    "app",
    "lb",
    "migrate",
    "postgres",
    "redis",
    "prometheus",
    "alertmanager",
    "alert-sink",
    "loki",
    "alloy",
    "docker-socket-proxy",
    "promtail",
    "tempo",
    "grafana",
    "alloy-exporters",
    "traffic",
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
    env = services()["grafana"]["environment"]
    assert env.get("GF_AUTH_ANONYMOUS_ORG_ROLE", "Viewer") == "Viewer"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env
    assert env["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"
    for name in FILES:
        assert not re.search(r"PASSWORD:\s*\$\{\w+:-", (REPO / name).read_text()), "a password with a default"


# Capabilities an image's entrypoint needs back, and why (everything else runs with none).
CAP_ADD = {"postgres": {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"}}  # chown, then gosu


def test_every_service_is_hardened():
    for name, svc in services().items():
        assert svc.get("read_only") is True, f"{name}: read-only root filesystem"
        assert svc.get("cap_drop") == ["ALL"], f"{name}: drop every capability"
        assert set(svc.get("cap_add") or []) == CAP_ADD.get(name, set()), f"{name}: capabilities added back"
        assert "no-new-privileges:true" in (svc.get("security_opt") or []), f"{name}: no-new-privileges"
        logging = svc.get("logging") or {}
        assert logging.get("driver") == "json-file", f"{name}: log driver"
        assert logging.get("options", {}).get("max-size") and logging["options"].get("max-file"), f"{name}: rotation"


def test_secrets_are_files_and_never_environment_values():
    cfg = compose_config()
    generated = (REPO / "scripts" / "secrets.sh").read_text()
    for secret, spec in cfg["secrets"].items():
        assert Path(spec["file"]).parent == REPO / "secrets", f"{secret}: file outside secrets/"
        assert f"{Path(spec['file']).name}" in generated, f"{secret}: scripts/secrets.sh does not write it"
    for name, svc in services().items():
        mounted = {s["source"] for s in svc.get("secrets") or []}
        for key, value in (svc.get("environment") or {}).items():
            secret_like = re.search(r"PASS|TOKEN|SECRET|DATA_SOURCE_NAME", key)
            if secret_like and key.endswith("_FILE"):
                assert value.startswith("/run/secrets/") and value.rsplit("/", 1)[1] in mounted, f"{name}: {key}"
            elif secret_like:
                raise AssertionError(f"{name}: {key} carries a secret in the environment; use {key}_FILE")
        for key in ("DATABASE_URL", "REDIS_URL"):
            url = (svc.get("environment") or {}).get(key)
            assert url is None or urlsplit(url).password is None, f"{name}: {key} has a password inline"


def test_app_uses_its_own_role_and_migrations_the_owner():
    env = {n: services()[n]["environment"] for n in ("app", "migrate", "postgres")}
    assert env["app"]["DATABASE_URL"].startswith("postgresql+asyncpg://app@")
    assert env["migrate"]["DATABASE_URL"].startswith(f"postgresql+asyncpg://{env['postgres']['POSTGRES_USER']}@")
    assert env["postgres"]["POSTGRES_USER"] != "app"
    assert services()["migrate"]["command"] == ["python", "-m", "migrations.apply"]


def test_redis_requires_a_password_that_stays_out_of_argv():
    redis = services()["redis"]
    assert redis["command"][:2] == ["redis-server", "/run/secrets/redis_auth.conf"]
    assert "--requirepass" not in redis["command"] and redis.get("user") == "redis"
    assert "--askpass" in " ".join(redis["healthcheck"]["test"])
    # The exporter reads the same secret file (alloy/exporters.alloy), never a flag or variable.
    assert "redis_password" in {s["source"] for s in services()["alloy-exporters"]["secrets"]}
    assert services()["app"]["environment"]["REDIS_PASSWORD_FILE"] == "/run/secrets/redis_password"


def test_only_the_socket_proxy_sees_the_docker_socket():
    for name, svc in services().items():
        socket = [v for v in svc.get("volumes", []) if v["target"] == "/var/run/docker.sock"]
        assert not socket or name == "docker-socket-proxy", f"{name} mounts the Docker socket"
    proxy = services()["docker-socket-proxy"]
    allowed = {k for k, v in proxy["environment"].items() if v == "1" and k.isupper() and k != "DISABLE_IPV6"}
    assert allowed == {"CONTAINERS"} and proxy["environment"]["POST"] == "0"
    assert set(proxy["networks"]) == {"docker-api"}
    assert compose_config()["networks"]["docker-api"].get("internal") is True
    assert services()["alloy"]["environment"]["DOCKER_HOST"] == "tcp://docker-socket-proxy:2375"


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
