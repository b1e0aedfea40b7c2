"""Schema first, then least-privilege login roles: what the compose `migrate` service runs.

    python -m migrations.apply

It connects as the owner role (DATABASE_URL, password from DATABASE_PASSWORD_FILE), applies
the Alembic migrations, then makes sure the runtime roles exist with exactly these rights:

    role                 rights                                              password file
    app                  CONNECT; SELECT/INSERT/UPDATE/DELETE on the tables, APP_DB_PASSWORD_FILE
                         USAGE on the sequences (no DDL, no TRUNCATE, no
                         alembic_version)
    postgres_exporter    CONNECT; pg_monitor (statistics views only)         EXPORTER_DB_PASSWORD_FILE

A role whose password file variable is unset is left alone (so `alembic upgrade head` alone
still works against a development database). Names can be changed with APP_DB_ROLE and
EXPORTER_DB_ROLE. Safe to run on every start: passwords follow the files (rotation = new file,
restart), grants are re-applied, and default privileges cover tables a later migration adds.

Passwords are sent as SCRAM-SHA-256 verifiers computed here, never in clear text, so a
statement log (log_min_duration_statement, pg_stat_statements) cannot reveal them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

ROOT = Path(__file__).resolve().parents[1]
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """The value Postgres stores for a SCRAM-SHA-256 password (RFC 5802/7677 keys)."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(hashlib.sha256(client_key).digest())}:{b64(server_key)}"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def role_name(variable: str, default: str) -> str:
    name = os.environ.get(variable, default)
    if not IDENTIFIER.match(name):
        raise SystemExit(f"{variable}={name!r}: use lower-case letters, digits and _ only")
    return name


def password_from(variable: str) -> str | None:
    path = os.environ.get(variable)
    if not path:
        return None
    password = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    if not password:
        raise SystemExit(f"{variable}: {path} is empty")
    return password


async def ensure_login_role(conn: AsyncConnection, role: str, password: str) -> None:
    exists = (await conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})).scalar()
    verb = "ALTER" if exists else "CREATE"
    # A utility statement takes no parameters; the verifier is base64 + '$:' only.
    verifier = scram_verifier(password)
    await conn.exec_driver_sql(
        f"{verb} ROLE {quote_ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT "
        f"NOREPLICATION NOBYPASSRLS PASSWORD '{verifier}'"
    )


async def grant_app_role(conn: AsyncConnection, role: str, database: str) -> None:
    r, db = quote_ident(role), quote_ident(database)
    for sql in (
        # Nobody but the roles below may connect or create temporary tables.
        f"REVOKE ALL ON DATABASE {db} FROM PUBLIC",
        f"GRANT CONNECT ON DATABASE {db} TO {r}",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",  # the default since Postgres 15
        f"GRANT USAGE ON SCHEMA public TO {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {r}",
        # The schema version is the owner's business: the app cannot fake or roll it back.
        f"REVOKE ALL ON TABLE alembic_version FROM {r}",
        # Tables and sequences a later migration creates (as this owner) get the same rights.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO {r}",
    ):
        await conn.exec_driver_sql(sql)


async def grant_exporter_role(conn: AsyncConnection, role: str, database: str) -> None:
    await conn.exec_driver_sql(f"GRANT CONNECT ON DATABASE {quote_ident(database)} TO {quote_ident(role)}")
    await conn.exec_driver_sql(f"GRANT pg_monitor TO {quote_ident(role)}")


async def apply_roles(database_url: str) -> list[str]:
    """Creates/updates the runtime roles whose password files are given; returns their names."""
    wanted = [
        (role_name("APP_DB_ROLE", "app"), password_from("APP_DB_PASSWORD_FILE"), grant_app_role),
        (
            role_name("EXPORTER_DB_ROLE", "postgres_exporter"),
            password_from("EXPORTER_DB_PASSWORD_FILE"),
            grant_exporter_role,
        ),
    ]
    done = []
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:  # one transaction: all roles and grants, or none
            database = (await conn.exec_driver_sql("SELECT current_database()")).scalar_one()
            for role, password, grant in wanted:
                if password is None:
                    continue
                await ensure_login_role(conn, role, password)
                await grant(conn, role, database)
                done.append(role)
    finally:
        await engine.dispose()
    return done


def main() -> None:
    from alembic import command
    from alembic.config import Config

    from app.config import Settings

    command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
    roles = asyncio.run(apply_roles(Settings().DATABASE_URL))
    print(f"migrations applied; roles ensured: {', '.join(roles) or 'none (no *_PASSWORD_FILE set)'}", flush=True)


if __name__ == "__main__":
    main()
