"""Redis with requirepass, started by the very command docker-compose.yml gives the redis service
(password in a secret config file, as scripts/secrets.sh writes it): it refuses clients without
the password, the password is not in the process list, the compose healthcheck passes, and the
app authenticates with REDIS_PASSWORD_FILE."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from helpers import ROOT

from tests.support.ci import missing
from tests.support.net import free_port, poll_until, port_open


@pytest.fixture(scope="module")
def protected_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    if not shutil.which("redis-server"):
        missing("no redis-server binary for a password-protected Redis")
    folder = tmp_path_factory.mktemp("secrets")
    secret = folder / "redis_password"
    secret.write_text("file-based-redis-password")
    (folder / "redis_auth.conf").write_text("requirepass file-based-redis-password\n")
    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["redis"]
    port = free_port()
    argv = [a.replace("/run/secrets/", f"{folder}/") for a in service["command"]]
    argv[argv.index("--port") + 1] = str(port)
    proc = subprocess.Popen([*argv, "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        poll_until("redis to listen", lambda: port_open(port), 15)
        yield port, secret
    finally:
        proc.kill()
        proc.wait()


def compose_healthcheck(port: int, folder: Path) -> int:
    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["redis"]
    test = [
        a.replace("/run/secrets/", f"{folder}/").replace("-p 6379", f"-p {port}")
        for a in service["healthcheck"]["test"]
    ]
    assert test[0] == "CMD"
    return subprocess.run(test[1:], capture_output=True).returncode


def ping(port: int, password: str | None) -> str:
    env = {"PATH": "/usr/bin:/bin"} | ({"REDISCLI_AUTH": password} if password else {})
    return subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "ping"], env=env, capture_output=True, text=True
    ).stdout


def test_compose_redis_command_requires_the_password_from_the_file(protected_redis):
    port, secret = protected_redis
    assert "NOAUTH" in ping(port, None)
    assert "PONG" in ping(port, secret.read_text())
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "file-based-redis-password" not in ps, "the password is visible in the process list"
    assert compose_healthcheck(port, secret.parent) == 0
    wrong = secret.parent / "elsewhere"
    wrong.mkdir()
    (wrong / "redis_password").write_text("wrong-password")
    assert compose_healthcheck(port, wrong) != 0, "the healthcheck passes without the right password"


async def test_app_authenticates_with_a_password_file(app_factory, protected_redis, monkeypatch):
    port, secret = protected_redis
    monkeypatch.setenv("REDIS_PASSWORD_FILE", str(secret))
    async with app_factory(REDIS_URL=f"redis://127.0.0.1:{port}/0") as r:
        ready = await r.client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["checks"]["redis"]["status"] == "ok"
    monkeypatch.delenv("REDIS_PASSWORD_FILE")
    async with app_factory(REDIS_URL=f"redis://127.0.0.1:{port}/0") as r:
        ready = await r.client.get("/health/ready")
        assert ready.json()["checks"]["redis"]["status"] != "ok"
