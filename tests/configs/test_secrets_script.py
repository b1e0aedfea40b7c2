"""scripts/secrets.sh in a scratch checkout: one file per compose secret, a private folder,
values kept across runs, values carried over from an old .env.secrets, and the exporter's
password map always matching the Redis password."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

from configfiles import load_yaml

from tests.support import REPO


def run(checkout: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "scripts/secrets.sh"], cwd=checkout, capture_output=True, text=True, check=True)


def checkout(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "secrets.sh", tmp_path / "scripts" / "secrets.sh")
    return tmp_path


def compose_secret_files() -> set[str]:
    names = set()
    for f in ("docker-compose.yml", "docker-compose.monitoring.yml"):
        for spec in (load_yaml(REPO / f).get("secrets") or {}).values():
            names.add(Path(spec["file"]).name)
    return names


def test_writes_every_compose_secret_into_a_private_folder(tmp_path):
    repo = checkout(tmp_path)
    run(repo)
    folder = repo / "secrets"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {p.name for p in folder.iterdir()} == compose_secret_files()
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name  # readable by container users
        assert path.read_text() and (path.name.endswith(".conf") or not path.read_text().endswith("\n"))
    assert stat.S_IMODE((repo / ".env.secrets").stat().st_mode) == 0o600
    password = (folder / "redis_password").read_text()
    assert (folder / "redis_auth.conf").read_text() == f"requirepass {password}\n"


def test_keeps_values_across_runs_and_takes_over_an_old_env_file(tmp_path):
    repo = checkout(tmp_path)
    (repo / ".env.secrets").write_text("POSTGRES_PASSWORD=from-old-volume\nADMIN_TOKEN=old-token\n")
    run(repo)
    first = {p.name: p.read_text() for p in (repo / "secrets").iterdir()}
    assert first["postgres_password"] == "from-old-volume" and first["admin_token"] == "old-token"
    assert len(first["app_db_password"]) == 48 and first["app_db_password"] != first["redis_password"]
    run(repo)
    assert {p.name: p.read_text() for p in (repo / "secrets").iterdir()} == first
    assert "ADMIN_TOKEN=old-token" in (repo / ".env.secrets").read_text()
