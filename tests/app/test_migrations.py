"""Alembic: the migration chain goes down to base and up to head again."""

from __future__ import annotations

from helpers import DATABASE_URL, alembic


def test_downgrade_and_upgrade_round_trip(migrated):
    down = alembic(DATABASE_URL, "downgrade", "base")
    assert down.returncode == 0, down.stderr
    up = alembic(DATABASE_URL, "upgrade", "head")
    assert up.returncode == 0, up.stderr
    current = alembic(DATABASE_URL, "current")
    assert "(head)" in current.stdout, current.stdout + current.stderr
