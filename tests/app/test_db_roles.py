"""Least-privilege database roles (migrations/apply.py) on a dedicated Postgres whose superuser
plays the owner: the app role reads and writes rows but cannot change the schema or its version,
the exporter role reads statistics only, passwords follow their files, and the app runs as the
app role with its password read from a file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from helpers import REDIS_URL, ROOT, base_settings, running_app
from infra import DedicatedPostgres

APP_ROLE = "app_rw"  # the dedicated server's superuser is already called "app"


@pytest.fixture(scope="module")
def pg() -> Iterator[DedicatedPostgres]:
    server = DedicatedPostgres()
    server.start()
    if server.dir is not None:  # initdb --auth=trust: make TCP logins check passwords, as compose does
        asyncio.run(require_passwords(server))
    yield server
    server.remove()


async def require_passwords(server: DedicatedPostgres) -> None:
    conn = await asyncpg.connect(host="127.0.0.1", port=server.port, user="app", database="app")
    try:
        await conn.execute("ALTER ROLE app PASSWORD 'app'")
        hba = Path(server.dir or "") / "data" / "pg_hba.conf"
        hba.write_text("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


def apply(pg: DedicatedPostgres, secrets: Path, app_pw: str, exporter_pw: str) -> subprocess.CompletedProcess:
    secrets.mkdir(exist_ok=True)
    (secrets / "app").write_text(app_pw + "\n")  # trailing newline, as `echo` writes it
    (secrets / "exporter").write_text(exporter_pw)
    (secrets / "owner").write_text("app")
    env = {
        **os.environ,
        "DATABASE_URL": pg.url.replace("app:app@", "app@"),  # the owner's password comes from a file
        "DATABASE_PASSWORD_FILE": str(secrets / "owner"),
        "APP_DB_ROLE": APP_ROLE,
        "APP_DB_PASSWORD_FILE": str(secrets / "app"),
        "EXPORTER_DB_PASSWORD_FILE": str(secrets / "exporter"),
    }
    env.pop("DATABASE_PASSWORD", None)
    return subprocess.run([sys.executable, "-m", "migrations.apply"], cwd=ROOT, env=env, capture_output=True, text=True)


async def connect(pg: DedicatedPostgres, user: str, password: str) -> asyncpg.Connection:
    return await asyncpg.connect(host="127.0.0.1", port=pg.port, user=user, password=password, database="app")


@pytest.fixture(scope="module")
def applied(pg: DedicatedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Path:
    secrets = tmp_path_factory.mktemp("secrets")
    result = apply(pg, secrets, "first-app-password", "exporter-password")
    assert result.returncode == 0, result.stderr
    assert f"roles ensured: {APP_ROLE}, postgres_exporter" in result.stdout
    return secrets


async def test_app_role_writes_rows_but_cannot_change_the_schema_or_its_version(pg, applied):
    conn = await connect(pg, APP_ROLE, "first-app-password")
    try:
        uid = await conn.fetchval("INSERT INTO users (email, full_name) VALUES ('a@example.com', 'A') RETURNING id")
        await conn.execute("UPDATE users SET full_name = 'B' WHERE id = $1", uid)
        assert await conn.fetchval("SELECT full_name FROM users WHERE id = $1", uid) == "B"
        await conn.execute("DELETE FROM users WHERE id = $1", uid)
        for statement in (
            "CREATE TABLE sneaky (id int)",
            "DROP TABLE items",
            "ALTER TABLE items ADD COLUMN x int",
            "TRUNCATE items",
            "UPDATE alembic_version SET version_num = '0000'",
            "SELECT version_num FROM alembic_version",
            "CREATE TEMP TABLE t (id int)",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_exporter_role_reads_statistics_and_no_rows(pg, applied):
    conn = await connect(pg, "postgres_exporter", "exporter-password")
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_stat_database") >= 1
        # pg_monitor: settings and other sessions' activity are visible, table rows are not.
        assert await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE query IS NOT NULL") >= 1
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM users")
    finally:
        await conn.close()


async def test_passwords_follow_their_files_and_are_stored_as_scram(pg, applied):
    result = apply(pg, applied, "rotated-app-password", "exporter-password")
    try:
        assert result.returncode == 0, result.stderr
        with pytest.raises(asyncpg.InvalidPasswordError):
            await connect(pg, APP_ROLE, "first-app-password")
        conn = await connect(pg, APP_ROLE, "rotated-app-password")
        await conn.close()
        owner = await connect(pg, "app", "app")
        try:
            stored = await owner.fetchval("SELECT rolpassword FROM pg_authid WHERE rolname = $1", APP_ROLE)
            assert stored.startswith("SCRAM-SHA-256$4096:") and "rotated" not in stored
        finally:
            await owner.close()
    finally:
        assert apply(pg, applied, "first-app-password", "exporter-password").returncode == 0


async def test_the_app_serves_requests_as_the_app_role_with_password_files(
    pg, applied, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DATABASE_PASSWORD_FILE", str(applied / "app"))
    settings = base_settings(
        tmp_path,
        DATABASE_URL=f"postgresql+asyncpg://{APP_ROLE}@127.0.0.1:{pg.port}/app",
        REDIS_URL=REDIS_URL,
    )
    assert settings.DATABASE_URL.endswith(f"{APP_ROLE}:first-app-password@127.0.0.1:{pg.port}/app")
    async with running_app(settings) as r:
        created = await r.client.post("/api/v1/users", json={"email": "role@example.com", "full_name": "Role"})
        assert created.status_code == 201, created.text
        got = await r.client.get(f"/api/v1/users/{created.json()['id']}")
        assert got.status_code == 200 and got.json()["email"] == "role@example.com"
        assert (await r.client.get("/health/ready")).status_code == 200
